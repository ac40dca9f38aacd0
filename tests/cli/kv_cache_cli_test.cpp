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

}  // namespace
}  // namespace tf
