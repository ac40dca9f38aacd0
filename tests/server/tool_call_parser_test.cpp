#include "server/tool_call_parser.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tf::server {
namespace {

using nlohmann::json;

json weather_tools() {
  return json::parse(R"([{"type": "function", "function": {"name": "get_weather",
    "parameters": {"type": "object", "properties": {
      "city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"},
      "ratio": {"type": ["number", "null"]}, "where": {"type": "object"},
      "tags": {"type": "array"}, "code": {"type": "string"}}}}}])");
}

// Everything the parser yields for `chunks`, text pieces merged.
std::vector<AnswerPiece> run(const std::vector<std::string>& chunks, json tools = weather_tools()) {
  ToolCallParser parser(std::move(tools));
  std::vector<AnswerPiece> all;
  auto take = [&](std::vector<AnswerPiece> pieces) {
    for (AnswerPiece& p : pieces) {
      if (!p.is_tool_call && !all.empty() && !all.back().is_tool_call) all.back().text += p.text;
      else all.push_back(std::move(p));
    }
  };
  for (const std::string& chunk : chunks) take(parser.feed(chunk));
  take(parser.finish());
  return all;
}

const std::string kCall =
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
    "<parameter=days>\n3\n</parameter>\n<parameter=metric>\ntrue\n</parameter>\n</function>\n</tool_call>";

TEST(ToolCallParser, ParsesOneCallWithValuesTypedByTheSchema) {
  const auto pieces = run({kCall});
  ASSERT_EQ(pieces.size(), 1u);
  ASSERT_TRUE(pieces[0].is_tool_call);
  EXPECT_EQ(pieces[0].call.name, "get_weather");
  EXPECT_EQ(json::parse(pieces[0].call.arguments),
            json::parse(R"({"city": "Paris", "days": 3, "metric": true})"));
  EXPECT_EQ(pieces[0].call.arguments, R"({"city":"Paris","days":3,"metric":true})");  // call order
}

TEST(ToolCallParser, EverySplitPointGivesTheSameResult) {
  const std::string text = "Let me check.\n\n" + kCall + "\nDone";
  const auto whole = run({text});
  ASSERT_EQ(whole.size(), 3u);
  for (size_t cut = 1; cut < text.size(); ++cut) {
    const auto pieces = run({text.substr(0, cut), text.substr(cut)});
    ASSERT_EQ(pieces.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(pieces[0].text, "Let me check.\n\n") << cut;
    EXPECT_EQ(pieces[1].call.arguments, whole[1].call.arguments) << cut;
    EXPECT_EQ(pieces[2].text, "\nDone") << cut;
  }
  // One character at a time.
  std::vector<std::string> chars;
  for (char c : text) chars.emplace_back(1, c);
  const auto pieces = run(chars);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[1].call.name, "get_weather");
}

TEST(ToolCallParser, TextBeforeAPossibleTagIsNotHeldBack) {
  ToolCallParser parser(weather_tools());
  auto pieces = parser.feed("Hello <tool");
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].text, "Hello ");  // "<tool" may start a tag: held
  pieces = parser.feed("box> is not a call");
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].text, "<toolbox> is not a call");
  EXPECT_TRUE(parser.finish().empty());
}

TEST(ToolCallParser, SeveralCallsInOneAnswerAndInOneBlock) {
  const std::string second =
      "<tool_call>\n<function=get_weather>\n<parameter=city>\nRome\n</parameter>\n</function>\n"
      "<function=other>\n<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>";
  const auto pieces = run({kCall + "\n" + second});
  std::vector<std::string> names;
  for (const auto& p : pieces)
    if (p.is_tool_call) names.push_back(p.call.name);
  EXPECT_EQ(names, (std::vector<std::string>{"get_weather", "get_weather", "other"}));
  // "other" has no schema: its value stays a string.
  EXPECT_EQ(pieces.back().call.arguments, R"({"x":"1"})");
}

TEST(ToolCallParser, ValuesThatDoNotMatchTheSchemaStayStrings) {
  const auto pieces = run({"<tool_call><function=get_weather><parameter=days>three</parameter>"
                           "<parameter=ratio>0.5</parameter><parameter=where>{\"lat\": 1}</parameter>"
                           "<parameter=tags>[1, 2]</parameter><parameter=code>42</parameter>"
                           "<parameter=metric>False</parameter></function></tool_call>"});
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(json::parse(pieces[0].call.arguments),
            json::parse(R"({"days": "three", "ratio": 0.5, "where": {"lat": 1}, "tags": [1, 2],
                            "code": "42", "metric": false})"));
}

TEST(ToolCallParser, MultiLineStringValuesKeepInnerNewlines) {
  const auto pieces = run({"<tool_call>\n<function=get_weather>\n<parameter=city>\nline 1\n\nline 2\n"
                           "</parameter>\n</function>\n</tool_call>"});
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(json::parse(pieces[0].call.arguments)["city"], "line 1\n\nline 2");
}

TEST(ToolCallParser, AMissingParameterCloseTagEndsAtTheNextParameter) {
  const auto pieces = run({"<tool_call><function=get_weather><parameter=city>Oslo\n"
                           "<parameter=days>2</function></tool_call>"});
  ASSERT_EQ(pieces.size(), 1u);
  ASSERT_TRUE(pieces[0].is_tool_call);
  EXPECT_EQ(json::parse(pieces[0].call.arguments), json::parse(R"({"city": "Oslo", "days": 2})"));
}

TEST(ToolCallParser, MalformedBlocksAreLeftAsText) {
  for (const std::string bad : {"<tool_call>{\"name\": \"get_weather\"}</tool_call>",
                                "<tool_call><function=>x</function></tool_call>",
                                "<tool_call><function=get_weather><oops></function></tool_call>",
                                "<tool_call></tool_call>"}) {
    const auto pieces = run({"a ", bad, " b"});
    ASSERT_EQ(pieces.size(), 1u) << bad;
    EXPECT_FALSE(pieces[0].is_tool_call);
    EXPECT_EQ(pieces[0].text, "a " + bad + " b");
  }
}

TEST(ToolCallParser, AnAnswerCutOffInsideABlockComesBackAsText) {
  const std::string cut = "ok <tool_call>\n<function=get_weather>\n<parameter=city>\nPar";
  const auto pieces = run({cut});
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].text, cut);
  // Cut off after the function closed: the call is complete.
  const auto closed = run({"<tool_call>\n<function=get_weather>\n</function>\n"});
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(closed[0].is_tool_call);
  EXPECT_EQ(closed[0].call.arguments, "{}");
}

TEST(ToolCallParser, ABlockReopenedBeforeClosingIsText) {
  const auto pieces = run({"<tool_call>junk ", kCall});
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].text, "<tool_call>junk ");
  EXPECT_TRUE(pieces[1].is_tool_call);
}

TEST(ToolCallParser, AReopenedBlockSplitAnywhereGivesTheSameResult) {
  // The parser searches only the text that arrived since its last search: a tag split across
  // feeds must still be found, whichever of the two tags comes first.
  const std::string text = "x <tool_call>junk </tool_" + kCall + " y " + kCall;
  const auto whole = run({text});
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(whole[0].text, "x <tool_call>junk </tool_");
  EXPECT_EQ(whole[2].text, " y ");
  for (size_t cut = 1; cut < text.size(); ++cut) {
    std::vector<std::string> chunks;
    for (size_t at = 0; at < text.size(); at += cut) chunks.push_back(text.substr(at, cut));
    const auto pieces = run(chunks);
    ASSERT_EQ(pieces.size(), 4u) << "chunks of " << cut;
    EXPECT_EQ(pieces[0].text, whole[0].text) << cut;
    EXPECT_EQ(pieces[1].call.arguments, whole[1].call.arguments) << cut;
    EXPECT_EQ(pieces[2].text, whole[2].text) << cut;
    EXPECT_EQ(pieces[3].call.arguments, whole[3].call.arguments) << cut;
  }
}

TEST(ToolCallParser, InvalidUtf8InAValueBecomesTheReplacementCharacter) {
  // Found by fuzz_tool_calls: the arguments' dump() threw on the byte 0xFF and ended the server.
  const auto pieces = run({"<tool_call>\n<function=get_weather>\n<parameter=city>\nPar\xFFis\n</parameter>\n"
                           "</function>\n</tool_call>"});
  ASSERT_EQ(pieces.size(), 1u);
  ASSERT_TRUE(pieces[0].is_tool_call);
  EXPECT_EQ(pieces[0].call.arguments, "{\"city\":\"Par\xEF\xBF\xBDis\"}");
}

TEST(ToolCallParser, WithoutToolsEverythingIsText) {
  const auto pieces = run({kCall}, json::array());
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].text, kCall);
}

}  // namespace
}  // namespace tf::server
