// Speculative decoding with the request features that decide tokens beside the logits
// (docs/engine.md "Speculative decoding"): constrained output (response_format, a required tool
// call), a thinking budget and images. On the MTP fixture's "copy" model, whose head agrees with
// the main model most of the time, and the trained model (models/tiny-qwen35):
//  - greedy output equals plain greedy output token for token, and drafts were accepted (a
//    test where every draft is rejected would prove little);
//  - a constrained answer is valid JSON for its schema, greedy and sampled;
//  - the thinking budget's "</think>" comes where plain decoding puts it;
//  - with images the head reads the prompt as the main model does (image features, 3-D
//    positions) and drafts from the first generated token on;
//  - the engine's memory plan counts the MTP head's KV and buffers when it drafts by default, and
//    a request that drafts on an engine that does not reserves them itself.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine_test_util.h"
#include "expect_conforming.h"
#include "runtime/json_constraint.h"
#include "runtime/json_schema_graph.h"
#include "speculative_test_util.h"

namespace tightfit {
namespace {

using test::copy_model;

const std::string kData = std::string(TIGHTFIT_TEST_DATA);
const std::string kTrained = kData + "/../../models/tiny-qwen35";
const std::string kImg64 = kData + "/tiny-qwen35moe-vl/img64x64.png";

constexpr const char* kSchema = R"({"type": "object",
  "properties": {"color": {"enum": ["red", "green", "blue"]}, "ok": {"type": "boolean"},
                 "note": {"type": "string"}},
  "required": ["color", "ok", "note"], "additionalProperties": false})";

std::string weather_tools() {
  return R"([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
              "properties": {"city": {"type": "string"}}}}}])";
}

Request chat(const std::string& text, int max_tokens, std::optional<int> drafts) {
  Request r;
  r.messages = {Message::text("user", text)};
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  r.loop_guard = false;
  r.draft_tokens = drafts;
  return r;
}

// `r` run plainly and with k drafts: the same tokens; returns the speculative result.
Result expect_same_as_plain(Engine& engine, Request r, int k, const std::string& what) {
  r.draft_tokens = 0;
  const Result plain = engine.generate(r);
  r.draft_tokens = k;
  const Result spec = engine.generate(r);
  EXPECT_EQ(plain.usage.speculative.steps, 0) << what;
  EXPECT_GT(spec.usage.speculative.steps, 0) << what << ": the request speculated";
  EXPECT_EQ(spec.tokens, plain.tokens) << what;
  EXPECT_EQ(spec.text, plain.text) << what;
  EXPECT_EQ(spec.stop, plain.stop) << what << " " << spec.error;
  EXPECT_EQ(spec.usage.reasoning_tokens, plain.usage.reasoning_tokens) << what;
  return spec;
}

// The answer under the schema: complete JSON when the turn stopped, a valid prefix when cut.
void expect_conforming(const Result& result, const std::string& schema) {
  test::expect_conforming(result, std::make_shared<const tf::JsonSchemaGraph>(
                                      tf::compile_json_schema(nlohmann::json::parse(schema))));
}

TEST(EngineSpeculativeFeatures, ConstrainedOutputSpeculatesAndEqualsPlainGreedy) {
  for (const std::string& model : {copy_model("json"), kTrained}) {
    auto engine = Engine::load({.model = model, .threads = 2});
    int64_t accepted = 0;
    for (int k : {1, 3}) {
      Request object = chat("Give me a JSON object.", 60, k);
      object.enable_thinking = false;
      object.response_format.type = ResponseFormat::Type::json_object;
      accepted += expect_same_as_plain(*engine, object, k, model + " json_object")
                      .usage.speculative.drafts_accepted;

      Request schema = chat("Pick a colour.", 80, k);
      schema.enable_thinking = false;
      schema.response_format = {ResponseFormat::Type::json_schema, kSchema};
      const Result s = expect_same_as_plain(*engine, schema, k, model + " json_schema");
      accepted += s.usage.speculative.drafts_accepted;
      expect_conforming(s, kSchema);

      Request tool = chat("Weather in Oslo?", 100, k);
      tool.enable_thinking = false;
      tool.tools = weather_tools();
      tool.tool_choice.mode = ToolChoice::Mode::required;
      const Result t = expect_same_as_plain(*engine, tool, k, model + " tool_choice required");
      accepted += t.usage.speculative.drafts_accepted;
      // Whitespace (the model likes tabs), then the call's start, or a prefix of it when cut.
      const std::string call = "<tool_call>\n<function=get_weather>";
      const size_t begin = t.text.find_first_not_of(" \t\r\n");
      const std::string start = begin == std::string::npos ? "" : t.text.substr(begin);
      EXPECT_TRUE(start.rfind(call, 0) == 0 || (t.stop == StopReason::max_tokens &&
                                                call.rfind(start, 0) == 0))
          << t.text;
    }
    EXPECT_GT(accepted, 0) << model << ": constrained drafts were accepted";
  }
}

TEST(EngineSpeculativeFeatures, SampledConstrainedAnswersWithDraftsAreValidJson) {
  auto engine = Engine::load({.model = copy_model("json-sampled"), .threads = 2});
  int64_t accepted = 0;
  int complete = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Request r = chat("Pick a colour.", 200, 3);
    r.enable_thinking = false;
    r.sampling.temperature = 0.8f;
    r.sampling.seed = seed;
    r.response_format = {ResponseFormat::Type::json_schema, kSchema};
    const Result result = engine->generate(r);
    ASSERT_TRUE(result.error.empty()) << result.error;
    expect_conforming(result, kSchema);
    if (result.stop == StopReason::eos) {
      ++complete;
      const nlohmann::json value = nlohmann::json::parse(result.text);
      const std::string color = value.at("color").get<std::string>();
      EXPECT_TRUE(color == "red" || color == "green" || color == "blue") << result.text;
      EXPECT_TRUE(value.at("ok").is_boolean()) << result.text;
    }
    accepted += result.usage.speculative.drafts_accepted;
  }
  EXPECT_GT(complete, 0);
  EXPECT_GT(accepted, 0);
}

TEST(EngineSpeculativeFeatures, ThinkingBudgetSpeculatesAndEqualsPlainGreedy) {
  for (const std::string& model : {copy_model("budget"), kTrained}) {
    auto engine = Engine::load({.model = model, .threads = 2});
    int64_t accepted = 0;
    for (int budget : {0, 1, 2, 3, 5, 8, 13}) {
      for (int k : {2, 4}) {
        Request r = chat("What is 2 + 2?", 40, k);
        r.enable_thinking = true;
        r.thinking_budget = budget;
        const std::string what = model + " budget " + std::to_string(budget) + " k " + std::to_string(k);
        const Result spec = expect_same_as_plain(*engine, r, k, what);
        accepted += spec.usage.speculative.drafts_accepted;
        EXPECT_LE(spec.usage.reasoning_tokens, budget + 1) << what;
      }
    }
    EXPECT_GT(accepted, 0) << model;
  }
}

TEST(EngineSpeculativeFeatures, ThinkingBudgetThenAConstrainedAnswerEqualsPlainGreedy) {
  auto engine = Engine::load({.model = copy_model("budget-json"), .threads = 2});
  int64_t accepted = 0;
  for (int budget : {2, 6}) {
    Request r = chat("Pick a colour.", 80, 3);
    r.enable_thinking = true;
    r.thinking_budget = budget;
    r.response_format = {ResponseFormat::Type::json_schema, kSchema};
    const Result spec = expect_same_as_plain(*engine, r, 3, "budget " + std::to_string(budget));
    expect_conforming(spec, kSchema);
    accepted += spec.usage.speculative.drafts_accepted;
  }
  EXPECT_GT(accepted, 0);
}

TEST(EngineSpeculativeFeatures, ImagePromptsSpeculateAndEqualPlainGreedy) {
  auto engine = Engine::load({.model = test::copy_vl_model("vl"), .threads = 2});
  ASSERT_TRUE(engine->info().has_vision);
  ASSERT_TRUE(engine->info().has_mtp);
  Request raw = test::greedy_request("<|vision_start|><|image_pad|><|vision_end|>Describe it", 60);
  raw.loop_guard = false;
  raw.images = {Image::from_file(kImg64)};
  Request in_chat = test::chat_request({Message::text("user", "Describe")}, 60);
  in_chat.loop_guard = false;
  in_chat.enable_thinking = false;
  in_chat.messages[0].content.insert(in_chat.messages[0].content.begin(),
                                     {ContentPart::Kind::image, "", Image::from_file(kImg64)});
  for (int k : {1, 3}) {
    for (const Request& r : {raw, in_chat}) {
      const Result spec = expect_same_as_plain(*engine, r, k, "k " + std::to_string(k));
      EXPECT_EQ(spec.usage.images, 1);
      EXPECT_GT(spec.usage.speculative.drafts_accepted, spec.usage.speculative.drafts_proposed / 3)
          << "the copy head is accepted 53-82 % of the time";
    }
  }
}

TEST(EngineSpeculativeFeatures, TheMemoryPlanCountsTheHeadWhenTheEngineDrafts) {
  const std::string model = copy_model("plan");
  auto plain = Engine::load({.model = model, .threads = 1});
  auto drafting = Engine::load({.model = model, .threads = 1, .draft_tokens = 2});
  // One more attention layer's K and V per token: 2 kv heads × 32 × 2 bytes each (f16).
  EXPECT_EQ(drafting->info().kv_bytes_per_token - plain->info().kv_bytes_per_token, 2u * 2 * 32 * 2);

  // A request that drafts on the engine that does not reserves the head's memory itself: while
  // it runs, more KV tokens are reserved than its prompt + max_tokens + drafts.
  Request r = test::greedy_request("hello there", 200);
  r.loop_guard = false;
  r.draft_tokens = 2;
  RequestHandle h = plain->submit(r);
  std::optional<Event> first = h.next();
  ASSERT_TRUE(first.has_value());
  const int64_t reserved = plain->stats().kv_reserved_tokens;
  const Result result = h.wait();
  ASSERT_EQ(result.usage.completion_tokens, 200) << result.error;
  EXPECT_GT(reserved, result.usage.prompt_tokens + 200 + 2);
}

}  // namespace
}  // namespace tightfit
