#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "server/api_error.h"
#include "server/image_source.h"
#include "server/openai_format.h"
#include "server/parsed_request.h"

namespace tf::server {
namespace {

using nlohmann::json;

// The ApiError `body` raises, or a failure when it parses.
ApiError chat_error(const std::string& body, const ServerOptions& options = {}) {
  try {
    parse_chat_request(json::parse(body), options);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return ApiError(0, "", "");
}

TEST(ChatRequest, ReadsMessagesParametersAndTemplateInputs) {
  const ParsedRequest p = parse_chat_request(json::parse(R"({
    "model": "x", "messages": [{"role": "developer", "content": "Be brief."},
                                {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}],
    "temperature": 0.5, "top_p": 0.9, "top_k": 20, "min_p": 0.05, "presence_penalty": 1.5,
    "frequency_penalty": 0.1, "repetition_penalty": 1.1, "seed": 7, "stop": "END",
    "max_completion_tokens": 33, "max_tokens": 99, "stream": true, "stream_options": {"include_usage": true},
    "logprobs": true, "top_logprobs": 3, "logit_bias": {"12": -100},
    "chat_template_kwargs": {"enable_thinking": false, "x": 1}, "ignore_eos": true,
    "some_future_field": {"ignored": true}})"),
                                             {});
  const tightfit::Request& r = p.request;
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].text_content(), "Hi!");
  EXPECT_FLOAT_EQ(*r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(*r.sampling.top_p, 0.9f);
  EXPECT_EQ(*r.sampling.top_k, 20);
  EXPECT_FLOAT_EQ(*r.sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(*r.sampling.presence_penalty, 1.5f);
  EXPECT_FLOAT_EQ(*r.sampling.repetition_penalty, 1.1f);
  EXPECT_EQ(*r.sampling.seed, 7u);
  ASSERT_EQ(r.sampling.logit_bias.size(), 1u);
  EXPECT_EQ(r.sampling.logit_bias[0].first, 12);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(*r.max_tokens, 33);  // max_completion_tokens wins
  EXPECT_TRUE(p.stream);
  EXPECT_TRUE(p.include_usage);
  EXPECT_EQ(r.logprobs, 3);
  EXPECT_EQ(r.enable_thinking, false);
  EXPECT_TRUE(r.ignore_eos);
  EXPECT_EQ(json::parse(r.template_kwargs), json::parse(R"({"x": 1})"));
}

TEST(ChatRequest, ServerDefaultsApplyUnlessTheRequestOverridesThem) {
  ServerOptions options;
  options.defaults.sampling.temperature = 0.7f;
  options.defaults.sampling.top_k = 20;
  options.defaults.max_tokens = 50;
  options.defaults.system = "You are terse.";
  options.defaults.template_kwargs = {{"enable_thinking", false}};
  options.defaults.thinking_budget = 100;
  ParsedRequest p = parse_chat_request(
      json::parse(R"({"messages": [{"role": "user", "content": "x"}], "top_k": 5})"), options);
  EXPECT_FLOAT_EQ(*p.request.sampling.temperature, 0.7f);
  EXPECT_EQ(*p.request.sampling.top_k, 5);
  EXPECT_EQ(*p.request.max_tokens, 50);
  EXPECT_EQ(p.request.enable_thinking, false);
  EXPECT_EQ(*p.request.thinking_budget, 100);
  ASSERT_EQ(p.request.messages.size(), 2u);
  EXPECT_EQ(p.request.messages[0].text_content(), "You are terse.");
  // extra_body as some clients send it literally, overriding the defaults.
  p = parse_chat_request(json::parse(R"({"messages": [{"role": "system", "content": "own"}, {"role": "user", "content": "x"}],
      "extra_body": {"chat_template_kwargs": {"enable_thinking": true}, "top_k": 3, "thinking_budget": -1}})"),
                         options);
  EXPECT_EQ(p.request.enable_thinking, true);
  EXPECT_EQ(*p.request.sampling.top_k, 3);
  EXPECT_FALSE(p.request.thinking_budget.has_value());
  ASSERT_EQ(p.request.messages.size(), 2u);
  EXPECT_EQ(p.request.messages[0].text_content(), "own");
}

TEST(ChatRequest, ToolsAndToolHistory) {
  const ParsedRequest p = parse_chat_request(json::parse(R"({
    "messages": [{"role": "user", "content": "weather?"},
                 {"role": "assistant", "content": null, "reasoning_content": "need a tool",
                  "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{\"city\": \"Oslo\"}"}}]},
                 {"role": "tool", "tool_call_id": "c1", "content": "sunny"}],
    "tools": [{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}],
    "tool_choice": "auto"})"),
                                             {});
  ASSERT_EQ(p.request.messages.size(), 3u);
  ASSERT_EQ(p.request.messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(p.request.messages[1].tool_calls[0].name, "w");
  EXPECT_EQ(json::parse(p.request.messages[1].tool_calls[0].arguments), json::parse(R"({"city": "Oslo"})"));
  EXPECT_EQ(p.request.messages[1].reasoning, "need a tool");
  EXPECT_EQ(p.request.messages[2].tool_call_id, "c1");
  EXPECT_FALSE(p.request.tools.empty());
  EXPECT_EQ(p.tools.size(), 1u);
  // tool_choice "none" hides the tools.
  const ParsedRequest none = parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": "x"}],
    "tools": [{"type": "function", "function": {"name": "w"}}], "tool_choice": "none"})"), {});
  EXPECT_TRUE(none.request.tools.empty());
  EXPECT_TRUE(none.tools.empty());
}

TEST(ChatRequest, ResponseFormatAndToolChoice) {
  using Mode = tightfit::ToolChoice::Mode;
  const ParsedRequest schema = parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": "x"}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "p", "strict": true,
                        "schema": {"type": "object", "properties": {"a": {"enum": [1, 2]}}}}}})"), {});
  EXPECT_EQ(schema.request.response_format.type, tightfit::ResponseFormat::Type::json_schema);
  EXPECT_EQ(json::parse(schema.request.response_format.schema)["properties"]["a"]["enum"], json::parse("[1, 2]"));
  const ParsedRequest object = parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": "x"}],
    "extra_body": {"response_format": {"type": "json_object"}}})"), {});
  EXPECT_EQ(object.request.response_format.type, tightfit::ResponseFormat::Type::json_object);

  const std::string tools = R"("tools": [{"type": "function", "function": {"name": "w"}}])";
  const ParsedRequest required = parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": "x"}], )" +
                                                                tools + R"(, "tool_choice": "required"})"), {});
  EXPECT_EQ(required.request.tool_choice.mode, Mode::required);
  EXPECT_FALSE(required.request.tools.empty());
  const ParsedRequest named = parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": "x"}], )" +
      tools + R"(, "tool_choice": {"type": "function", "function": {"name": "w"}}})"), {});
  EXPECT_EQ(named.request.tool_choice.mode, Mode::function);
  EXPECT_EQ(named.request.tool_choice.function, "w");

  // Anthropic's any / tool / none are the same choices.
  const std::string anthropic_tools = R"("tools": [{"name": "w", "input_schema": {"type": "object"}}])";
  auto anthropic = [&](const std::string& choice) {
    return parse_anthropic_request(json::parse(R"({"max_tokens": 8, "messages": [{"role": "user", "content": "x"}], )" +
                                               anthropic_tools + R"(, "tool_choice": )" + choice + "}"),
                                   {})
        .request;
  };
  EXPECT_EQ(anthropic(R"({"type": "any"})").tool_choice.mode, Mode::required);
  const tightfit::Request tool = anthropic(R"({"type": "tool", "name": "w"})");
  EXPECT_EQ(tool.tool_choice.mode, Mode::function);
  EXPECT_EQ(tool.tool_choice.function, "w");
  const tightfit::Request none = anthropic(R"({"type": "none"})");
  EXPECT_EQ(none.tool_choice.mode, Mode::none);
  EXPECT_TRUE(none.tools.empty());
  EXPECT_EQ(anthropic(R"({"type": "auto"})").tool_choice.mode, Mode::automatic);
  EXPECT_THROW(anthropic(R"({"type": "tool"})"), ApiError);
  EXPECT_THROW(anthropic(R"({"type": "sometimes"})"), ApiError);
}

TEST(ChatRequest, ImagesFromDataUrlsOnlyUnlessAllowed) {
  const std::string png = "iVBORw0KGgo=";  // the PNG signature, base64
  const ParsedRequest p = parse_chat_request(json::parse(R"({"messages": [{"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,)" + png + R"("}}, {"type": "text", "text": "what?"}]}]})"),
                                             {});
  ASSERT_EQ(p.request.messages[0].content.size(), 2u);
  EXPECT_EQ(p.request.messages[0].content[0].kind, tightfit::ContentPart::Kind::image);
  EXPECT_EQ(p.request.messages[0].content[0].image.encoded.size(), 8u);

  auto image_body = [](const std::string& url) {
    return R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": ")" + url + R"("}}]}]})";
  };
  ApiError remote = chat_error(image_body("https://example.com/cat.png"));
  EXPECT_EQ(remote.status, 400);
  EXPECT_NE(std::string(remote.what()).find("--allow-remote-images"), std::string::npos);
  EXPECT_EQ(remote.param, "messages[0].content[0].image_url");
  EXPECT_NE(std::string(chat_error(image_body("/etc/passwd")).what()).find("--allow-local-images"), std::string::npos);
  EXPECT_NE(std::string(chat_error(image_body("data:image/png;base64,@@@")).what()).find("base64"), std::string::npos);
  ServerOptions local;
  local.allow_local_images = true;
  EXPECT_NE(std::string(chat_error(image_body("/no/such/file.png"), local).what()).find("does not exist"), std::string::npos);
  // Images only in user messages.
  EXPECT_EQ(chat_error(R"({"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]}]})").param,
            "messages[0].content[0].image_url");
}

TEST(ChatRequest, RemoteImagesAreDownloadedOnlyWhenAllowedAndWithinTheSizeLimit) {
  httplib::Server site;
  site.Get("/cat.png", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string("\x89PNG\r\n\x1a\n", 8), "image/png");
  });
  site.Get("/big.png", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(5000, 'x'), "image/png");
  });
  const int port = site.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { site.listen_after_bind(); });
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  auto body = [](const std::string& url) {
    return json::parse(R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": ")" + url + R"("}]}]})");
  };
  ServerOptions options;
  options.allow_remote_images = true;
  options.max_image_bytes = 1000;
  const ParsedRequest p = parse_chat_request(body(base + "/cat.png"), options);
  EXPECT_EQ(p.request.messages[0].content[0].image.encoded.size(), 8u);
  EXPECT_THROW(parse_chat_request(body(base + "/big.png"), options), ApiError);
  EXPECT_THROW(parse_chat_request(body(base + "/missing.png"), options), ApiError);
  EXPECT_THROW(parse_chat_request(body(base + "/cat.png"), {}), ApiError);  // not allowed
  site.stop();
  serving.join();
}

TEST(ChatRequest, MalformedRequestsAre400sNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({})", "messages"},
      {R"({"messages": "hi"})", "messages"},
      {R"({"messages": []})", "messages"},
      {R"({"messages": [42]})", "messages[0]"},
      {R"({"messages": [{"content": "x"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "wizard", "content": "x"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "audio"}]}]})", "messages[0].content[0].type"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": -1})", "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 2.5})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})", "stream"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": [1]})", "stop[0]"},
      {R"({"messages": [{"role": "user", "content": "x"}], "n": 2})", "n"},
      {R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}})", "response_format.type"},
      {R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema"}})", "response_format.json_schema.schema"},
      {R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"schema": 3}}})", "response_format.json_schema.schema"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"})", "tool_choice"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "function"}})", "tool_choice"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": 1})", "tool_choice"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": {}})", "tools"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})", "tools[0].function.name"},
      {R"({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": []})", "chat_template_kwargs"},
      {R"({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": {"enable_thinking": "no"}})", "chat_template_kwargs.enable_thinking"},
      {R"({"messages": [{"role": "user", "content": "x"}], "logit_bias": {"abc": 1}})", "logit_bias.abc"},
      {R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 50})", "top_logprobs"},
      {R"({"messages": [{"role": "user", "content": "x"}], "extra_body": 3})", "extra_body"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}]}]})", "messages[0].tool_calls[0].function.arguments"},
  };
  for (const auto& [body, param] : cases) {
    const ApiError e = chat_error(body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.type, "invalid_request_error") << body;
    EXPECT_EQ(e.param, param) << body;
    EXPECT_FALSE(std::string(e.what()).empty());
  }
}

TEST(CompletionRequest, PromptShapes) {
  ParsedRequest p = parse_completion_request(json::parse(R"({"prompt": "Once", "max_tokens": 5, "logprobs": 2})"), {});
  EXPECT_EQ(p.request.prompt, "Once");
  EXPECT_EQ(*p.request.max_tokens, 5);
  EXPECT_EQ(p.request.logprobs, 2);
  p = parse_completion_request(json::parse(R"({"prompt": [1, 2, 3]})"), {});
  EXPECT_EQ(p.request.prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
  for (const char* bad : {R"({})", R"({"prompt": ""})", R"({"prompt": ["a", "b"]})", R"({"prompt": [-1]})",
                          R"({"prompt": {"x": 1}})", R"({"prompt": "a", "echo": true})"}) {
    EXPECT_THROW(parse_completion_request(json::parse(bad), {}), ApiError) << bad;
  }
}

TEST(AnthropicRequest, BlocksMapOntoChatMessages) {
  const ParsedRequest p = parse_anthropic_request(json::parse(R"({
    "model": "m", "max_tokens": 64, "system": [{"type": "text", "text": "Sys"}],
    "messages": [{"role": "user", "content": "weather?"},
                 {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Checking."},
                                                   {"type": "tool_use", "id": "t1", "name": "w", "input": {"city": "Oslo"}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
                                              {"type": "text", "text": "and tomorrow?"}]}],
    "tools": [{"name": "w", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
    "stop_sequences": ["X"], "thinking": {"type": "enabled", "budget_tokens": 128}, "stream": true})"),
                                                  {});
  const auto& m = p.request.messages;
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].role, "system");
  EXPECT_EQ(m[0].text_content(), "Sys");
  EXPECT_EQ(m[2].role, "assistant");
  EXPECT_EQ(m[2].reasoning, "hmm");
  ASSERT_EQ(m[2].tool_calls.size(), 1u);
  EXPECT_EQ(json::parse(m[2].tool_calls[0].arguments)["city"], "Oslo");
  EXPECT_EQ(m[3].role, "tool");
  EXPECT_EQ(m[3].tool_call_id, "t1");
  EXPECT_EQ(m[4].text_content(), "and tomorrow?");
  EXPECT_EQ(p.tools[0]["function"]["name"], "w");
  EXPECT_EQ(p.request.stop, std::vector<std::string>{"X"});
  EXPECT_EQ(p.request.enable_thinking, true);
  EXPECT_EQ(*p.request.thinking_budget, 128);
  EXPECT_EQ(*p.request.max_tokens, 64);
  EXPECT_TRUE(p.stream);
  for (const char* bad : {R"({"messages": [{"role": "system", "content": "x"}]})",
                          R"({"messages": [{"role": "user", "content": [{"type": "video"}]}]})",
                          R"({"messages": [{"role": "user", "content": "x"}], "thinking": {"type": "maybe"}})"}) {
    EXPECT_THROW(parse_anthropic_request(json::parse(bad), {}), ApiError) << bad;
  }
}

// tightfit's extension draft_tokens (speculative decoding) in all three request shapes; the
// speculative counters appear in usage only when the request ran speculative steps.
TEST(SpeculativeFields, DraftTokensAreReadAndUsageCarriesTheCounters) {
  const std::string messages = R"("messages": [{"role": "user", "content": "x"}])";
  EXPECT_EQ(parse_chat_request(json::parse("{" + messages + R"(, "draft_tokens": 3})"), {})
                .request.draft_tokens, 3);
  EXPECT_FALSE(parse_chat_request(json::parse("{" + messages + "}"), {}).request.draft_tokens);
  EXPECT_EQ(parse_completion_request(json::parse(R"({"prompt": "x", "draft_tokens": 0})"), {})
                .request.draft_tokens, 0);
  EXPECT_EQ(parse_anthropic_request(json::parse(R"({"max_tokens": 8, "draft_tokens": 2, )" +
                                                messages + "}"), {})
                .request.draft_tokens, 2);
  for (const char* bad : {"-1", "\"2\"", "1.5"}) {
    const ApiError e = chat_error("{" + messages + R"(, "draft_tokens": )" + bad + "}");
    EXPECT_EQ(e.status, 400) << bad;
    EXPECT_EQ(e.param, "draft_tokens") << bad;
  }

  tightfit::Usage usage;
  usage.prompt_tokens = 5;
  usage.completion_tokens = 9;
  EXPECT_FALSE(usage_json(usage).contains("speculative"));
  usage.speculative = {.steps = 4, .drafts_proposed = 8, .drafts_accepted = 5,
                       .proposed_at = {4, 4}, .accepted_at = {3, 2}};
  const json openai = usage_json(usage);
  EXPECT_EQ(openai["total_tokens"], 14);  // OpenAI's fields unchanged
  EXPECT_EQ(openai["speculative"]["drafts_accepted"], 5);
  EXPECT_EQ(openai["speculative"]["accepted_per_position"], json::parse("[3, 2]"));
  EXPECT_EQ(usage_json(usage, UsageShape::anthropic)["speculative"]["steps"], 4);
}

TEST(Base64, DecodesWithAndWithoutPaddingAndRejectsJunk) {
  EXPECT_EQ(decode_base64("aGVsbG8="), (std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(decode_base64("aGVsbG8"), (std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(decode_base64("aGVs\nbG8h"), (std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', '!'}));
  EXPECT_THROW(decode_base64("a*b"), std::invalid_argument);
  EXPECT_THROW(decode_base64("aGVsb"), std::invalid_argument);
}

}  // namespace
}  // namespace tf::server
