// `--kv-cache f16|bf16|f32` end to end: logits with each type (f32 exact to the fixture's gate,
// f16 and bf16 close to f32 but not equal), generate and bench accept the flag, and an unknown
// type is a usage error (exit 2, one line) on every command that has the flag.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "storage/npy.h"

namespace tf {
namespace {

using test::CliResult;
using test::run_cli;

const std::string kTiny = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a";
const std::string kModel = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-random";
const std::string kSeq16 = "39,231,167,117,472,428,220,0,70,167,503,280,7,511,510,419";

using test::worst_relative_l2;

TEST(KvCacheCli, LogitsWithEveryType) {
  const std::string dir = test::fresh_dir("kv-cache-cli");
  const NpyArray ref = read_npy(kTiny + "/logits_seq16.npy");
  NpyArray got[3];
  const char* types[] = {"f32", "f16", "bf16"};
  for (int i = 0; i < 3; ++i) {
    const std::string out = dir + "/" + types[i] + ".npy";
    const CliResult r = run_cli({"logits", "--model", kTiny, "--tokens", kSeq16, "--mode",
                                 "decode", "--threads", "2", "--kv-cache", types[i], "--out", out});
    ASSERT_EQ(r.code, 0) << r.err;
    got[i] = read_npy(out);
    ASSERT_EQ(got[i].shape, ref.shape);
  }
  EXPECT_LE(worst_relative_l2(got[0], ref), 1e-4);   // f32: ~1e-5 from llama.cpp
  EXPECT_LE(worst_relative_l2(got[1], got[0]), 1e-3);  // f16: rounding of the cache only
  EXPECT_GT(worst_relative_l2(got[1], got[0]), 0.0);
  EXPECT_LE(worst_relative_l2(got[2], got[0]), 8e-3);  // bf16: 8 mantissa bits
  EXPECT_GT(worst_relative_l2(got[2], got[1]), 0.0);
}

TEST(KvCacheCli, GenerateAndBenchAcceptTheFlag) {
  const CliResult g = run_cli({"generate", "--model", kModel, "--threads", "1", "--prompt", "hi",
                               "--max-tokens", "2", "--kv-cache", "bf16", "--quiet"});
  EXPECT_EQ(g.code, 0) << g.err;
  const CliResult b = run_cli({"bench", "-m", kTiny, "-p", "0", "-n", "2", "-d", "0", "-r", "1",
                               "--bandwidth-mb", "16", "--no-warm", "--kv-cache", "f32"});
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(b.out.find("KV cache f32"), std::string::npos) << b.out;
}

// generate runs on the engine: --kv-bits / --kv-group-size become EngineOptions; greedy
// output with an 8-bit cache matches the f32 cache's on the tiny model for a few tokens.
TEST(KvCacheCli, GenerateTakesKvBitsThroughTheEngine) {
  auto generate = [](std::vector<std::string> extra) {
    std::vector<std::string> args = {"generate", "--model", kModel, "--threads", "1", "--prompt",
                                     "hello world", "--max-tokens", "3", "--temp", "0",
                                     "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  };
  const CliResult f32 = generate({"--kv-cache", "f32"});
  ASSERT_EQ(f32.code, 0) << f32.err;
  const CliResult q8 = generate({"--kv-bits", "8", "--kv-group-size", "32"});
  ASSERT_EQ(q8.code, 0) << q8.err;
  EXPECT_EQ(q8.out, f32.out);
  EXPECT_EQ(generate({"--kv-bits", "2"}).code, 0);
  test::expect_one_line_error(generate({"--kv-bits", "4", "--kv-cache", "q8"}), 2, "--kv-bits");
  test::expect_one_line_error(
      run_cli({"serve", "--model", kModel, "--memory-limit", "lots"}), 2, "--memory-limit");
}

TEST(KvCacheCli, UnknownTypeIsAUsageError) {
  const std::vector<std::vector<std::string>> cases = {
      {"logits", "--model", kTiny, "--tokens", "1,2", "--kv-cache", "q8_0"},
      {"generate", "--model", kModel, "--prompt", "x", "--kv-cache", "q8_0"},
      {"chat", "--model", kModel, "--kv-cache", "q8_0"},
      {"bench", "-m", kTiny, "--kv-cache", "q8_0"},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(args[0]);
    test::expect_one_line_error(run_cli(args), 2, "--kv-cache");
  }
}

// --kv-bits 8 / 4 / 2 (with --kv-group-size 32: the fixture's heads are 32 wide) run the
// quantized caches: logits close to f32 within the widths' bounds (tests/model/kv_cache_test.cpp),
// --kv-bits 16 equals --kv-cache f16, and bench reports the width it ran.
TEST(KvCacheCli, KvBitsSelectsTheQuantizedCaches) {
  const std::string dir = test::fresh_dir("kv-bits-cli");
  auto logits = [&](std::vector<std::string> extra, const std::string& name) {
    std::vector<std::string> args = {"logits", "--model", kTiny, "--tokens", kSeq16, "--mode",
                                     "decode", "--threads", "2", "--out", dir + "/" + name};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.code, 0) << r.err;
    return read_npy(dir + "/" + name);
  };
  const NpyArray f32 = logits({"--kv-cache", "f32"}, "f32.npy");
  const NpyArray f16 = logits({"--kv-cache", "f16"}, "f16.npy");
  EXPECT_EQ(logits({"--kv-bits", "16"}, "b16.npy").data, f16.data);
  const double q8 = worst_relative_l2(logits({"--kv-bits", "8"}, "q8.npy"), f32);
  const double q4 =
      worst_relative_l2(logits({"--kv-bits", "4", "--kv-group-size", "32"}, "q4.npy"), f32);
  EXPECT_GT(q8, 0.0);
  EXPECT_LE(q8, 5e-3);  // seq16 decode: 3.7e-3 measured
  EXPECT_GT(q4, q8);
  EXPECT_LE(q4, 0.25);
  const CliResult b = run_cli({"bench", "-m", kTiny, "-p", "0", "-n", "2", "-d", "0", "-r", "1",
                               "--bandwidth-mb", "16", "--no-warm", "--kv-bits", "4"});
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(b.out.find("KV cache q4"), std::string::npos) << b.out;
}

TEST(KvCacheCli, BadKvBitsAreUsageErrors) {
  test::expect_one_line_error(
      run_cli({"logits", "--model", kTiny, "--tokens", "1,2", "--kv-bits", "3"}), 2, "--kv-bits");
  test::expect_one_line_error(run_cli({"logits", "--model", kTiny, "--tokens", "1,2",
                                       "--kv-bits", "4", "--kv-group-size", "48"}),
                              2, "--kv-group-size");
  test::expect_one_line_error(run_cli({"logits", "--model", kTiny, "--tokens", "1,2",
                                       "--kv-bits", "4", "--kv-cache", "bf16"}),
                              2, "--kv-bits");
}

}  // namespace
}  // namespace tf
