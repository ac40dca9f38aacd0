// The engine's quantized KV cache (EngineOptions::kv_bits / kv_group_size) and its memory plan
// (EngineOptions::memory_limit, include/tightfit/plan.h): a model that cannot fit is refused at
// load, a request whose prompt + max_tokens cannot fit is refused at submit, both with
// OutOfMemory carrying the plan's numbers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "engine_test_util.h"

namespace tightfit {
namespace {

using test::greedy_request;
using test::tiny_engine;

TEST(EngineKvCache, QuantizedCachesGenerate) {
  for (int bits : {8, 4, 2}) {
    SCOPED_TRACE(bits);
    auto engine = tiny_engine({.kv_bits = bits, .kv_group_size = 32});
    EXPECT_EQ(engine->info().kv_type, "q" + std::to_string(bits));
    const Result r = engine->generate(greedy_request("Hello world, once more", 6));
    EXPECT_EQ(r.stop, StopReason::max_tokens) << r.error;
    EXPECT_EQ(r.usage.completion_tokens, 6);
  }
  // kv_type by name overrides kv_bits.
  EXPECT_EQ(tiny_engine({.kv_bits = 32, .kv_type = "q4"})->info().kv_type, "q4");
}

// Greedy decoding with an 8-bit cache follows the f32 cache's first tokens on the tiny model
// (q8's attention error is ~1e-2 relative: README's table); 2-bit is allowed to drift.
TEST(EngineKvCache, Q8FollowsF32) {
  const Request r = greedy_request("The quick brown fox jumps over", 3);
  const Result exact = tiny_engine({.kv_bits = 32})->generate(r);
  const Result q8 = tiny_engine({.kv_bits = 8, .kv_group_size = 32})->generate(r);
  EXPECT_EQ(q8.tokens, exact.tokens);
}

TEST(EngineMemory, ModelThatCannotFitIsRefusedAtLoad) {
  try {
    tiny_engine({.memory_limit = 64 * 1024});
    ADD_FAILURE() << "a 64 KB limit loaded the model";
  } catch (const OutOfMemory& e) {
    EXPECT_NE(std::string(e.what()).find("the model alone does not fit"), std::string::npos)
        << e.what();
  }
}

// The limit: the plan's fixed part (as the engine plans it in this process: the figure of a
// refusal, like tests/cli/plan_cli_test.cpp's guard test; the process term is this process's
// RSS, which grows by a few MB over the first loads) plus 4 MB, room for ~8,000 tokens of f32 KV
// (512 B/token). A short request runs; one holding the whole context of 32,768 tokens (16 MB:
// prompt + max_tokens) is refused at submit, before anything is fed, and the engine goes on
// serving.
TEST(EngineMemory, RequestThatCannotFitIsRefusedAtSubmit) {
  EngineOptions o{.parallel = 1, .context = 32768, .kv_bits = 32, .prompt_cache_bytes = 0};
  double fixed_mb = 0;
  try {
    o.memory_limit = 64 * 1024;
    tiny_engine(o);
    FAIL() << "a 64 KB limit loaded the model";
  } catch (const OutOfMemory& e) {
    const std::string message = e.what();
    const size_t at = message.find("model and buffers ");
    ASSERT_NE(at, std::string::npos) << message;
    fixed_mb = std::atof(message.c_str() + at + 18);
    ASSERT_NE(message.find(" MB"), std::string::npos) << message;
  }
  ASSERT_GT(fixed_mb, 1.0);
  o.memory_limit = static_cast<uint64_t>((fixed_mb + 4.0) * 1e6);
  auto engine = tiny_engine(o);
  EXPECT_EQ(engine->generate(greedy_request("Hello", 4)).usage.completion_tokens, 4);
  try {
    engine->submit(greedy_request("Hello", 100000));
    ADD_FAILURE() << "32,768 tokens of f32 KV fit 4 MB over the model";
  } catch (const OutOfMemory& e) {
    EXPECT_NE(std::string(e.what()).find("tokens fit"), std::string::npos) << e.what();
  }
  EXPECT_EQ(engine->generate(greedy_request("Hello", 4)).usage.completion_tokens, 4);
}

}  // namespace
}  // namespace tightfit
