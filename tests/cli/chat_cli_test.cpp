// `tightfit chat` driven through pipes on the embedded random-weight model: one stats line per
// turn, later turns reuse the cached state, /reset, /thinking, /exit, Ctrl-C (SIGINT) stopping
// an answer but not the program, and two Ctrl-C at the prompt ending it.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "cli_test_support.h"

namespace tf {
namespace {

using test::ChildProcess;
using test::CliResult;
using test::run_cli;

const std::string kModel = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-random";
const std::string kNoEos = "511:-1000,499:-1000";

std::vector<std::string> chat_args(std::vector<std::string> extra) {
  std::vector<std::string> args = {"chat", "--model", kModel, "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

struct TurnStats {
  int prompt = -1, generated = -1, reused = 0;
};

std::vector<TurnStats> turn_stats(const std::string& err) {
  std::vector<TurnStats> turns;
  const std::regex line(
      R"(prompt: (\d+) tokens, [0-9.]+ tok/s \| generation: (\d+) tokens, [^\n]*?(?:reused: (\d+) tokens)?\n)");
  for (auto it = std::sregex_iterator(err.begin(), err.end(), line); it != std::sregex_iterator();
       ++it) {
    TurnStats t;
    t.prompt = std::stoi((*it)[1]);
    t.generated = std::stoi((*it)[2]);
    if ((*it)[3].matched) t.reused = std::stoi((*it)[3]);
    turns.push_back(t);
  }
  return turns;
}

TEST(ChatCli, TurnsReuseStateCommandsWork) {
  const CliResult r = run_cli(chat_args({"--max-tokens", "6", "--seed", "5", "--logit-bias", kNoEos}),
                              "Hello\nTell me more\n/thinking off\nAnd now?\n/reset\nFresh start\n"
                              "/bogus\n/exit\nnever sent\n");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto turns = turn_stats(r.err);
  ASSERT_EQ(turns.size(), 4u) << r.err;
  for (const TurnStats& t : turns) EXPECT_EQ(t.generated, 6);
  // Each turn restores the previous one's prompt up to "<|im_start|>assistant\n": all but the
  // 2 tokens of its "<think>\n" (thinking was on for turns 1 and 2).
  EXPECT_EQ(turns[0].reused, 0);
  EXPECT_EQ(turns[1].reused, turns[0].prompt - 2);
  EXPECT_EQ(turns[2].reused, turns[1].reused + turns[1].prompt - 2);
  EXPECT_EQ(turns[3].reused, 0);  // after /reset
  EXPECT_NE(r.err.find("(thinking off)"), std::string::npos);
  EXPECT_NE(r.err.find("(new conversation)"), std::string::npos);
  EXPECT_NE(r.err.find("unknown command /bogus"), std::string::npos);
  EXPECT_EQ(r.out.find("> "), std::string::npos);  // no prompt when stdin is not a terminal
}

TEST(ChatCli, EndOfInputEndsTheChat) {
  // Seeded, and the end-of-turn token banned: an unseeded draw ends the answer at once now and
  // then (random weights), which would leave nothing to check.
  const CliResult r = run_cli(
      chat_args({"--max-tokens", "3", "--quiet", "--seed", "3", "--logit-bias", kNoEos}),
      "only line");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_EQ(r.err, "");
}

TEST(ChatCli, CtrlCStopsTheAnswerNotTheProgram) {
  ChildProcess chat(chat_args({"--max-tokens", "4000", "--no-loop-guard", "--seed", "1",
                               "--logit-bias", kNoEos}));
  chat.write_stdin("Write forever\n");
  ASSERT_TRUE(chat.read_until("<think>", false, 60)) << chat.err();  // the answer is streaming
  chat.signal_child(SIGINT);
  ASSERT_TRUE(chat.read_until("(answer stopped)", true, 60)) << chat.err();
  const size_t first_answer = chat.out().size();
  chat.write_stdin("/thinking off\nAgain\n");
  ASSERT_TRUE(chat.read_until("(thinking off)", true, 60)) << chat.err();
  ASSERT_TRUE(chat.read_past(first_answer + 1, 60)) << chat.err();  // the second answer streams
  chat.signal_child(SIGINT);  // stop it too
  ASSERT_TRUE(chat.read_until("(answer stopped)", true, 60)) << chat.err();
  chat.write_stdin("/exit\n");
  EXPECT_EQ(chat.finish(), 0) << chat.err();
  const auto turns = turn_stats(chat.err());
  ASSERT_EQ(turns.size(), 2u) << chat.err();
  EXPECT_LT(turns[0].generated, 4000);
  EXPECT_GT(turns[1].reused, 0);
}

TEST(ChatCli, TwoCtrlCAtThePromptExit) {
  ChildProcess chat(chat_args({"--max-tokens", "2"}));
  chat.write_stdin("Hi\n");
  ASSERT_TRUE(chat.read_until("generation: ", true, 60)) << chat.err();
  usleep(200 * 1000);  // back at the prompt
  chat.signal_child(SIGINT);
  ASSERT_TRUE(chat.read_until("Ctrl-C again", true, 60)) << chat.err();
  chat.signal_child(SIGINT);
  EXPECT_EQ(chat.finish(), 0) << chat.err();
}

TEST(ChatCli, BadFlagsExitWithCode2) {
  for (const auto& args :
       {chat_args({"--temp", "-2"}), chat_args({"--thinking", "sometimes"}),
        std::vector<std::string>{"chat", "--model", "/no/such/model"},
        chat_args({"--chat-template-args", "nope"})}) {
    const CliResult r = run_cli(args, "hi\n");
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace tf
