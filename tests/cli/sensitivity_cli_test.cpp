// `tightfit sensitivity` on the tiny model: token-id calibration (the fixture has no tokenizer),
// the table, JSON and CSV outputs, and the error paths.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli_test_support.h"
#include "model/test_checkpoints.h"

namespace tf {
namespace {

using nlohmann::json;

using Result = test::CliOutput;
constexpr auto run = test::run_cli_merged;  // `tightfit ARGS`, stdout and stderr as one stream

const std::string kTiny = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a";

TEST(SensitivityCli, PrintsTheTableAndWritesJsonAndCsv) {
  test::TempDir dir("sensitivity");
  std::map<int, json> reports;
  for (int bits : {2, 4}) {
    const std::string j = dir.path + "/s" + std::to_string(bits) + ".json";
    const Result r = run("sensitivity --model " + kTiny + " --calib " + kTiny + "/tokens.json --bits " +
                         std::to_string(bits) + " --group-size 32 --threads 2 --json " + j + " --csv " +
                         dir.path + "/s.csv");
    ASSERT_EQ(r.code, 0) << r.output;
    if (bits == 2) std::printf("%s", r.output.c_str());
    for (const char* needle : {"router", "deltanet_in_proj", "attention_q", "expert_gate_up", "expert_down",
                               "shared_expert_gate_up", "lm_head", "edge-vs-middle", "56 calibration tokens"})
      EXPECT_NE(r.output.find(needle), std::string::npos) << needle;
    std::ifstream(j) >> reports[bits];
  }
  const json& r2 = reports[2];
  EXPECT_EQ(r2["tokens"], 56);  // seq16 + seq40
  EXPECT_GT(r2["edge_vs_middle"].get<double>(), 0);
  // 4 layers × (router, shared gate, shared expert ×3, experts ×3) + 3 × (in_proj ×4, out) + 4 attention + head
  EXPECT_EQ(r2["modules"].size(), 4u * 8 + 3 * 5 + 4 + 1);
  std::map<std::string, double> e4;
  for (const auto& m : reports[4]["modules"]) e4[m["module"]] = m["relative_error"];
  for (const auto& m : r2["modules"]) {
    const double e = m["relative_error"];
    EXPECT_GT(e, 0) << m["module"];
    EXPECT_LT(e, 2.0) << m["module"];
    EXPECT_GT(e, e4[m["module"]]) << m["module"] << ": 2-bit error must exceed 4-bit error";
  }
  std::ifstream csv(dir.path + "/s.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "module,group,layer,relative_error,rows,quantizable");
}

TEST(SensitivityCli, WarnsOnAnAlreadyQuantizedCheckpoint) {
  test::TempDir dir("sensitivity-quantized");
  const std::string calib = " --calib " + kTiny + "/tokens.json --threads 2";
  const std::string warning = "is already quantized";
  Result r = run("sensitivity --model " + kTiny + calib);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find(warning), std::string::npos) << r.output;
  ASSERT_EQ(run("convert --hf " + kTiny + " --out " + dir.path + "/q3 --recipe uniform-3").code, 0);
  r = run("sensitivity --model " + dir.path + "/q3" + calib);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(warning), std::string::npos) << r.output;
}

TEST(SensitivityCli, Errors) {
  test::TempDir dir("sensitivity-bad");
  std::ofstream(dir.path + "/text.txt") << "hello";
  // Calibration files that cannot be used are bad input: exit code 2.
  Result r = run("sensitivity --model " + kTiny + " --calib " + dir.path + "/text.txt");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("tokenizer.json"), std::string::npos) << r.output;
  std::ofstream(dir.path + "/big.json") << "[1, 2, 99999]";
  r = run("sensitivity --model " + kTiny + " --calib " + dir.path + "/big.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("99999"), std::string::npos) << r.output;
  EXPECT_EQ(run("sensitivity --model " + kTiny).code, 2);
  EXPECT_EQ(run("sensitivity --model " + kTiny + " --calib " + kTiny + "/tokens.json --bits 7").code, 2);
  r = run("sensitivity --model " + kTiny + " --calib " + dir.path + "/missing.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("missing.json"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tf
