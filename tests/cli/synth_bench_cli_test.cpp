// `tightfit synth` and `tightfit bench` end to end: a small synthetic model written, inspected
// and benchmarked, the JSON report, and the usage errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_test_support.h"
#include "model/test_checkpoints.h"

namespace tf {
namespace {

namespace fs = std::filesystem;

using Result = test::CliResult;

// `tightfit ARGS`; the tests read stdout only.
Result run(const std::string& args) { return test::run_cli_line(args); }

// The fixture's tiny config (hidden 64): every width a multiple of the 64-group, so the
// dynamic recipe quantizes everything quantizable.
const std::string kTinyConfig = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a/config.json";

TEST(SynthCli, WritesAModelThatInspectAndBenchRead) {
  test::TempDir tmp("synth-cli");
  const std::string out = tmp.path + "/m";
  Result r = run("synth --config " + kTinyConfig + " --out " + out + " --seed 3 --threads 2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("routed_experts"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2-bit g64"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote " + out), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(fs::path(out) / "config.json"));

  r = run("inspect " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("mlx-lm"), std::string::npos) << r.out;

  const std::string json = tmp.path + "/bench.json";
  r = run("bench -m " + out + " -p 8 -n 2 -d 0,16 -r 1 -t 2 --precision f32 --bandwidth-mb 16 --json-out " + json);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* s : {"| pp8 |", "| tg2 |", "| tg2 @ d16 |", "read bandwidth"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  std::ifstream in(json);
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["tests"].size(), 3u);
  EXPECT_EQ(j["precision"], "f32");
  EXPECT_GT(j["tests"][1]["tok_per_s"]["median"].get<double>(), 0.0);

  r = run("bench -m " + out + " -p 0 -n 2 -d 0 -r 1 --bandwidth-mb 16 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto k = nlohmann::json::parse(r.out);
  ASSERT_EQ(k["tests"].size(), 1u);
  EXPECT_EQ(k["tests"][0]["name"], "tg2");

  // Same folder again: refused without --force (bad input, exit code 2).
  r = run("synth --config " + kTinyConfig + " --out " + out);
  EXPECT_EQ(r.code, 2);
}

TEST(SynthCli, DryRunOfThePresetPrintsTheFullSize) {
  const Result r = run("synth --config qwen3.5-35b-a3b --dry-run");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("11.17 GB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2.579"), std::string::npos) << r.out;
}

TEST(SynthCli, UsageErrors) {
  EXPECT_EQ(run("synth --out /tmp/x").code, 2);                            // no --config
  EXPECT_EQ(run("synth --config qwen3.5-35b-a3b").code, 2);                // no --out
  EXPECT_EQ(run("synth --config qwen3.5-35b-a3b --dry-run --dtype f64").code, 2);
  EXPECT_EQ(run("synth --config nonesuch --dry-run").code, 2);  // bad input
  EXPECT_EQ(run("synth --config qwen3.5-35b-a3b --layers 41 --dry-run").code, 2);
  EXPECT_EQ(run("bench").code, 2);                                          // no --model
  EXPECT_EQ(run("bench -m /nonexistent -r 0").code, 2);
  EXPECT_EQ(run("bench -m /nonexistent --precision f8").code, 2);
  EXPECT_EQ(run("bench -m /nonexistent").code, 2);  // no such model: bad input
}

}  // namespace
}  // namespace tf
