// Logprobs in the chat and completions answers, whole and streamed.
#include "server/server_test_util.h"

namespace tf::server::testing {
namespace {

using nlohmann::json;

Script scored_answer() {
  tightfit::Event a = answer("Hi");
  a.logprobs = {{5, -0.25f, {{5, -0.25f}, {6, -1.5f}}}};
  tightfit::Event b = answer("!");
  b.logprobs = {{7, -0.5f, {{7, -0.5f}, {8, -2.0f}}}};
  Script s = script({a, b});
  s.done.logprobs = {{9, -3.0f, {}}};  // a token held back to the end (e.g. a stop string's)
  return s;
}

using Logprobs = ServerFixture;

TEST_F(Logprobs, ChatAnswersCarryTokenLogprobsWhenAskedFor) {
  start();
  engine->respond = [](const tightfit::Request&) { return scored_answer(); };
  json body = user_chat("hi");
  body["logprobs"] = true;
  body["top_logprobs"] = 2;
  const json whole = json::parse(post("/v1/chat/completions", body)->body);
  const json& content = whole["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[2]["token"], "t9");
  EXPECT_EQ(content[0]["token"], "t5");
  EXPECT_FLOAT_EQ(content[0]["logprob"].get<float>(), -0.25f);
  EXPECT_EQ(content[0]["bytes"], json::array({'t', '5'}));
  EXPECT_EQ(content[1]["top_logprobs"][1]["token"], "t8");
  EXPECT_EQ(engine->requests().back().logprobs, 2);

  body["stream"] = true;
  int with_logprobs = 0;
  for (const json& chunk : parse_sse(post("/v1/chat/completions", body)->body).data)
    if (!chunk["choices"][0]["logprobs"].is_null()) ++with_logprobs;
  EXPECT_EQ(with_logprobs, 3);

  // Not asked for: none, and the engine is not asked to compute them.
  const json plain = json::parse(post("/v1/chat/completions", user_chat("hi"))->body);
  EXPECT_TRUE(plain["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(engine->requests().back().logprobs, -1);
}

TEST_F(Logprobs, CompletionsUseTheOlderShape) {
  start();
  engine->respond = [](const tightfit::Request&) { return scored_answer(); };
  const json whole = json::parse(post("/v1/completions", json{{"prompt", "x"}, {"logprobs", 1}})->body);
  const json& logprobs = whole["choices"][0]["logprobs"];
  EXPECT_EQ(logprobs["tokens"], json::array({"t5", "t7", "t9"}));
  EXPECT_FLOAT_EQ(logprobs["token_logprobs"][1].get<float>(), -0.5f);
  EXPECT_TRUE(logprobs["top_logprobs"][0].contains("t6"));
}

}  // namespace
}  // namespace tf::server::testing
