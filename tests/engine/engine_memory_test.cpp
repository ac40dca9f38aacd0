// The engine's quantized KV cache (EngineOptions::kv_bits / kv_group_size) and its memory plan
// (EngineOptions::memory_limit, include/tightfit/plan.h): a model that cannot fit is refused at
// load, a request whose prompt + max_tokens cannot fit even alone is refused at submit, both
// with OutOfMemory carrying the plan's numbers; one that fits alone but not beside the running
// requests waits in the queue (engine/memory_budget.h); the prompt cache uses what the running
// requests leave; the default context and max_tokens are what fits; --mlock locks the weights.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "engine_test_util.h"

namespace tightfit {
namespace {

using test::greedy_request;
using test::tiny_engine;

std::string trained_dir() { return std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-qwen35"; }

// The plan's fixed part (model, buffers, sequence state, this process) in MB as an engine with
// `o` plans it in this process: the figure of its refusal under a 64 KB limit. The process term
// is this process's RSS, which moves by a megabyte or so between loads, so tests give a margin
// of several MB and read what the loaded engine planned from ModelInfo.
double fixed_mb(EngineOptions o) {
  o.memory_limit = 64 * 1024;
  try {
    Engine::load(o);
  } catch (const OutOfMemory& e) {
    const std::string message = e.what();
    const size_t at = message.find("model and buffers ");
    if (at == std::string::npos) return 0;
    const double value = std::atof(message.c_str() + at + 18);
    return message.compare(message.find(' ', at + 18) + 1, 2, "kB") == 0 ? value / 1e3 : value;
  }
  return 0;
}

// Waits (at most 30 s) until `done` holds.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 3000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return done();
}

std::vector<int32_t> tokens(int64_t n) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(static_cast<int32_t>(10 + i % 1000));
  return ids;
}

// Runs until max_tokens (EOS, stop strings and the loop guard off).
Request long_request(std::vector<int32_t> prompt, int max_tokens) {
  Request r;
  r.prompt_tokens = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  r.ignore_eos = true;
  r.loop_guard = false;
  return r;
}

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

// Two requests on the trained model (f32 KV, 1 kB/token) that each fit the limit alone but not
// together: with two slots free, the second waits in the queue while the first runs (llama-server
// queues a request no slot can take), then runs once the first has ended and given back its room.
TEST(EngineMemory, RequestThatFitsAloneWaitsForRoom) {
  EngineOptions o{.model = trained_dir(), .threads = 2, .parallel = 2, .kv_bits = 32,
                  .prompt_cache_bytes = 0};
  const double fixed = fixed_mb(o);
  ASSERT_GT(fixed, 1.0);
  o.memory_limit = static_cast<uint64_t>((fixed + 4.0) * 1e6);
  auto engine = Engine::load(o);
  const int64_t room = engine->info().memory_tokens;  // ≈ 4,000 tokens
  ASSERT_GT(room, 1000) << "fixed " << engine->info().memory_fixed;
  ASSERT_LT(room, 10000);
  // A: a short prompt and a long answer (cancelled once B is seen waiting); B: a long prompt.
  const int64_t share = room * 6 / 10;
  RequestHandle a = engine->submit(long_request(tokens(8), static_cast<int>(share - 8)));
  RequestHandle b = engine->submit(long_request(tokens(share - 4), 4));
  ASSERT_TRUE(eventually([&] { return engine->stats().requests_active == 1; }));
  const EngineStats waiting = engine->stats();
  EXPECT_EQ(waiting.requests_queued, 1);
  EXPECT_EQ(waiting.kv_reserved_tokens, share);
  EXPECT_FALSE(b.next_for(std::chrono::milliseconds(0)).has_value());
  EXPECT_FALSE(b.finished());
  // A request cancelled while it waits leaves the queue at once (A still runs).
  RequestHandle c = engine->submit(long_request(tokens(share - 4), 4));
  c.cancel();
  EXPECT_EQ(c.wait().stop, StopReason::cancelled);
  EXPECT_EQ(engine->stats().requests_active, 1);
  a.cancel();
  EXPECT_EQ(a.wait().stop, StopReason::cancelled);
  const Result rb = b.wait();
  EXPECT_EQ(rb.stop, StopReason::max_tokens) << rb.error;
  EXPECT_EQ(rb.usage.completion_tokens, 4);
  EXPECT_EQ(engine->stats().kv_reserved_tokens, 0);
  // Together they fit a limit three times as large: both run at once.
  a = {};
  b = {};
  engine.reset();  // first: the next plan counts this process's memory
  o.memory_limit = static_cast<uint64_t>((fixed + 12.0) * 1e6);
  engine = Engine::load(o);
  ASSERT_GT(engine->info().memory_tokens, 2 * share);
  a = engine->submit(long_request(tokens(8), static_cast<int>(share - 8)));
  b = engine->submit(long_request(tokens(share - 4), 4));
  EXPECT_EQ(b.wait().usage.completion_tokens, 4);
  EXPECT_EQ(engine->stats().requests_active, 1);  // A still runs beside it
  a.cancel();
  a.wait();
}

// The prompt cache is elastic: its 512 MB budget does not count against a limit with 5 MB of
// room (the engine loads), it keeps a prefix while there is room, and gives it back when a
// request's KV reservation needs the room, before that request's sequence grows. The room must
// hold the 1,000-token prefix's snapshot (1 MB of f32 KV and the DeltaNet state, ~2.1 MB) after
// the process has grown by ~1.8 MB between the plan that measured `fixed` (a refused load) and
// the engine's own: with 4 MB it was a coin toss (room 2,068–2,294 tokens measured). Less than
// 4,096 tokens of room (the engine's default context), so the big request below is cut by memory.
TEST(EngineMemory, PromptCacheUsesWhatIsLeft) {
  EngineOptions o{.model = trained_dir(), .threads = 2, .parallel = 1, .kv_bits = 32};
  ASSERT_EQ(o.prompt_cache_bytes, 512ull << 20);
  const double fixed = fixed_mb(o);
  ASSERT_GT(fixed, 1.0);
  o.memory_limit = static_cast<uint64_t>((fixed + 5.0) * 1e6);
  auto engine = Engine::load(o);
  const ModelInfo& info = engine->info();
  const int64_t room = info.memory_tokens;
  ASSERT_GT(room, 1000);
  EXPECT_EQ(engine->generate(long_request(tokens(1000), 2)).usage.completion_tokens, 2);
  const uint64_t saved = engine->stats().prompt_cache_bytes;
  EXPECT_GT(saved, 1000u * info.kv_bytes_per_token);  // the 1,000-token prefix is kept
  // A request that reserves all but 100 tokens of the room: the cache must shrink to what is
  // left (less than the saved prefix), by the time its first token comes.
  RequestHandle big = engine->submit(long_request(tokens(8), static_cast<int>(room - 108)));
  ASSERT_TRUE(big.next().has_value());
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.kv_reserved_tokens, room - 100);
  EXPECT_LE(info.memory_fixed + s.kv_reserved_tokens * info.kv_bytes_per_token + s.prompt_cache_bytes,
            info.memory_limit);
  EXPECT_LT(s.prompt_cache_bytes, saved);
  big.cancel();
  big.wait();
}

// Without a context or max_tokens the engine takes what fits: the context is the tokens the
// limit holds (less than the model's 4,096), a prompt past it is OutOfMemory with the numbers,
// and a request left at the default max_tokens is never refused for memory.
TEST(EngineMemory, DefaultContextAndMaxTokensAreWhatFits) {
  EngineOptions o{.model = trained_dir(), .threads = 2, .parallel = 1, .kv_bits = 32,
                  .prompt_cache_bytes = 0};
  const double fixed = fixed_mb(o);
  ASSERT_GT(fixed, 1.0);
  o.memory_limit = static_cast<uint64_t>((fixed + 2.5) * 1e6);  // ≈ 2,400 tokens of f32 KV
  auto engine = Engine::load(o);
  const ModelInfo info = engine->info();
  ASSERT_GT(info.memory_tokens, 500);
  ASSERT_LT(info.memory_tokens, 4096);
  EXPECT_EQ(info.context_length, info.memory_tokens);
  EXPECT_EQ(info.memory_limit, o.memory_limit);
  EXPECT_EQ(info.kv_bytes_per_token, 2u * 2 * 2 * 32 * 4);  // 2 attention layers, 2 kv heads, f32
  const int64_t prompt = info.memory_tokens - 300;
  Request r = long_request(tokens(prompt), 1);
  r.max_tokens.reset();  // the default: the model's max_new_tokens capped by what fits
  const Result result = engine->generate(r);
  EXPECT_NE(result.stop, StopReason::error) << result.error;
  EXPECT_LE(result.max_tokens, 300);
  EXPECT_GT(result.max_tokens, 0);
  try {
    engine->submit(long_request(tokens(info.memory_tokens + 10), 1));
    ADD_FAILURE() << "a prompt past what the memory holds was accepted";
  } catch (const OutOfMemory& e) {
    EXPECT_NE(std::string(e.what()).find("tokens fit"), std::string::npos) << e.what();
  }
  // A context given explicitly stays (requests are still checked against the plan).
  engine.reset();
  o.context = 4096;
  o.memory_limit += 4'000'000;  // room for the process to have grown since
  EXPECT_EQ(Engine::load(o)->info().context_length, 4096);
}

// VmLck of this process (kB), /proc/self/status.
int64_t locked_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmLck:", 0) == 0) return std::atoll(line.c_str() + 6);
  return -1;
}

// mlock: the tiny model's 0.76 MB of weights are locked while the engine lives (within the 8 MB
// RLIMIT_MEMLOCK most systems give a user; where a user gets less, the refusal is checked
// instead). The refusal under a lowered limit is tests/cli/plan_cli_test.cpp's.
TEST(EngineMemory, MlockLocksTheWeights) {
  const int64_t before = locked_kb();
  ASSERT_GE(before, 0);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_MEMLOCK, &limit), 0);
  if (geteuid() != 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < (1u << 20)) {
    EXPECT_THROW(tiny_engine({.mlock = true}), OutOfMemory);
    return;
  }
  {
    auto engine = tiny_engine({.mlock = true});
    EXPECT_TRUE(engine->info().weights_locked);
    EXPECT_GE((locked_kb() - before) * 1024, static_cast<int64_t>(engine->info().weight_bytes) - 4096);
    EXPECT_EQ(engine->generate(greedy_request("Hello", 2)).usage.completion_tokens, 2);
  }
  EXPECT_EQ(locked_kb(), before);
  EXPECT_FALSE(tiny_engine()->info().weights_locked);
}

}  // namespace
}  // namespace tightfit
