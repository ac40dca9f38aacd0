#include "server/output_stream.h"

#include <gtest/gtest.h>

#include "server/fake_engine.h"

namespace tf::server {
namespace {

using testing::answer;
using testing::reasoning;

nlohmann::json one_tool() {
  return nlohmann::json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
}

std::vector<OutputDelta> run(OutputSplitter& splitter, const std::vector<tightfit::Event>& events) {
  std::vector<OutputDelta> all;
  for (const auto& e : events)
    for (auto& d : splitter.feed(e)) all.push_back(std::move(d));
  for (auto& d : splitter.finish()) all.push_back(std::move(d));
  return all;
}

TEST(OutputSplitter, ReasoningAndAnswerStayApartAcrossChunks) {
  OutputSplitter splitter(nlohmann::json::array());
  const auto deltas = run(splitter, {reasoning("Let me "), reasoning("think."), answer("The "), answer("answer.")});
  ASSERT_EQ(deltas.size(), 4u);
  std::string thought, content;
  for (const auto& d : deltas) {
    if (d.kind == OutputDelta::Kind::reasoning) thought += d.text;
    if (d.kind == OutputDelta::Kind::content) content += d.text;
  }
  EXPECT_EQ(thought, "Let me think.");
  EXPECT_EQ(content, "The answer.");
  EXPECT_EQ(content.find("<think>"), std::string::npos);
}

TEST(OutputSplitter, ThinkTagsInTheAnswerAreDropped) {
  OutputSplitter splitter(nlohmann::json::array());
  const auto deltas = run(splitter, {answer("a<think>b"), answer("</think>"), answer("c")});
  std::string content;
  for (const auto& d : deltas) content += d.text;
  EXPECT_EQ(content, "abc");
}

TEST(OutputSplitter, ToolCallSplitOverEventsBecomesOneDeltaAndTheBlankLineBeforeItIsDropped) {
  OutputSplitter splitter(one_tool());
  const auto deltas = run(splitter, {answer("Sure."), answer("\n\n"), answer("<tool_"), answer("call>\n<function=f>\n"),
                                     answer("<parameter=a>\n1\n</parameter>\n</function>\n</tool_call>"),
                                     answer("\n")});
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[0].kind, OutputDelta::Kind::content);
  EXPECT_EQ(deltas[0].text, "Sure.");
  EXPECT_EQ(deltas[1].kind, OutputDelta::Kind::tool_call);
  EXPECT_EQ(deltas[1].call.name, "f");
  EXPECT_EQ(deltas[1].tool_index, 0);
  EXPECT_EQ(splitter.tool_calls(), 1);
}

TEST(OutputSplitter, HeldWhitespaceComesOutWhenTextFollowsOrNoCallWasMade) {
  OutputSplitter splitter(one_tool());
  const auto deltas = run(splitter, {answer("a"), answer("\n"), answer("b"), answer("  ")});
  std::string content;
  for (const auto& d : deltas) content += d.text;
  EXPECT_EQ(content, "a\nb  ");
}

TEST(OutputSplitter, LogprobsOfHeldTextTravelWithTheNextDelta) {
  OutputSplitter splitter(one_tool());
  tightfit::Event first = answer("<tool");
  first.logprobs = {{5, -0.5f, {}}};
  tightfit::Event second = answer("bar");
  second.logprobs = {{6, -0.25f, {}}};
  const auto deltas = run(splitter, {first, second});
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].text, "<toolbar");
  ASSERT_EQ(deltas[0].logprobs.size(), 2u);
  EXPECT_EQ(deltas[0].logprobs[0].token, 5);
}

}  // namespace
}  // namespace tf::server
