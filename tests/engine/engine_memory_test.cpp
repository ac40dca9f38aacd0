// The engine's quantized KV cache (EngineOptions::kv_bits / kv_group_size) and its memory plan
// (EngineOptions::memory_limit, include/tightfit/plan.h): a model that cannot fit is refused at
// load, a request whose prompt + max_tokens cannot fit is refused at submit, both with
// OutOfMemory carrying the plan's numbers.
#include <gtest/gtest.h>

#include <string>

#include "engine_test_util.h"
#include "tightfit/plan.h"

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

// The limit: the plan's fixed part (as this process plans it now) plus room for 2,000 tokens of
// f32 KV. A short request runs; one holding ~3,900 tokens (prompt + max_tokens) is refused at
// submit, before anything is fed, and the engine goes on serving.
TEST(EngineMemory, RequestThatCannotFitIsRefusedAtSubmit) {
  PlanOptions p;
  p.model = test::tiny_random_dir();
  p.kv_bits = 32;
  p.context = 4000;
  p.memory = 16'000'000'000ull;
  p.reserve = 0;
  p.threads = 2;
  p.prompt_cache_bytes = 0;
  p.parallel = 1;
  const MemoryPlan plan = plan_memory(p);
  ASSERT_GT(plan.kv_bytes_per_token, 0u);
  const uint64_t limit = plan.fixed_bytes + 2000 * plan.kv_bytes_per_token;
  auto engine = tiny_engine({.parallel = 1, .context = 4000, .kv_bits = 32,
                             .memory_limit = limit, .prompt_cache_bytes = 0});
  EXPECT_EQ(engine->generate(greedy_request("Hello", 4)).usage.completion_tokens, 4);
  Request big = greedy_request("Hello", 3900);
  try {
    engine->submit(big);
    ADD_FAILURE() << "3,900 tokens fit a limit planned for 2,000";
  } catch (const OutOfMemory& e) {
    EXPECT_NE(std::string(e.what()).find("tokens fit"), std::string::npos) << e.what();
  }
  EXPECT_EQ(engine->generate(greedy_request("Hello", 4)).usage.completion_tokens, 4);
}

}  // namespace
}  // namespace tightfit
