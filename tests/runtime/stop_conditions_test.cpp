// Stop strings across token boundaries, EOS, max tokens and the loop guard.
#include "runtime/stop_conditions.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tf {
namespace {

// Feeds pieces one by one and returns everything printed, plus whether it stopped.
std::pair<std::string, bool> run_filter(StopStringFilter& f, const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) {
    auto r = f.push(p);
    out += r.text;
    if (r.stopped) return {out, true};
  }
  out += f.flush();
  return {out, false};
}

TEST(StopStringFilter, MatchesAcrossPiecesAndNeverPrintsTheStopString) {
  StopStringFilter f({"</answer>"});
  std::string printed;
  for (std::string piece : {"The result", " is 42.</", "ans", "wer> and more"}) {
    auto r = f.push(piece);
    // Nothing printed so far may contain any part of the stop string's start "</".
    printed += r.text;
    EXPECT_EQ(printed.find("</"), std::string::npos) << printed;
    if (r.stopped) break;
  }
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(printed, "The result is 42.");
  EXPECT_EQ(f.matched(), "</answer>");
  EXPECT_TRUE(f.push("more").text.empty());
}

TEST(StopStringFilter, HeldBackTextIsReleasedWhenItCannotBeAStopString) {
  StopStringFilter f({"STOP"});
  auto r = f.push("abc ST");
  EXPECT_EQ(r.text, "abc ");
  EXPECT_EQ(f.held_bytes(), 2u);
  r = f.push("OR");  // "STOR": not a stop string any more
  EXPECT_EQ(r.text, "STOR");
  r = f.push("S");
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(f.flush(), "S");  // ended for another reason: print it
}

TEST(StopStringFilter, EarliestOfSeveralStopStringsWinsAndOverlapsWork) {
  StopStringFilter f({"world", "lo w"});
  auto [out, stopped] = run_filter(f, {"hel", "lo", " wor", "ld"});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, "hel");
  EXPECT_EQ(f.matched(), "lo w");

  // A stop string whose prefix repeats ("aab" inside "aaab").
  StopStringFilter g({"aab"});
  std::tie(out, stopped) = run_filter(g, {"a", "a", "a", "b", "c"});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, "a");

  // Stop string inside a single piece, with text after it dropped.
  StopStringFilter h({"\n\n"});
  std::tie(out, stopped) = run_filter(h, {"one\n\ntwo"});
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, "one");
}

TEST(StopStringFilter, MultiByteCharactersAreNeverSplit) {
  StopStringFilter f({"é!"});
  auto r = f.push("café");  // "é" could start the stop string: held back whole
  EXPECT_EQ(r.text, "caf");
  r = f.push("?");
  EXPECT_EQ(r.text, "é?");
  StopStringFilter none({});
  EXPECT_EQ(none.push("anything").text, "anything");
  EXPECT_THROW(StopStringFilter({"ok", ""}), std::invalid_argument);
}

TEST(StopConditions, EosStopsWithoutPrintingAndReleasesHeldText) {
  StopConfig c;
  c.eos_token_ids = {248046, 248044};
  c.stop_strings = {"###"};
  c.max_tokens = 100;
  StopConditions s(c);
  auto step = s.push(10, "Hi #");
  EXPECT_EQ(step.text, "Hi ");
  EXPECT_EQ(step.stop, StopReason::none);
  step = s.push(248046, "<|im_end|>");
  EXPECT_EQ(step.text, "#");  // the '#' never became "###"
  EXPECT_EQ(step.stop, StopReason::eos);
  EXPECT_EQ(s.reason(), StopReason::eos);
  EXPECT_EQ(s.tokens_seen(), 2);
  EXPECT_TRUE(s.is_eos(248044));
  EXPECT_FALSE(s.is_eos(10));
  EXPECT_EQ(s.push(11, "x").text, "");  // over: nothing more
  EXPECT_STREQ(to_string(StopReason::eos), "eos");
}

TEST(StopConditions, StopStringAndMaxTokens) {
  StopConfig c;
  c.stop_strings = {"User:"};
  c.max_tokens = 100;
  StopConditions s(c);
  std::string out;
  StopReason why = StopReason::none;
  for (auto piece : {"Sure.", "\nUs", "er", ": next"}) {
    auto step = s.push(1, piece);
    out += step.text;
    if ((why = step.stop) != StopReason::none) break;
  }
  EXPECT_EQ(why, StopReason::stop_string);
  EXPECT_EQ(out, "Sure.\n");

  c.stop_strings = {"zzz"};
  c.max_tokens = 3;
  StopConditions m(c);
  EXPECT_EQ(m.push(1, "a").stop, StopReason::none);
  EXPECT_EQ(m.push(2, "b").stop, StopReason::none);
  auto last = m.push(3, "cz");
  EXPECT_EQ(last.stop, StopReason::max_tokens);
  EXPECT_EQ(last.text, "cz");  // held "z" released at the budget
  EXPECT_EQ(m.tokens_seen(), 3);

  c.max_tokens = 0;
  EXPECT_THROW(StopConditions{c}, std::invalid_argument);
}

TEST(LoopGuard, FiresOnARepeatedSingleTokenAfterTheSpan) {
  LoopGuard g;
  int fired_at = -1;
  for (int i = 0; i < 300 && fired_at < 0; ++i) {
    if (g.push(7)) fired_at = i + 1;
  }
  EXPECT_EQ(fired_at, 128);
  EXPECT_EQ(g.period(), 1);
  EXPECT_EQ(g.repeats(), 128);
  EXPECT_NE(g.notice().find("loop"), std::string::npos);
}

TEST(LoopGuard, FiresOnARepeatedSentenceAndNamesItsPeriod) {
  LoopGuard g;
  std::vector<int32_t> sentence{5, 9, 2, 8, 1, 4, 4, 6, 3, 11, 12, 13, 14, 15, 16, 17, 18,
                                19, 20, 21};  // 20 tokens, the 4 4 inside is no loop
  for (int i = 0; i < 30; ++i) g.push(100 + i);  // ordinary text first
  int pushed = 0;
  while (!g.fired() && pushed < 1000) g.push(sentence[pushed++ % sentence.size()]);
  EXPECT_EQ(g.period(), 20);
  EXPECT_EQ(pushed, 140);  // 7 copies = 140 tokens >= min_span 128
}

TEST(LoopGuard, VariedTextAndShortRepeatsDoNotFire) {
  LoopGuard g;
  // A table rule: a 3-token pattern 20 times (60 tokens) is below the span.
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(g.push(1));
    EXPECT_FALSE(g.push(2));
    EXPECT_FALSE(g.push(3));
  }
  // Long varied text: a pseudo-random stream over a small alphabet never repeats 4x128.
  uint32_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    x = x * 1664525u + 1013904223u;
    ASSERT_FALSE(g.push(static_cast<int32_t>((x >> 16) % 50))) << "at " << i;
  }
  // A period longer than max_period is not looked for.
  LoopGuardConfig small;
  small.max_period = 4;
  small.min_span = 8;
  LoopGuard s(small);
  for (int r = 0; r < 10; ++r) {
    for (int t = 0; t < 5; ++t) EXPECT_FALSE(s.push(t));
  }
  LoopGuardConfig off;
  off.enabled = false;
  LoopGuard disabled(off);
  for (int i = 0; i < 500; ++i) EXPECT_FALSE(disabled.push(1));
}

TEST(StopConditions, LoopGuardStopsWithANotice) {
  StopConfig c;
  c.max_tokens = 1000;
  c.loop_guard.min_span = 16;
  StopConditions s(c);
  StopReason why = StopReason::none;
  int n = 0;
  while (why == StopReason::none && n < 1000) why = s.push(n++ % 2, "ab").stop;
  EXPECT_EQ(why, StopReason::repetition_loop);
  EXPECT_EQ(n, 16);
  EXPECT_NE(s.notice().find("2-token sequence"), std::string::npos) << s.notice();
}

}  // namespace
}  // namespace tf
