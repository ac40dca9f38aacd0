// The server over a real loopback socket, with a scripted engine behind it.
#include <atomic>

#include "server/server_test_util.h"

namespace tf::server::testing {
namespace {

using nlohmann::json;
using tightfit::StopReason;

const json kTools = json::parse(R"([{"type": "function", "function": {"name": "get_weather",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}])");

void expect_openai_error(const httplib::Result& res, int status, const std::string& param = {}) {
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, status) << res->body;
  const json body = json::parse(res->body);
  ASSERT_TRUE(body.contains("error")) << res->body;
  const json& error = body["error"];
  EXPECT_TRUE(error["message"].is_string());
  EXPECT_FALSE(error["message"].get<std::string>().empty());
  EXPECT_TRUE(error["type"].is_string());
  EXPECT_TRUE(error.contains("param"));
  EXPECT_TRUE(error.contains("code"));
  if (!param.empty()) EXPECT_EQ(error["param"], param) << res->body;
}

using HttpServer = ServerFixture;

TEST_F(HttpServer, HealthIs503WhileLoadingThen200) {
  start({}, /*hold_loading=*/true);
  auto res = client().Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  res = post("/v1/chat/completions", user_chat("hi"));
  expect_openai_error(res, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  release_loading();
  res = client().Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["status"], "ok");
}

TEST_F(HttpServer, ChatCompletionSplitsReasoningAndCountsUsage) {
  start();
  engine->respond = [](const tightfit::Request&) {
    return script({reasoning("Let me think."), answer("Hello"), answer(" there.")});
  };
  const auto res = post("/v1/chat/completions", user_chat("hi"));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "fake-model");
  EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"], "Hello there.");
  EXPECT_EQ(choice["message"]["reasoning_content"], "Let me think.");
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 10);
  EXPECT_EQ(body["usage"]["completion_tokens"], 3);
  EXPECT_EQ(body["usage"]["total_tokens"], 13);
  EXPECT_EQ(body["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
  EXPECT_EQ(body["usage"]["completion_tokens_details"]["reasoning_tokens"], 1);
  ASSERT_EQ(engine->requests().size(), 1u);
  EXPECT_EQ(engine->requests()[0].messages[0].text_content(), "hi");
}

TEST_F(HttpServer, ChatStreamHasRoleDeltaOneFinishReasonUsageAndDone) {
  start();
  engine->respond = [](const tightfit::Request&) {
    return script({reasoning("Hmm"), answer("A"), answer("B")}, StopReason::max_tokens);
  };
  json body = user_chat("hi", true);
  body["stream_options"] = {{"include_usage", true}};
  const auto res = post("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  const SseStream sse = parse_sse(res->body);
  EXPECT_TRUE(sse.done);
  ASSERT_GE(sse.data.size(), 5u);
  EXPECT_EQ(sse.data[0]["choices"][0]["delta"]["role"], "assistant");
  std::string content, thought;
  int finish_reasons = 0;
  for (const json& chunk : sse.data) {
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    EXPECT_EQ(chunk["id"], sse.data[0]["id"]);
    if (chunk["choices"].empty()) continue;
    const json& choice = chunk["choices"][0];
    if (choice["delta"].contains("content")) content += choice["delta"]["content"].get<std::string>();
    if (choice["delta"].contains("reasoning_content")) thought += choice["delta"]["reasoning_content"].get<std::string>();
    if (!choice["finish_reason"].is_null()) {
      ++finish_reasons;
      EXPECT_EQ(choice["finish_reason"], "length");
    }
  }
  EXPECT_EQ(content, "AB");
  EXPECT_EQ(thought, "Hmm");
  EXPECT_EQ(finish_reasons, 1);
  const json& last = sse.data.back();
  EXPECT_TRUE(last["choices"].empty());
  EXPECT_EQ(last["usage"]["completion_tokens"], 3);
  EXPECT_EQ(last["usage"]["completion_tokens_details"]["reasoning_tokens"], 1);
}

TEST_F(HttpServer, ToolCallsStreamAsDeltasAndEndWithFinishReasonToolCalls) {
  start();
  engine->respond = [](const tightfit::Request&) {
    return script({answer("Checking.\n\n<tool_"), answer("call>\n<function=get_weather>\n<parameter=city>\nOslo\n"),
                   answer("</parameter>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>")});
  };
  json body = user_chat("weather?", true);
  body["tools"] = kTools;
  SseStream sse = parse_sse(post("/v1/chat/completions", body)->body);
  std::string content;
  std::vector<json> calls;
  std::string finish;
  for (const json& chunk : sse.data) {
    const json& choice = chunk["choices"][0];
    if (choice["delta"].contains("content")) content += choice["delta"]["content"].get<std::string>();
    if (choice["delta"].contains("tool_calls"))
      for (const json& call : choice["delta"]["tool_calls"]) calls.push_back(call);
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(content, "Checking.");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["index"], 0);
  EXPECT_EQ(calls[0]["type"], "function");
  EXPECT_EQ(calls[0]["id"].get<std::string>().rfind("call_", 0), 0u);
  EXPECT_EQ(calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(calls[0]["function"]["arguments"].get<std::string>()), json::parse(R"({"city": "Oslo", "days": 2})"));
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_NE(engine->requests()[0].tools.find("get_weather"), std::string::npos);

  body["stream"] = false;
  const json whole = json::parse(post("/v1/chat/completions", body)->body);
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(whole["choices"][0]["message"]["content"], "Checking.");
  EXPECT_EQ(whole["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "get_weather");
}

TEST_F(HttpServer, BadRequestsAreAnsweredInOpenAIShapeAndTheServerKeepsServing) {
  ServerOptions options;
  options.max_body_bytes = 2000;
  start(options);
  auto raw = [&](const std::string& body) {
    return client().Post("/v1/chat/completions", body, "application/json");
  };
  expect_openai_error(raw("{not json"), 400);
  expect_openai_error(raw(""), 400);
  expect_openai_error(raw("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["), 400);
  expect_openai_error(raw(R"({"messages": {}})"), 400, "messages");
  expect_openai_error(raw(R"({"messages": [{"role": "robot", "content": "x"}]})"), 400, "messages[0].role");
  expect_openai_error(raw(R"({"messages": [{"role": "user", "content": "x"}], "top_p": "high"})"), 400, "top_p");
  expect_openai_error(raw(R"({"messages": [{"role": "user", "content": ")" + std::string(3000, 'x') + "\"}]}"), 413);
  expect_openai_error(client().Get("/v1/nothing"), 404);
  expect_openai_error(post("/v1/completions", json{{"prompt", 3}}), 400, "prompt");
  // Refusals from the engine itself.
  engine->refuse = [](const tightfit::Request&) {
    throw tightfit::InvalidRequest("the prompt (5000 tokens) is longer than the context (4096)", "messages");
  };
  expect_openai_error(post("/v1/chat/completions", user_chat("hi")), 400, "messages");
  engine->refuse = [](const tightfit::Request&) { throw tightfit::Busy("64 requests are waiting"); };
  const auto busy = post("/v1/chat/completions", user_chat("hi"));
  expect_openai_error(busy, 503);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  engine->refuse = nullptr;
  const auto ok = post("/v1/chat/completions", user_chat("hi"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServer, ApiKeyIsRequiredExceptForHealth) {
  ServerOptions options;
  options.api_key = "sekret";
  start(options);
  expect_openai_error(post("/v1/chat/completions", user_chat("hi")), 401);
  expect_openai_error(post("/v1/chat/completions", user_chat("hi"), {{"Authorization", "Bearer wrong"}}), 401);
  expect_openai_error(client().Get("/v1/models"), 401);
  EXPECT_EQ(post("/v1/chat/completions", user_chat("hi"), {{"Authorization", "Bearer sekret"}})->status, 200);
  EXPECT_EQ(post("/v1/chat/completions", user_chat("hi"), {{"x-api-key", "sekret"}})->status, 200);
  EXPECT_EQ(client().Get("/health")->status, 200);
  const auto anthropic = post("/v1/messages", json{{"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(anthropic->status, 401);
  EXPECT_EQ(json::parse(anthropic->body)["error"]["type"], "authentication_error");
  EXPECT_EQ(json::parse(anthropic->body)["type"], "error");
}

TEST_F(HttpServer, EngineErrorsMidAnswerAreReported) {
  start();
  engine->respond = [](const tightfit::Request&) {
    Script s = script({answer("partial")}, StopReason::error);
    s.done.error = "the worker failed";
    return s;
  };
  const SseStream sse = parse_sse(post("/v1/chat/completions", user_chat("hi", true))->body);
  EXPECT_TRUE(sse.done);
  EXPECT_EQ(sse.data.back()["error"]["message"], "the worker failed");
  const json whole = json::parse(post("/v1/chat/completions", user_chat("hi"))->body);
  EXPECT_EQ(whole["error"]["type"], "server_error");
}

TEST_F(HttpServer, CompletionsModelsAndMetrics) {
  ServerOptions options;
  options.served_model_name = "qwen-local";
  start(options);
  engine->respond = [](const tightfit::Request&) { return script({answer("upon"), answer(" a time")}); };
  const json whole = json::parse(post("/v1/completions", json{{"prompt", "Once"}, {"max_tokens", 4}})->body);
  EXPECT_EQ(whole["object"], "text_completion");
  EXPECT_EQ(whole["model"], "qwen-local");
  EXPECT_EQ(whole["choices"][0]["text"], "upon a time");
  EXPECT_EQ(whole["usage"]["completion_tokens"], 2);
  EXPECT_EQ(engine->requests().back().prompt, "Once");
  const SseStream sse = parse_sse(post("/v1/completions", json{{"prompt", "Once"}, {"stream", true}})->body);
  EXPECT_TRUE(sse.done);
  std::string text;
  int finishes = 0;
  for (const json& chunk : sse.data) {
    text += chunk["choices"][0]["text"].get<std::string>();
    finishes += !chunk["choices"][0]["finish_reason"].is_null();
  }
  EXPECT_EQ(text, "upon a time");
  EXPECT_EQ(finishes, 1);

  const json models = json::parse(client().Get("/v1/models")->body);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["id"], "qwen-local");
  EXPECT_EQ(models["data"][0]["meta"]["context_length"], 4096);
  const auto metrics = client().Get("/metrics");
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("# TYPE tightfit_requests_total counter\ntightfit_requests_total 2\n"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("tightfit_ready 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("tightfit_tokens_per_second 21"), std::string::npos);
}

TEST_F(HttpServer, AnthropicMessagesWholeAndStreamed) {
  start();
  engine->respond = [](const tightfit::Request&) {
    return script({reasoning("Think"), answer("Calling.\n\n"),
                   answer("<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n</function>\n</tool_call>")});
  };
  json body = {{"model", "m"}, {"max_tokens", 50},
               {"messages", {{{"role", "user"}, {"content", "weather?"}}}},
               {"tools", {{{"name", "get_weather"}, {"input_schema", kTools[0]["function"]["parameters"]}}}}};
  const json whole = json::parse(post("/v1/messages", body)->body);
  EXPECT_EQ(whole["type"], "message");
  EXPECT_EQ(whole["stop_reason"], "tool_use");
  ASSERT_EQ(whole["content"].size(), 3u);
  EXPECT_EQ(whole["content"][0]["type"], "thinking");
  EXPECT_EQ(whole["content"][1]["text"], "Calling.");
  EXPECT_EQ(whole["content"][2]["type"], "tool_use");
  EXPECT_EQ(whole["content"][2]["input"]["city"], "Oslo");
  EXPECT_EQ(whole["usage"]["output_tokens"], 3);
  EXPECT_EQ(whole["usage"]["cache_read_input_tokens"], 4);

  body["stream"] = true;
  const SseStream sse = parse_sse(post("/v1/messages", body)->body);
  const std::vector<std::string> expected = {
      "message_start", "content_block_start", "content_block_delta", "content_block_stop",
      "content_block_start", "content_block_delta", "content_block_stop", "content_block_start",
      "content_block_delta", "content_block_stop", "message_delta", "message_stop"};
  EXPECT_EQ(sse.events, expected);
  ASSERT_EQ(sse.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(sse.data[i]["type"], expected[i]);
  EXPECT_EQ(sse.data[1]["content_block"]["type"], "thinking");
  EXPECT_EQ(sse.data[5]["delta"]["text"], "Calling.");
  EXPECT_EQ(sse.data[7]["content_block"]["name"], "get_weather");
  EXPECT_EQ(json::parse(sse.data[8]["delta"]["partial_json"].get<std::string>())["city"], "Oslo");
  EXPECT_EQ(sse.data[10]["delta"]["stop_reason"], "tool_use");

  const json counted = json::parse(post("/v1/messages/count_tokens", body)->body);
  EXPECT_EQ(counted["input_tokens"], 8);  // the fake engine counts characters: "weather?"

  const auto bad = post("/v1/messages", json{{"messages", "x"}});
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"]["type"], "invalid_request_error");
}

// A long answer, 5 ms a token: long enough that the client leaves in the middle.
Script long_answer() {
  std::vector<tightfit::Event> events;
  for (int i = 0; i < 400; ++i) events.push_back(answer("tok "));
  return script(std::move(events), StopReason::eos, 5);
}

TEST_F(HttpServer, AClientLeavingMidStreamCancelsItsRequestAndTheServerGoesOn) {
  start();
  engine->respond = [](const tightfit::Request&) { return long_answer(); };
  httplib::Client c = client();
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = user_chat("go", true).dump();
  req.set_header("Content-Type", "application/json");
  int chunks = 0;
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };
  c.send(req);  // returns once the receiver gave up
  EXPECT_EQ(chunks, 3);
  for (int i = 0; i < 300 && engine->cancelled() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(engine->cancelled(), 1);
  EXPECT_LT(engine->finished(), 2);  // nothing else ran
  engine->respond = [](const tightfit::Request&) { return script({answer("still here")}); };
  const json after = json::parse(post("/v1/chat/completions", user_chat("again"))->body);
  EXPECT_EQ(after["choices"][0]["message"]["content"], "still here");
  EXPECT_EQ(server->state().counters.client_disconnects.load(), 1);
}

TEST_F(HttpServer, AClientGivingUpOnAWholeAnswerCancelsItToo) {
  start();
  engine->respond = [](const tightfit::Request&) { return long_answer(); };
  httplib::Client c = client();
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = user_chat("go").dump();
  req.set_header("Content-Type", "application/json");
  std::string received;
  // Aborts (as a client's timeout would) at the first heartbeat of the 2 s answer.
  req.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
    received.append(data, length);
    return false;
  };
  c.send(req);
  EXPECT_EQ(received.find_first_not_of(' '), std::string::npos);  // only heartbeat spaces came
  for (int i = 0; i < 300 && engine->cancelled() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(engine->cancelled(), 1);
}

TEST_F(HttpServer, FourConcurrentStreamsEachGetTheirOwnAnswer) {
  start();
  engine->respond = [](const tightfit::Request& r) {
    const std::string who = r.messages.back().text_content();
    std::vector<tightfit::Event> events;
    for (int i = 0; i < 20; ++i) events.push_back(answer(who + std::to_string(i) + ","));
    return script(std::move(events), StopReason::eos, 2);
  };
  std::vector<std::string> answers(4);
  std::vector<std::thread> clients;
  for (int k = 0; k < 4; ++k) {
    clients.emplace_back([&, k] {
      const auto res = post("/v1/chat/completions", user_chat("c" + std::to_string(k), true));
      if (!res) return;
      for (const json& chunk : parse_sse(res->body).data)
        if (chunk["choices"][0]["delta"].contains("content"))
          answers[k] += chunk["choices"][0]["delta"]["content"].get<std::string>();
    });
  }
  for (std::thread& t : clients) t.join();
  for (int k = 0; k < 4; ++k) {
    std::string expected;
    for (int i = 0; i < 20; ++i) expected += "c" + std::to_string(k) + std::to_string(i) + ",";
    EXPECT_EQ(answers[k], expected);
  }
}

TEST_F(HttpServer, StopCancelsRequestsInFlightAndServeReturns) {
  start();
  engine->respond = [](const tightfit::Request&) { return long_answer(); };
  std::thread streaming([&] { post("/v1/chat/completions", user_chat("go", true)); });
  for (int i = 0; i < 300 && engine->requests().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server->stop();
  serving.join();
  streaming.join();
  // The fake engine notices the cancel at its next event, on its own thread.
  for (int i = 0; i < 300 && engine->cancelled() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(engine->cancelled(), 1);
}

TEST(HttpServerLoad, AFailedLoadStopsTheServerAndServeRethrowsIt) {
  ServerOptions options;
  options.port = 0;
  Server server(options, []() -> std::shared_ptr<tightfit::Engine> {
    throw tightfit::ModelNotFound("no model at /nowhere");
  });
  server.bind();
  EXPECT_THROW(server.serve(), tightfit::ModelNotFound);
  EXPECT_FALSE(server.ready());
}

}  // namespace
}  // namespace tf::server::testing
