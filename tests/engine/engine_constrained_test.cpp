// Constrained sampling end to end on the random-weight demo model: whatever the weights say, a
// json_object answer is JSON (whole when the turn stops, a valid prefix when the budget cuts
// it), a schema's enum / required / additionalProperties hold, a required tool call starts the
// answer, tool_choice none bans <tool_call>, and bad constraints are refused before queueing.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <tuple>

#include <nlohmann/json.hpp>

#include "engine_test_util.h"
#include "expect_conforming.h"
#include "runtime/json_constraint.h"

namespace tightfit {
namespace {

using test::tiny_engine;

Request sampled_chat(const std::string& text, uint64_t seed, int max_tokens) {
  Request r;
  r.messages = {Message::text("user", text)};
  r.max_tokens = max_tokens;
  r.enable_thinking = false;
  r.sampling.temperature = 1.0f;
  r.sampling.seed = seed;
  r.loop_guard = false;
  return r;
}


TEST(EngineConstrained, JsonObjectAnswersAreJson) {
  auto engine = tiny_engine();
  const auto graph = std::make_shared<const tf::JsonSchemaGraph>(tf::json_object_graph());
  int complete = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Request r = sampled_chat("Give me a JSON object.", seed, 96);
    r.response_format.type = ResponseFormat::Type::json_object;
    const Result result = engine->generate(r);
    test::expect_conforming(result, graph);
    if (result.stop == StopReason::eos) {
      ++complete;
      EXPECT_TRUE(nlohmann::json::parse(result.text).is_object()) << result.text;
    }
  }
  EXPECT_GT(complete, 0);  // with 96 tokens some random answers close their object
}

constexpr const char* kSchema = R"({"type": "object",
  "properties": {"color": {"enum": ["red", "green", "blue"]}, "ok": {"type": "boolean"}},
  "required": ["color", "ok"], "additionalProperties": false})";

TEST(EngineConstrained, JsonSchemaEnumAndRequiredHold) {
  auto engine = tiny_engine();
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Request r = sampled_chat("Pick a colour.", seed, 400);
    r.response_format = {ResponseFormat::Type::json_schema, kSchema};
    const Result result = engine->generate(r);
    ASSERT_EQ(result.stop, StopReason::eos) << result.error << result.text;  // nothing free to ramble in
    const nlohmann::json value = nlohmann::json::parse(result.text);
    ASSERT_TRUE(value.is_object()) << result.text;
    EXPECT_EQ(value.size(), 2u) << result.text;
    const std::string color = value.at("color").get<std::string>();
    EXPECT_TRUE(color == "red" || color == "green" || color == "blue") << result.text;
    EXPECT_TRUE(value.at("ok").is_boolean()) << result.text;
  }
}

TEST(EngineConstrained, WithThinkingTheConstraintStartsAfterTheThought) {
  auto engine = tiny_engine();
  Request r = sampled_chat("Pick a colour.", 3, 400);
  r.enable_thinking = true;
  r.thinking_budget = 6;  // a random model would think forever; the budget closes the thought
  r.response_format = {ResponseFormat::Type::json_schema, kSchema};
  const Result result = engine->generate(r);
  EXPECT_GT(result.usage.reasoning_tokens, 0);
  ASSERT_EQ(result.stop, StopReason::eos) << result.text;
  EXPECT_EQ(nlohmann::json::parse(result.text).at("ok").is_boolean(), true) << result.text;
}

std::string weather_tools() {
  return R"([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
              "properties": {"city": {"type": "string"}}}}},
             {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}])";
}

TEST(EngineConstrained, RequiredToolCallStartsTheAnswer) {
  auto engine = tiny_engine();
  for (const std::string& name : {std::string(), std::string("get_time")}) {
    Request r = sampled_chat("Weather in Oslo?", 5, 80);
    r.tools = weather_tools();
    r.tool_choice.mode = name.empty() ? ToolChoice::Mode::required : ToolChoice::Mode::function;
    r.tool_choice.function = name;
    const Result result = engine->generate(r);
    const std::string start = result.text.substr(result.text.find_first_not_of(" \t\r\n"));
    const std::string expected = "<tool_call>\n<function=" + (name.empty() ? "get_" : name + ">");
    EXPECT_EQ(start.rfind(expected, 0), 0u) << result.text;
  }
}

TEST(EngineConstrained, ToolChoiceNoneBansTheToolCallToken) {
  auto engine = tiny_engine();
  Request r = sampled_chat("Weather in Oslo?", 7, 24);
  r.tools = weather_tools();
  r.tool_choice.mode = ToolChoice::Mode::none;
  r.sampling.logit_bias = {{505, 50.0f}};  // <tool_call> would win every step
  const Result result = engine->generate(r);
  EXPECT_EQ(std::count(result.tokens.begin(), result.tokens.end(), 505), 0);
  r.tool_choice.mode = ToolChoice::Mode::automatic;
  const Result free = engine->generate(r);
  EXPECT_GT(std::count(free.tokens.begin(), free.tokens.end(), 505), 0);
}

TEST(EngineConstrained, BadConstraintsAreRefusedBeforeQueueing) {
  auto engine = tiny_engine();
  auto refusal = [&](const Request& r) -> std::pair<std::string, std::string> {
    try {
      engine->submit(r);
    } catch (const InvalidRequest& e) {
      return {e.param, e.what()};
    }
    return {"(accepted)", ""};
  };
  Request pattern = sampled_chat("x", 1, 4);
  pattern.response_format = {ResponseFormat::Type::json_schema,
                             R"({"type": "object", "properties": {"a": {"type": "string", "pattern": "^a"}}})"};
  auto [param, message] = refusal(pattern);
  EXPECT_EQ(param, "response_format");
  EXPECT_NE(message.find("'pattern'"), std::string::npos) << message;

  Request not_json = sampled_chat("x", 1, 4);
  not_json.response_format = {ResponseFormat::Type::json_schema, "{oops"};
  EXPECT_EQ(refusal(not_json).first, "response_format");

  Request unknown = sampled_chat("x", 1, 4);
  unknown.tools = weather_tools();
  unknown.tool_choice = {ToolChoice::Mode::function, "get_tide"};
  std::tie(param, message) = refusal(unknown);
  EXPECT_EQ(param, "tool_choice");
  EXPECT_NE(message.find("get_tide"), std::string::npos) << message;

  Request no_tools = sampled_chat("x", 1, 4);
  no_tools.tool_choice.mode = ToolChoice::Mode::required;
  EXPECT_EQ(refusal(no_tools).first, "tool_choice");

  Request both = sampled_chat("x", 1, 4);
  both.tools = weather_tools();
  both.tool_choice.mode = ToolChoice::Mode::required;
  both.response_format.type = ResponseFormat::Type::json_object;
  EXPECT_EQ(refusal(both).first, "tool_choice");
}

}  // namespace
}  // namespace tightfit
