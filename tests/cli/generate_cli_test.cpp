// `tightfit generate` end to end on the embedded random-weight model (models/tiny-random):
// token budgets, EOS, stop strings, loop guard, seeds, the thinking split, stdin prompts, the
// stats line and every usage error's exit code.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>
#include <string>
#include <vector>

#include "cli_test_support.h"

namespace tf {
namespace {

using test::CliResult;
using test::run_cli;

const std::string kModel = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-random";
// Token ids of the tiny tokenizer (scripts/make_tiny_tokenizer.py).
const std::string kNoEos = "511:-1000,499:-1000";

CliResult generate(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), {"generate", "--model", kModel, "--threads", "1"});
  return run_cli(args, input);
}

// "generation: N tokens" from the stats line; -1 when absent.
int generated_tokens(const std::string& err) {
  std::smatch m;
  if (!std::regex_search(err, m, std::regex(R"(generation: (\d+) tokens, [0-9.]+ tok/s)")))
    return -1;
  return std::stoi(m[1]);
}

int line_count(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(GenerateCli, ReadmeCommandStreamsTextAndPrintsOneStatsLine) {
  const CliResult r = generate({"--prompt", "Hello", "--max-tokens", "16", "--seed", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  const int n = generated_tokens(r.err);
  EXPECT_GE(n, 1) << r.err;
  EXPECT_LE(n, 16);
  EXPECT_EQ(line_count(r.err), 1) << r.err;
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex(R"(^prompt: \d+ tokens, [0-9.]+ tok/s \| generation: \d+ tokens, [0-9.]+ )"
                        R"(tok/s \| peak memory: [0-9.]+ [kMG]?B\n$)")))
      << r.err;
}

TEST(GenerateCli, MaxTokensAndDeterminismWithASeed) {
  const std::vector<std::string> args = {"--prompt", "Hi", "--max-tokens", "20", "--seed", "42",
                                         "--logit-bias", kNoEos};
  const CliResult a = generate(args), b = generate(args);
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(generated_tokens(a.err), 20);
  EXPECT_EQ(a.out, b.out);
  std::vector<std::string> other = args;
  other[5] = "43";
  EXPECT_NE(generate(other).out, a.out);
  // --temp 0 is greedy: no seed needed for the same output.
  const std::vector<std::string> greedy = {"--prompt", "Hi", "--max-tokens", "10", "--temp", "0",
                                           "--logit-bias", kNoEos};
  EXPECT_EQ(generate(greedy).out, generate(greedy).out);
}

TEST(GenerateCli, EosEndsTheAnswerAtOnce) {
  const CliResult r = generate({"--prompt", "Hi", "--logit-bias", "511:1000"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(generated_tokens(r.err), 1);
  EXPECT_EQ(r.out, "");
}

TEST(GenerateCli, StopStringIsNotPrinted) {
  // Greedy, no think tags, --raw: stdout is exactly the generated text.
  const std::vector<std::string> base = {"--prompt", "Once upon a time", "--raw", "--temp", "0",
                                         "--max-tokens", "40", "--logit-bias",
                                         kNoEos + ",509:-1000,510:-1000"};
  const CliResult full = generate(base);
  ASSERT_EQ(full.code, 0) << full.err;
  ASSERT_GE(full.out.size(), 21u);
  const std::string stop = full.out.substr(full.out.size() / 2, 3);
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--stop", "zzzz", "--stop", stop});
  const CliResult cut = generate(args);
  ASSERT_EQ(cut.code, 0) << cut.err;
  std::string expected = full.out.substr(0, full.out.find(stop));
  if (expected.empty() || expected.back() != '\n') expected += '\n';  // the closing newline
  EXPECT_EQ(cut.out, expected);
  EXPECT_LT(generated_tokens(cut.err), 40);
}

TEST(GenerateCli, LoopGuardStopsWithANotice) {
  const CliResult r = generate({"--prompt", "Hi", "--max-tokens", "1000", "--logit-bias",
                                kNoEos + ",64:1000", "--hide-thinking"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(generated_tokens(r.err), 128);
  EXPECT_NE(r.err.find("stuck in a loop"), std::string::npos) << r.err;
  const CliResult off = generate({"--prompt", "Hi", "--max-tokens", "150", "--logit-bias",
                                  kNoEos + ",64:1000", "--no-loop-guard"});
  EXPECT_EQ(generated_tokens(off.err), 150) << off.err;
}

// Piped output marks the reasoning with the model's own tags; --hide-thinking prints only
// what follows "</think>".
TEST(GenerateCli, ThinkingSplitAndHideThinking) {
  std::vector<std::string> args = {"--prompt", "Why?", "--max-tokens", "48", "--seed", "",
                                   "--temp", "1", "--logit-bias", kNoEos + ",509:-1000,510:3"};
  // The first seed whose output has reasoning, then "</think>", then an answer.
  CliResult shown;
  size_t close = std::string::npos;
  for (int seed = 1; seed <= 20 && close == std::string::npos; ++seed) {
    args[5] = std::to_string(seed);
    shown = generate(args);
    ASSERT_EQ(shown.code, 0) << shown.err;
    close = shown.out.find("\n</think>\n\n");
    if (close != std::string::npos && close + 11 == shown.out.size()) close = std::string::npos;
  }
  ASSERT_NE(close, std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.rfind("<think>\n", 0), 0u) << shown.out;  // starts in the reasoning
  std::vector<std::string> hide = args;
  hide.push_back("--hide-thinking");
  const CliResult hidden = generate(hide);
  ASSERT_EQ(hidden.code, 0) << hidden.err;
  EXPECT_EQ(hidden.out, shown.out.substr(close + 11));
  EXPECT_EQ(hidden.out.find("<think>\n"), std::string::npos);

  // Thinking off: the template closes the block, the output is all answer.
  std::vector<std::string> off = args;
  off.insert(off.end(), {"--thinking", "off"});
  const CliResult no_think = generate(off);
  ASSERT_EQ(no_think.code, 0) << no_think.err;
  EXPECT_NE(no_think.out.rfind("<think>\n", 0), 0u) << no_think.out;
}

TEST(GenerateCli, PromptFromStdinAndVerbose) {
  const std::vector<std::string> args = {"--prompt", "-", "--max-tokens", "5", "--temp", "0",
                                         "--logit-bias", kNoEos, "--verbose"};
  const CliResult piped = generate(args, "Hello from stdin");
  ASSERT_EQ(piped.code, 0) << piped.err;
  const CliResult direct = generate({"--prompt", "Hello from stdin", "--max-tokens", "5",
                                     "--temp", "0", "--logit-bias", kNoEos});
  EXPECT_EQ(piped.out, direct.out);
  EXPECT_NE(piped.err.find("sampling: temp 0"), std::string::npos) << piped.err;
  EXPECT_NE(piped.err.find("stop: max tokens"), std::string::npos) << piped.err;
  const CliResult quiet = generate({"--prompt", "x", "--max-tokens", "2", "--quiet"});
  EXPECT_EQ(quiet.err, "");
}

struct BadFlags {
  std::vector<std::string> args;
  std::string message;  // part of the one error line
};

TEST(GenerateCli, CtrlCThatCutsTheAnswerExitsWith130) {
  test::ChildProcess child({"generate", "--model", kModel, "--threads", "1", "--prompt", "Write forever",
                            "--max-tokens", "4000", "--no-loop-guard", "--seed", "1", "--logit-bias", kNoEos});
  ASSERT_TRUE(child.read_past(0, 60)) << child.err();  // the answer is streaming
  child.signal_child(SIGINT);
  EXPECT_EQ(child.finish(), 130) << child.err();
  EXPECT_NE(child.err().find("tightfit: interrupted"), std::string::npos) << child.err();
  EXPECT_LT(generated_tokens(child.err()), 4000) << child.err();
}

TEST(GenerateCli, UsageErrorsExitWithCode2AndOneLine) {
  const std::string no_tokenizer = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a";
  const std::vector<BadFlags> cases = {
      {{"generate", "--model", "/no/such/model", "--prompt", "x"}, "no such folder"},
      {{"generate", "--model", no_tokenizer, "--prompt", "x"}, "tokenizer.json"},
      {{"generate", "--model", kModel}, "--prompt"},
      {{"generate", "--model", kModel, "--prompt", "x", "--image", "cat.png"}, "cat.png"},
      {{"generate", "--model", kModel, "--prompt", "x", "--temp", "-1"}, "--temp"},
      {{"generate", "--model", kModel, "--prompt", "x", "--top-p", "2"}, "--top-p"},
      {{"generate", "--model", kModel, "--prompt", "x", "--temp", "hot"}, "--temp"},
      {{"generate", "--model", kModel, "--prompt", "x", "--max-tokens", "0"}, "--max-tokens"},
      {{"generate", "--model", kModel, "--prompt", "x", "--logit-bias", "5"}, "--logit-bias"},
      {{"generate", "--model", kModel, "--prompt", "x", "--logit-bias", "9999:1"}, "9999"},
      {{"generate", "--model", kModel, "--prompt", "x", "--thinking", "maybe"}, "--thinking"},
      {{"generate", "--model", kModel, "--prompt", "x", "--chat-template-args", "{bad"},
       "--chat-template-args"},
      {{"generate", "--model", kModel, "--prompt", "x", "--chat-template-args", "[1]"},
       "JSON object"},
      {{"generate", "--model", kModel, "--prompt", "x", "--raw", "--system", "s"}, "--raw"},
      {{"generate", "--model", kModel, "--prompt", "x", "--stop", ""}, "--stop"},
      {{"generate", "--model", kModel, "--prompt", "x", "--no-such-flag"}, "--no-such-flag"},
      {{"generate", "--model", kModel, "--prompt", "", "--raw"}, "empty"},
  };
  for (const BadFlags& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    SCOPED_TRACE(joined);
    const CliResult r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(line_count(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
}  // namespace tf
