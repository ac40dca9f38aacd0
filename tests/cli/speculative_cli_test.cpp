// Speculative decoding on the command line: `--draft N` prints the plain greedy output and a
// stats line with the drafts per position (generate and chat); `--draft 0` and `--no-spec` print
// the plain output without it; `draft-vocab` writes the list `--draft-vocab N` drafts over;
// `--draft` on a model without an MTP head, with --no-spec, or negative is refused, and so is
// `--draft-vocab` without its list; `bench --spec-accept` needs a head and runs on one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_test_support.h"

namespace tf {
namespace {

namespace fs = std::filesystem;
using test::CliResult;
using test::run_cli;

const std::string kData = std::string(TIGHTFIT_TEST_DATA);
const std::string kTinyRandom = kData + "/../../models/tiny-random";

// The MTP fixture's "copy" weights with the tiny 512-id tokenizer of models/tiny-random.
std::string mtp_model() {
  const std::string dir = test::fresh_dir("speculative-cli-model");
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(kData + "/tiny-qwen35moe-mtp/copy/" + f, dir + "/" + f);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    fs::copy_file(fs::canonical(kTinyRandom + "/" + f), dir + "/" + f);
  return dir;
}

// `generate` of a fixed raw prompt, greedy, 40 tokens, with `extra` flags added.
CliResult greedy_generate(const std::string& model, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"generate", "--model", model, "--threads", "1", "--prompt",
                                   "hello there", "--raw", "--temp", "0", "--max-tokens", "40"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args);
}

TEST(SpeculativeCli, DraftZeroAndNoSpecPrintThePlainOutput) {
  const std::string model = mtp_model();
  auto with = [&](const std::vector<std::string>& extra) { return greedy_generate(model, extra); };
  const CliResult plain = with({});
  const CliResult no_spec = with({"--no-spec"});
  const CliResult zero = with({"--draft", "0"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(no_spec.code, 0) << no_spec.err;
  ASSERT_EQ(zero.code, 0) << zero.err;
  EXPECT_FALSE(plain.out.empty());
  EXPECT_EQ(no_spec.out, plain.out);
  EXPECT_EQ(zero.out, plain.out);
  EXPECT_EQ(plain.err.find("drafts: "), std::string::npos) << plain.err;
}

TEST(SpeculativeCli, DraftPrintsThePlainOutputAndTheDraftStats) {
  const std::string model = mtp_model();
  auto with = [&](const std::vector<std::string>& extra) { return greedy_generate(model, extra); };
  const CliResult plain = with({"--no-spec"});
  const CliResult spec = with({"--draft", "3"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(spec.code, 0) << spec.err;
  EXPECT_EQ(spec.out, plain.out);
  // The stats line: "drafts: N proposed, M accepted (x %; by position a % b % c %), t tokens/step".
  EXPECT_NE(spec.err.find("drafts: "), std::string::npos) << spec.err;
  EXPECT_NE(spec.err.find("by position"), std::string::npos) << spec.err;
  EXPECT_NE(spec.err.find("tokens/step"), std::string::npos) << spec.err;

  // chat speculates every turn.
  const CliResult chat = run_cli({"chat", "--model", model, "--threads", "1", "--max-tokens",
                                  "6", "--temp", "0", "--draft", "2"},
                                 "hello\n");
  EXPECT_EQ(chat.code, 0) << chat.err;
  EXPECT_NE(chat.err.find("drafts: "), std::string::npos) << chat.err;

  // `draft-vocab` builds the list that `--draft-vocab` drafts over; the output is unchanged.
  const std::string corpus = model + "/corpus.txt";
  std::ofstream(corpus) << "hello there, general kenobi\n\nthe quick brown fox\n";
  const CliResult built = run_cli({"draft-vocab", "--model", model, "--corpus", corpus,
                                   "--size", "64"});
  ASSERT_EQ(built.code, 0) << built.err;
  EXPECT_TRUE(fs::exists(model + "/draft_vocab.txt"));
  const CliResult reduced = with({"--draft", "2", "--draft-vocab", "64"});
  ASSERT_EQ(reduced.code, 0) << reduced.err;
  EXPECT_EQ(reduced.out, plain.out);
}

TEST(SpeculativeCli, BadCombinationsAreRefused) {
  const std::string model = mtp_model();
  const CliResult no_head = run_cli({"generate", "--model", kTinyRandom, "--prompt", "x",
                                     "--draft", "2"});
  EXPECT_EQ(no_head.code, 2);
  EXPECT_NE(no_head.err.find("no multi-token-prediction head"), std::string::npos) << no_head.err;
  const CliResult both = run_cli({"generate", "--model", model, "--prompt", "x", "--draft", "2",
                                  "--no-spec"});
  EXPECT_EQ(both.code, 2);
  const CliResult negative = run_cli({"generate", "--model", model, "--prompt", "x", "--draft",
                                      "-1"});
  EXPECT_EQ(negative.code, 2);
  const CliResult no_list = run_cli({"generate", "--model", model, "--prompt", "x", "--draft",
                                     "2", "--draft-vocab", "10"});
  EXPECT_EQ(no_list.code, 2);
  EXPECT_NE(no_list.err.find("--draft-vocab: "), std::string::npos) << no_list.err;
  EXPECT_NE(no_list.err.find("tightfit draft-vocab"), std::string::npos) << no_list.err;
  const CliResult vocab_alone = run_cli({"generate", "--model", model, "--prompt", "x",
                                         "--draft-vocab", "10"});
  EXPECT_EQ(vocab_alone.code, 2);
  EXPECT_NE(vocab_alone.err.find("needs --draft"), std::string::npos) << vocab_alone.err;
  const CliResult empty_corpus = run_cli({"draft-vocab", "--model", model, "--corpus",
                                          model + "/missing.txt"});
  EXPECT_EQ(empty_corpus.code, 2);
  const CliResult bench = run_cli({"bench", "-m", kData + "/tiny-qwen35moe-a", "-p", "0", "-n",
                                   "2", "-d", "0", "-r", "1", "--bandwidth-mb", "16",
                                   "--no-warm", "--spec-accept", "0.8"});
  EXPECT_NE(bench.code, 0);
  EXPECT_NE(bench.err.find("MTP head"), std::string::npos) << bench.err;
  const CliResult rate = run_cli({"bench", "-m", model, "--spec-accept", "1.5"});
  EXPECT_EQ(rate.code, 2);
}

TEST(SpeculativeCli, BenchSpecAcceptRunsOnAModelWithAHead) {
  const std::string model = mtp_model();
  // Two repetitions: one paired with a plain run before it, one with a plain run after it.
  const CliResult b = run_cli({"bench", "-m", model, "-p", "0", "-n", "8", "-d", "0", "-r", "2",
                               "--bandwidth-mb", "16", "--no-warm", "--spec-accept", "0.5",
                               "--spec-draft", "2"});
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(b.out.find("spec k=2 a=0.50"), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("× plain"), std::string::npos) << b.out;
  EXPECT_EQ(b.out.find("| 0.00× plain"), std::string::npos) << b.out;  // a ratio was measured
}

}  // namespace
}  // namespace tf
