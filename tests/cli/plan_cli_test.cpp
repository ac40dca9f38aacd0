// `tightfit plan` (include/tightfit/plan.h) and the guard behind --memory-limit: the plan of the
// real 35B-A3B config reproduces the model card's budget, the plan of a tiny model lands within
// 10 % of the peak RSS real runs measure (a prefill + decode of the tiny model, a prefill of a
// synthetic model whose weights dominate), and a run the plan says cannot fit
// is refused with the numbers (one line, exit code 2) instead of running.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_test_support.h"

namespace tf {
namespace {

using test::CliResult;
using test::run_cli;

const std::string kModel = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-random";
const std::string kConfig35B = std::string(TIGHTFIT_TEST_DATA) + "/configs/qwen3.5-35b-a3b";

nlohmann::json plan_json(std::vector<std::string> args) {
  args.insert(args.begin(), "plan");
  args.push_back("--json");
  const CliResult r = run_cli(args);
  EXPECT_EQ(r.code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

// The model card's budget for the dynamic recipe: 2.579 bits per weight, 10.4 GiB of text
// weights (the card's "10 GB"), + 0.83 GiB of bf16 vision tower; 4-bit KV ≈ 5 KB per token
// (the card counts 4 bits per element; the bf16 scale and bias per group of 64 add 1/8: 5.76 KB).
TEST(PlanCli, ReproducesTheModelCardBudget) {
  const auto j = plan_json({"--model", kConfig35B, "--recipe", "dynamic", "--memory", "16GB",
                            "--reserve", "3.5GB", "--kv-bits", "4", "--context", "32768"});
  EXPECT_EQ(j["weights_from"], "config + recipe dynamic");
  EXPECT_EQ(j["text_weight_bytes"].get<uint64_t>(), 11'172'195'456u);
  EXPECT_NEAR(j["vision_weight_bytes"].get<double>() / (1u << 30), 0.83, 0.01);
  EXPECT_EQ(j["kv_bytes_per_token"].get<uint64_t>(), 10u * 2 * 2 * (128 + 16));  // 5,760 B
  EXPECT_EQ(j["limit_bytes"].get<uint64_t>(), 12'500'000'000u);
  // 4-bit KV at 32K fits a 16 GB machine with 3.5 GB reserved, f16 KV does not.
  EXPECT_TRUE(j["fits"].get<bool>());
  const auto& widths = j["kv_widths"];
  ASSERT_EQ(widths.size(), 4u);
  EXPECT_EQ(widths[0]["bits"], 16);
  EXPECT_GT(widths[0]["total_at"][0].get<uint64_t>(), j["limit_bytes"].get<uint64_t>());
  EXPECT_LT(widths[2]["total_at"][0].get<uint64_t>(), j["limit_bytes"].get<uint64_t>());
  // Each halving of the width roughly doubles the context that fits.
  for (int i = 0; i < 3; ++i)
    EXPECT_GT(widths[i + 1]["max_context"].get<int64_t>(),
              widths[i]["max_context"].get<int64_t>() * 17 / 10);
  // Text only drops the vision tower.
  const auto text = plan_json({"--model", kConfig35B + "/config.json", "--memory", "16GB",
                               "--no-vision", "--context", "32768"});
  EXPECT_EQ(text["vision_weight_bytes"], 0);
  EXPECT_LT(text["total_bytes"].get<uint64_t>(), j["total_bytes"].get<uint64_t>());
}

// Peak RSS ("peak memory" of the stats line: VmHWM) of `generate` on the tiny model at a prompt
// of `words` words against the plan for the tokens it holds. The tiny model's RSS is mostly the
// process itself: the plan counts it (RSS of the plan process before reading the model, plus the
// measured runtime constant kRuntimeBytes of runtime/memory_plan.h).
double measured_peak_mb(int words, int max_tokens, int64_t* tokens) {
  std::string prompt;
  for (int i = 0; i < words; ++i) prompt += "hello world ";
  const CliResult r = run_cli({"generate", "--model", kModel, "--threads", "2", "--prompt", prompt,
                               "--max-tokens", std::to_string(max_tokens)});
  EXPECT_EQ(r.code, 0) << r.err;
  const size_t at = r.err.find("peak memory: ");
  const size_t p = r.err.find("prompt: "), g = r.err.find("generation: ");
  EXPECT_NE(at, std::string::npos) << r.err;
  EXPECT_NE(p, std::string::npos) << r.err;
  EXPECT_NE(g, std::string::npos) << r.err;
  *tokens = std::atoll(r.err.c_str() + p + 8) + std::atoll(r.err.c_str() + g + 12);
  return std::atof(r.err.c_str() + at + 13);
}

TEST(PlanCli, PlanMatchesThePeakRssOfARealRunWithinTenPercent) {
  for (int words : {10, 450}) {  // ≈ 60 and 2,700 prompt tokens (the context is 4,096)
    int64_t tokens = 0;
    const double measured = measured_peak_mb(words, 32, &tokens);
    const auto j = plan_json({"--model", kModel, "--context", std::to_string(tokens), "--memory",
                              "16GB", "--no-vision"});
    const double planned = j["total_bytes"].get<double>() / 1e6;
    SCOPED_TRACE(std::to_string(tokens) + " tokens: measured " + std::to_string(measured) +
                 " MB, planned " + std::to_string(planned) + " MB");
    EXPECT_NEAR(planned, measured, 0.10 * measured);
  }
}

// Peak RSS of `tightfit ARGS` (the child's ru_maxrss from wait4), its output discarded.
double child_peak_mb(const std::vector<std::string>& args) {
  std::vector<std::string> argv_s = {TIGHTFIT_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  EXPECT_EQ(wait4(pid, &status, 0, &usage), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  return static_cast<double>(usage.ru_maxrss) * 1024 / 1e6;  // Linux: kilobytes
}

// A synthetic model whose weights (34 MB: 8 layers, 64 experts of width 256, hidden 256) outweigh
// the process: the prefill of 600 tokens (`logits`, all rows, in batches of 256) against the plan
// at 600 tokens plus what `logits` itself keeps that a generation does not — the logits of every
// row, once in the session and once in the copy it writes (2 · 600 · vocab floats).
TEST(PlanCli, PlanMatchesThePeakRssOfASyntheticModelWithinTenPercent) {
  nlohmann::json config = nlohmann::json::parse(
      test::read_file(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a/config.json"));
  auto& t = config["text_config"];
  t["hidden_size"] = 256;
  t["num_experts"] = 64;
  t["moe_intermediate_size"] = 256;
  t["shared_expert_intermediate_size"] = 256;
  t["num_hidden_layers"] = 8;
  t["vocab_size"] = 4096;
  t["layer_types"] = nlohmann::json::array();
  for (int i = 0; i < 8; ++i)
    t["layer_types"].push_back(i % 4 == 3 ? "full_attention" : "linear_attention");
  const std::string dir = test::fresh_dir("plan-synth");
  const std::string config_path = test::write_file(dir + "/config.json", config.dump());
  const std::string model = dir + "/model";
  const CliResult synth =
      run_cli({"synth", "--config", config_path, "--out", model, "--threads", "2"});
  ASSERT_EQ(synth.code, 0) << synth.err;
  std::mt19937 rng(1);
  std::string ids;
  const int T = 600, V = 4096;
  for (int i = 0; i < T; ++i) ids += (i ? "," : "") + std::to_string(rng() % V);
  const double measured =
      child_peak_mb({"logits", "--model", model, "--tokens", ids, "--threads", "2"});
  const auto j = plan_json({"--model", model, "--context", std::to_string(T), "--memory", "16GB"});
  const double planned = (j["total_bytes"].get<double>() + 2.0 * T * V * 4) / 1e6;
  SCOPED_TRACE("measured " + std::to_string(measured) + " MB, planned " + std::to_string(planned) +
               " MB");
  EXPECT_GT(j["text_weight_bytes"].get<double>() / 1e6, 30.0);
  EXPECT_NEAR(planned, measured, 0.10 * measured);
}

// The guard: a prompt whose KV cache cannot fit --memory-limit is refused before it is fed, with
// the plan's numbers; the same run under a sufficient limit goes through. The limit is set from
// the guard's own figure for the model and buffers (its first refusal) plus half the prompt's KV
// cache. That figure includes this process's resident size before loading, which moves by a
// megabyte or so from run to run on some hosts: the trained model's 1 kB/token KV leaves ±1.8 MB
// of room, and a run whose figure moved past it is measured again.
TEST(PlanCli, GuardRefusesARunThatCannotFit) {
  const std::string model = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-qwen35";
  std::string prompt;
  for (int i = 0; i < 900; ++i) prompt += "hello world ";  // ≈ 3,600 tokens: 3.7 MB of f32 KV
  auto run = [&](const std::string& limit) {
    return run_cli({"generate", "--model", model, "--prompt", prompt, "--max-tokens", "8",
                    "--kv-cache", "f32", "--memory-limit", limit});
  };
  auto fixed_mb_of = [](const CliResult& r) {
    const size_t at = r.err.find("model and buffers ");
    return at == std::string::npos ? 0.0 : std::atof(r.err.c_str() + at + 18);
  };
  const CliResult alone = run("1MB");
  test::expect_one_line_error(alone, 2, "the model alone does not fit");
  double fixed_mb = fixed_mb_of(alone);
  ASSERT_GT(fixed_mb, 1.0) << alone.err;
  CliResult refused;
  for (int attempt = 0; attempt < 3; ++attempt) {
    refused = run(std::to_string(static_cast<uint64_t>((fixed_mb + 1.8) * 1e6)));
    if (refused.err.find("the model alone does not fit") == std::string::npos) break;
    fixed_mb = fixed_mb_of(refused);  // the process grew past the margin: use its new figure
  }
  test::expect_one_line_error(refused, 2, "out of memory");
  EXPECT_NE(refused.err.find("tokens fit"), std::string::npos) << refused.err;
  const CliResult fits = run_cli({"generate", "--model", kModel, "--prompt", "hi", "--max-tokens",
                                  "4", "--kv-cache", "f32", "--memory-limit", "16GB", "--quiet"});
  EXPECT_EQ(fits.code, 0) << fits.err;
  test::expect_one_line_error(
      run_cli({"generate", "--model", kModel, "--prompt", "hi", "--memory-limit", "lots"}), 2,
      "--memory-limit");
}

TEST(PlanCli, DraftCountsTheMtpHeadOnAModelThatHasOne) {
  const std::string mtp = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-mtp/copy";
  const nlohmann::json off = plan_json({"--model", mtp, "--context", "1000", "--memory", "1GB"});
  const nlohmann::json on =
      plan_json({"--model", mtp, "--context", "1000", "--memory", "1GB", "--draft", "2"});
  EXPECT_EQ(off.at("draft_tokens"), 0);
  EXPECT_EQ(on.at("draft_tokens"), 2);
  // The head's layer: 2 kv heads × 32 × K and V × 2 bytes (f16) per token.
  EXPECT_EQ(on.at("mtp_kv_bytes_per_token").get<uint64_t>(), 256u);
  EXPECT_EQ(on.at("kv_bytes_per_token").get<uint64_t>(),
            off.at("kv_bytes_per_token").get<uint64_t>() + 256);
  EXPECT_GT(on.at("speculative_bytes_per_sequence").get<uint64_t>(), 0u);
  const CliResult text = run_cli({"plan", "--model", mtp, "--draft", "2", "--memory", "1GB"});
  EXPECT_NE(text.out.find("speculative decoding"), std::string::npos) << text.out;
  // A model without a head: nothing to count.
  EXPECT_EQ(plan_json({"--model", kModel, "--draft", "2"}).at("mtp_kv_bytes_per_token"), 0);
}

TEST(PlanCli, BadInputIsOneLineExitTwo) {
  test::expect_one_line_error(run_cli({"plan", "--model", "/nonexistent/model"}), 2,
                              "/nonexistent/model");
  test::expect_one_line_error(run_cli({"plan", "--model", kModel, "--memory", "12 apples"}), 2,
                              "--memory");
  test::expect_one_line_error(run_cli({"plan", "--model", kConfig35B, "--recipe", "nope"}), 2,
                              "nope");
  test::expect_one_line_error(run_cli({"plan", "--model", kModel, "--kv-bits", "3"}), 2,
                              "--kv-bits");
  // A model whose own config.json is broken is a runtime failure (exit 1), as in every
  // subcommand that reads a model (README "Exit codes").
  const std::string broken = test::fresh_dir("plan-broken");
  test::write_file(broken + "/config.json", "{\"text_config\": ");
  const CliResult r = run_cli({"plan", "--model", broken});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err.find("see --help"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tf
