// `tightfit eval` end to end on models/tiny-random: ppl, kld (live, saved and reloaded logits,
// a damaged file), mc on every task's shipped items, lang on the shipped prompt sets, compare,
// Ctrl-C's partial result and exit 130, and the usage / bad-input exit codes.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_test_support.h"
#include "tightfit/eval.h"

namespace tf {
namespace {

using nlohmann::json;
using test::CliResult;
using test::run_cli;

const std::string kRoot = std::string(TIGHTFIT_TEST_DATA) + "/../..";
const std::string kModel = kRoot + "/models/tiny-random";
const std::string kText = std::string(TIGHTFIT_TEST_DATA) + "/eval/ppl.txt";

json read_json(const std::string& path) { return json::parse(test::read_file(path)); }

TEST(EvalCli, PerplexityPrintsAndWritesTheResult) {
  const std::string out = test::scratch("ppl.json");
  const CliResult r = run_cli({"eval", "ppl", "--model", kModel, "--text", kText, "--ctx", "64", "--threads", "1",
                               "--json", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("perplexity: ppl "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("scoring: "), std::string::npos) << r.err;  // plain progress lines off a terminal
  const json j = read_json(out);
  EXPECT_EQ(j["eval"], "ppl");
  EXPECT_EQ(j["label"], "tiny-random");
  EXPECT_EQ(j["complete"], true);
  EXPECT_EQ(j["data"]["sha256"], tightfit::eval::sha256_hex(test::read_file(kText)));
  EXPECT_EQ(j["settings"]["stride"], 32);
  EXPECT_GT(j["model"]["bits_per_weight"].get<double>(), 15.9);  // bf16
  const double ppl = j["results"]["ppl"];
  EXPECT_GT(ppl, 1);
  EXPECT_NEAR(j["results"]["ppl_low95"].get<double>() + j["results"]["ppl_high95"].get<double>(), 2 * ppl, 1e-6 * ppl);
}

TEST(EvalCli, PerplexityBadInput) {
  test::expect_one_line_error(run_cli({"eval", "ppl", "--model", kModel, "--text", "/nonexistent/t.txt"}), 2,
                              "cannot read");
  const std::string one = test::write_file(test::scratch("one.txt"), "a");
  test::expect_one_line_error(run_cli({"eval", "ppl", "--model", kModel, "--text", one}), 2, "at least 2");
  test::expect_one_line_error(run_cli({"eval", "ppl", "--model", kModel, "--text", kText, "--ctx", "8",
                                       "--stride", "9"}),
                              2, "stride");
  EXPECT_EQ(run_cli({"eval", "ppl", "--model", kModel}).code, 2);  // --text is required
}

TEST(EvalCli, KldAgainstItselfLiveAndFromSavedLogits) {
  const std::string saved = test::scratch("ref.tftopk"), live = test::scratch("live.json"),
                    again = test::scratch("again.json");
  const CliResult a = run_cli({"eval", "kld", "--model", kModel, "--reference", kModel, "--text", kText, "--ctx",
                               "64", "--save-logits", saved, "--json", live, "--threads", "1"});
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_NE(a.out.find("same top p      100.000 %"), std::string::npos) << a.out;
  const CliResult b = run_cli({"eval", "kld", "--model", kModel, "--reference-logits", saved, "--json", again,
                               "--threads", "1"});
  ASSERT_EQ(b.code, 0) << b.err;
  const json x = read_json(live), y = read_json(again);
  EXPECT_NEAR(x["results"]["kld_mean"].get<double>(), 0, 1e-5);
  EXPECT_EQ(x["results"]["same_top"], 1.0);
  EXPECT_EQ(x["results"]["tokens_scored"], y["results"]["tokens_scored"]);
  EXPECT_EQ(x["data"]["sha256"], y["data"]["sha256"]);  // the same tokens
  EXPECT_NEAR(x["results"]["model"]["ppl"].get<double>(), y["results"]["model"]["ppl"].get<double>(), 1e-9);

  // A damaged copy is refused before the model loads.
  std::string bytes = test::read_file(saved);
  const std::string cut = test::write_file(test::scratch("cut.tftopk"), bytes.substr(0, bytes.size() / 2));
  test::expect_one_line_error(run_cli({"eval", "kld", "--model", kModel, "--reference-logits", cut}), 2, "truncated");
  bytes[bytes.size() / 2] ^= 1;
  const std::string flipped = test::write_file(test::scratch("flip.tftopk"), bytes);
  test::expect_one_line_error(run_cli({"eval", "kld", "--model", kModel, "--reference-logits", flipped}), 2,
                              "checksum");

  // --kv-bits sets the KV cache of the model under test (the reference keeps f16): a 2-bit cache
  // diverges, and the result says which cache it measured.
  const std::string q2 = test::scratch("q2.json");
  const CliResult c = run_cli({"eval", "kld", "--model", kModel, "--reference-logits", saved, "--kv-bits", "2",
                               "--json", q2, "--threads", "1"});
  ASSERT_EQ(c.code, 0) << c.err;
  const json z = read_json(q2);
  EXPECT_GT(z["results"]["kld_mean"].get<double>(), 1e-5);
  EXPECT_EQ(z["model"]["kv_type"], "q2") << z.dump();
  test::expect_one_line_error(run_cli({"eval", "kld", "--model", kModel, "--reference-logits", saved, "--kv-bits",
                                       "3"}),
                              2, "--kv-bits");
}

TEST(EvalCli, KldUsageErrors) {
  EXPECT_EQ(run_cli({"eval", "kld", "--model", kModel, "--text", kText}).code, 2);  // no reference
  EXPECT_EQ(run_cli({"eval", "kld", "--model", kModel, "--reference", kModel}).code, 2);  // no text
  EXPECT_EQ(run_cli({"eval", "kld", "--reference", kModel, "--text", kText}).code, 2);  // nothing to do
}

TEST(EvalCli, MultipleChoiceOnEveryShippedTask) {
  for (const std::string task : {"arc", "hellaswag", "winogrande", "mmlu", "truthfulqa-mc2"}) {
    const std::string out = test::scratch(task + ".json");
    const CliResult r = run_cli({"eval", "mc", "--model", kModel, "--task", task, "--data",
                                 kRoot + "/data/eval/" + task + ".jsonl", "--json", out, "--threads", "1"});
    ASSERT_EQ(r.code, 0) << task << ": " << r.err;
    EXPECT_NE(r.out.find(task + ": "), std::string::npos) << r.out;
    const json j = read_json(out);
    EXPECT_EQ(j["results"]["task"], task);
    EXPECT_GE(j["results"]["items"].get<int>(), 2);
    EXPECT_GE(j["results"]["acc"].get<double>(), 0);
    EXPECT_LE(j["results"]["acc"].get<double>(), 1);
  }
}

// The trained model's facts asked in its own format (--task custom): it knows most of them,
// and the role-based 2.86-bit conversion keeps most where uniform 2-bit loses about half
// (README, "Evaluate a model or a conversion": 87.8 / 83.3 %; uniform-2 43.3 %).
TEST(EvalCli, TrainedModelRecallsItsFactsAndDynamicKeepsThem) {
  for (const auto& [model, least] : {std::pair<std::string, double>{"tiny-qwen35", 0.8},
                                     {"tiny-qwen35-dynamic", 0.75}}) {
    const std::string out = test::scratch(model + "-facts.json");
    const CliResult r = run_cli({"eval", "mc", "--model", kRoot + "/models/" + model, "--task", "custom",
                                 "--data", kRoot + "/data/eval/tiny-qwen35-facts.jsonl", "--json", out});
    ASSERT_EQ(r.code, 0) << model << ": " << r.err;
    const json j = read_json(out);
    EXPECT_EQ(j["results"]["task"], "custom");
    EXPECT_EQ(j["results"]["items"].get<int>(), 90);
    EXPECT_GE(j["results"]["acc"].get<double>(), least) << model;
  }
}

TEST(EvalCli, MultipleChoiceBadLineNamesFileAndLine) {
  const std::string data = test::write_file(
      test::scratch("bad.jsonl"),
      test::read_file(kRoot + "/data/eval/arc.jsonl") + "{\"question\": \"q\", \"choices\": {\"text\": [\"a\"]}}\n");
  test::expect_one_line_error(run_cli({"eval", "mc", "--model", kModel, "--task", "arc", "--data", data}), 2,
                              "bad.jsonl:4: field \"choices.label\" is missing");
  EXPECT_EQ(run_cli({"eval", "mc", "--model", kModel, "--task", "boolq", "--data", data}).code, 2);
}

TEST(EvalCli, LangTableAndFailures) {
  const std::string out = test::scratch("lang.json");
  const CliResult r = run_cli({"eval", "lang", "--model", kModel, "--prompts", kRoot + "/data/eval/lang-ko.txt",
                               "--expect", "ko", "--max-tokens", "6", "--json", out, "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("/20, foreign "), std::string::npos) << r.out;
  const json j = read_json(out);
  EXPECT_EQ(j["results"]["prompts"], 20);
  // Random weights: the answers are gibberish, so failures are listed with their answers.
  EXPECT_EQ(j["results"]["failures"].size(), 20u - j["results"]["ok"].get<size_t>());
}

TEST(EvalCli, CompareMakesOneTable) {
  const std::string ppl = test::scratch("c-ppl.json"), mc = test::scratch("c-mc.json");
  ASSERT_EQ(run_cli({"eval", "ppl", "--model", kModel, "--text", kText, "--ctx", "64", "--json", ppl, "--label",
                     "bf16"}).code, 0);
  ASSERT_EQ(run_cli({"eval", "mc", "--model", kModel, "--task", "arc", "--data", kRoot + "/data/eval/arc.jsonl",
                     "--json", mc, "--label", "bf16"}).code, 0);
  const CliResult r = run_cli({"eval", "compare", ppl, mc});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("| model | bpw | size | ppl | KLD | same top | arc | lang OK |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| bf16 | 16.00 |"), std::string::npos) << r.out;
  const std::string bad = test::write_file(test::scratch("bad.json"), "{\"x\": 1}");
  test::expect_one_line_error(run_cli({"eval", "compare", bad}), 2, "not a tightfit eval result");
}

TEST(EvalCli, CompareRunsTheEvalsOverSeveralModels) {
  const std::string copy = test::fresh_dir("models") + "/tiny-random";
  std::filesystem::create_directory_symlink(std::filesystem::absolute(kModel), copy);
  const std::string dir = test::fresh_dir("docs");
  const CliResult r = run_cli({"eval", "compare", "--models", kModel, copy, "--text", kText, "--reference", kModel,
                               "--task", "arc", "--data", kRoot + "/data/eval/arc.jsonl", "--ctx", "64",
                               "--json-dir", dir, "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  // Two rows (the same folder name: labelled by path), each with ppl, KLD 0 and arc.
  EXPECT_NE(r.out.find("| " + kModel + " | 16.00 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| " + copy + " | 16.00 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| 0.0000 | 100.0 % | 33.3 / 33.3 |"), std::string::npos) << r.out;
  int documents = 0;
  for ([[maybe_unused]] const auto& f : std::filesystem::directory_iterator(dir)) ++documents;
  EXPECT_EQ(documents, 6);
  EXPECT_EQ(run_cli({"eval", "compare", "--models", kModel}).code, 2);  // nothing to run
  EXPECT_EQ(run_cli({"eval", "compare"}).code, 2);                       // neither files nor models
}

TEST(EvalCli, CtrlCPrintsThePartialResultAndExits130) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += test::read_file(kText);
  const std::string long_text = test::write_file(test::scratch("long.txt"), text);
  test::ChildProcess child({"eval", "ppl", "--model", kModel, "--text", long_text, "--ctx", "64", "--stride", "4", "--threads", "1"});
  ASSERT_TRUE(child.read_until("scoring: ", /*on_stderr=*/true, 60)) << child.err();
  ASSERT_TRUE(child.read_until("(10%)", /*on_stderr=*/true, 120)) << child.err();
  child.signal_child(SIGINT);
  EXPECT_EQ(child.finish(), 130) << child.err();
  EXPECT_NE(child.out().find("perplexity: ppl "), std::string::npos) << child.out();
  EXPECT_NE(child.err().find("interrupted: the result above covers"), std::string::npos) << child.err();
}

}  // namespace
}  // namespace tf
