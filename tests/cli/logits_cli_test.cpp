// `tightfit logits` end to end: fixture logits in both modes, an MLX-layout conversion of the
// fixture, and the error exits.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <cstdio>
#include <string>

#include "cli_test_support.h"
#include "model/test_checkpoints.h"
#include "storage/npy.h"

namespace tf {
namespace {

using Result = test::CliOutput;
constexpr auto run = test::run_cli_merged;  // `tightfit ARGS`, stdout and stderr as one stream

const std::string kTiny = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a";
const std::string kSeq16 = "39,231,167,117,472,428,220,0,70,167,503,280,7,511,510,419";

using test::worst_relative_l2;

TEST(LogitsCli, FixtureInBothModes) {
  test::TempDir dir("logits-cli");
  const NpyArray ref = read_npy(kTiny + "/logits_seq16.npy");
  for (const char* mode : {"prefill", "decode"}) {
    const std::string out = dir.path + "/" + mode + ".npy";
    const Result r = run("logits --model " + kTiny + " --tokens " + kSeq16 + " --mode " + mode +
                         " --threads 2 --out " + out);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("logits: [16, 512]"), std::string::npos) << r.output;
    const NpyArray got = read_npy(out);
    ASSERT_EQ(got.shape, ref.shape);
    EXPECT_LE(worst_relative_l2(got, ref), 1e-3) << mode;
  }
}

TEST(LogitsCli, MlxLayoutConversionGivesTheSameLogits) {
  test::TempDir dir("logits-cli-mlx");
  const std::string mlx = dir.path + "/mlx";
  std::filesystem::create_directories(mlx);
  test::convert_to_mlx(kTiny, mlx, {});
  const Result a = run("logits --model " + kTiny + " --tokens " + kSeq16 + " --out " + dir.path + "/hf.npy");
  const Result b = run("logits --model " + mlx + " --tokens " + kSeq16 + " --out " + dir.path + "/mlx.npy");
  ASSERT_EQ(a.code, 0) << a.output;
  ASSERT_EQ(b.code, 0) << b.output;
  EXPECT_NE(b.output.find("mlx-lm layout"), std::string::npos) << b.output;
  EXPECT_EQ(read_npy(dir.path + "/hf.npy").data, read_npy(dir.path + "/mlx.npy").data);
}

TEST(LogitsCli, ErrorsExitWithOneLine) {
  Result r = run("logits --model " + kTiny + " --tokens 1,x,3");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("'x' is not a token id"), std::string::npos) << r.output;
  r = run("logits --model " + kTiny + " --tokens 1,,3");
  EXPECT_EQ(r.code, 2) << r.output;
  r = run("logits --model " + kTiny + " --tokens 1,2 --mode sideways");
  EXPECT_EQ(r.code, 2) << r.output;
  r = run("logits --model /nonexistent/model --tokens 1");
  EXPECT_EQ(r.code, 2) << r.output;
  r = run("logits --model " + kTiny + " --tokens 1,512");
  EXPECT_EQ(r.code, 2) << r.output;  // bad input
  EXPECT_NE(r.output.find("tightfit: error: --tokens: token id 512"), std::string::npos) << r.output;
  r = run("logits --model " + std::string(TIGHTFIT_TEST_DATA) + " --tokens 1");  // no config.json
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("config.json"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tf
