// Reasoning / answer split of streamed output, tags cut anywhere.
#include "runtime/reasoning_split.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tf {
namespace {

struct Shown {
  std::string reasoning;
  std::string answer;
  std::string order;  // channel sequence, e.g. "RA"
};

void collect(const std::vector<TextPiece>& pieces, Shown& s) {
  for (const auto& p : pieces) {
    EXPECT_FALSE(p.text.empty());
    const char c = p.channel == TextChannel::reasoning ? 'R' : 'A';
    if (s.order.empty() || s.order.back() != c) s.order += c;
    (p.channel == TextChannel::reasoning ? s.reasoning : s.answer) += p.text;
  }
}

Shown run(ReasoningSplitter& split, const std::vector<std::string>& chunks) {
  Shown s;
  for (const auto& c : chunks) collect(split.push(c), s);
  collect(split.finish(), s);
  return s;
}

// Every way of cutting `text` into two chunks gives the same result as one chunk.
void expect_split_invariant(const ReasoningSplitConfig& config, const std::string& text,
                            const std::string& reasoning, const std::string& answer) {
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    ReasoningSplitter split(config);
    auto s = run(split, {text.substr(0, cut), text.substr(cut)});
    EXPECT_EQ(s.reasoning, config.show_reasoning ? reasoning : "") << "cut at " << cut;
    EXPECT_EQ(s.answer, answer) << "cut at " << cut;
    EXPECT_EQ(split.reasoning(), reasoning) << "cut at " << cut;
    EXPECT_EQ(split.answer(), answer) << "cut at " << cut;
  }
}

TEST(ReasoningSplit, PromptThatOpenedThinkStartsInsideTheReasoning) {
  const std::string prompt = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n";
  ReasoningSplitConfig c;
  c.starts_in_reasoning = prompt_opens_reasoning(prompt);
  EXPECT_TRUE(c.starts_in_reasoning);
  ReasoningSplitter split(c);
  EXPECT_TRUE(split.in_reasoning());
  auto s = run(split, {"The user", " greets.\n\nSay hi.", "\n</th", "ink>\n\n", "Hello!"});
  EXPECT_EQ(s.reasoning, "The user greets.\n\nSay hi.");
  EXPECT_EQ(s.answer, "Hello!");
  EXPECT_EQ(s.order, "RA");
  EXPECT_FALSE(split.in_reasoning());
  expect_split_invariant(c, "Think.\n</think>\n\nAnswer.", "Think.", "Answer.");
}

TEST(ReasoningSplit, ThinkingOffPromptGivesOnlyAnswer) {
  const std::string prompt = "<|im_start|>assistant\n<think>\n\n</think>\n\n";
  EXPECT_FALSE(prompt_opens_reasoning(prompt));
  EXPECT_FALSE(prompt_opens_reasoning("no tags at all"));
  ReasoningSplitConfig c;
  ReasoningSplitter split(c);
  auto s = run(split, {"Hello", " there. A <think> tag", " in an answer stays."});
  EXPECT_EQ(s.answer, "Hello there. A <think> tag in an answer stays.");
  EXPECT_EQ(s.reasoning, "");
  EXPECT_EQ(s.order, "A");
}

TEST(ReasoningSplit, OutputThatOpensItsOwnBlockIsSplitAtAnyCut) {
  ReasoningSplitConfig c;  // --raw: no block opened by the prompt
  expect_split_invariant(c, "<think>\nplan\n</think>\n\nresult", "plan", "result");
  expect_split_invariant(c, "\n<think>a</think>b", "a", "b");
  // Not a tag after all: "<thing>" is answer text, released whole.
  expect_split_invariant(c, "<thing> is not a tag", "", "<thing> is not a tag");
  // A second block after the answer started is plain text.
  expect_split_invariant(c, "<think>x</think>y<think>z</think>", "x", "y<think>z</think>");
}

TEST(ReasoningSplit, NewlinesAroundTagsAreDroppedButInnerOnesKept) {
  ReasoningSplitConfig c;
  c.starts_in_reasoning = true;
  expect_split_invariant(c, "\n\nstep 1\n\nstep 2\n\n\n</think>\n\n\nfinal\n", "step 1\n\nstep 2",
                         "final\n");
  // The held newlines are printed once more reasoning follows.
  ReasoningSplitter split(c);
  Shown s;
  collect(split.push("a\n\n"), s);
  EXPECT_EQ(s.reasoning, "a");
  collect(split.push("b"), s);
  EXPECT_EQ(s.reasoning, "a\n\nb");
}

TEST(ReasoningSplit, HideThinkingShowsOnlyTheAnswerButKeepsTheReasoning) {
  ReasoningSplitConfig c;
  c.starts_in_reasoning = true;
  c.show_reasoning = false;
  expect_split_invariant(c, "secret plan\n</think>\n\nvisible", "secret plan", "visible");
  ReasoningSplitter split(c);
  auto s = run(split, {"secret", " plan"});  // never closed: nothing shown
  EXPECT_EQ(s.answer, "");
  EXPECT_EQ(s.reasoning, "");
  EXPECT_EQ(split.reasoning(), "secret plan");
}

TEST(ReasoningSplit, UnfinishedTagAtTheEndIsReleasedAsText) {
  ReasoningSplitConfig c;
  c.starts_in_reasoning = true;
  ReasoningSplitter split(c);
  Shown s;
  collect(split.push("almost </thi"), s);
  EXPECT_EQ(s.reasoning, "almost ");
  collect(split.finish(), s);
  EXPECT_EQ(s.reasoning, "almost </thi");
  EXPECT_TRUE(split.in_reasoning());

  ReasoningSplitter raw{ReasoningSplitConfig{}};
  Shown t;
  collect(raw.push("<thi"), t);
  EXPECT_EQ(t.answer, "");  // undecided
  collect(raw.finish(), t);
  EXPECT_EQ(t.answer, "<thi");
}

TEST(ReasoningSplit, OneChunkCanHoldBothChannelsInOrder) {
  ReasoningSplitConfig c;
  c.starts_in_reasoning = true;
  ReasoningSplitter split(c);
  auto pieces = split.push("r1 r2</think>\n\na1 a2");
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].channel, TextChannel::reasoning);
  EXPECT_EQ(pieces[0].text, "r1 r2");
  EXPECT_EQ(pieces[1].channel, TextChannel::answer);
  EXPECT_EQ(pieces[1].text, "a1 a2");
  ReasoningSplitConfig bad;
  bad.close_tag = "";
  EXPECT_THROW(ReasoningSplitter{bad}, std::invalid_argument);
}

}  // namespace
}  // namespace tf
