// Every case of tests/data/chat-template (Qwen3.5's template rendered by Jinja2 the way
// transformers configures it): byte-identical output, the template's own error message for the
// cases that must fail, and the expected token ids when the rendering is tokenized.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tf::tokenizer {
namespace {

const std::string kData = std::string(TIGHTFIT_TEST_DATA);

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<nlohmann::ordered_json> cases() {
  std::ifstream in(kData + "/chat-template/cases.jsonl");
  std::vector<nlohmann::ordered_json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::ordered_json::parse(line));
  return out;
}

TEST(ChatTemplateFixtures, EveryCaseRendersLikeTransformers) {
  const ChatTemplate tmpl(read_file(kData + "/chat-template/chat_template.jinja"));
  const auto all = cases();
  ASSERT_EQ(all.size(), 33u);
  for (const auto& c : all) {
    const std::string name = c["name"];
    const ChatRequest request = ChatRequest::from_json(c);
    const auto& expected = c["expected"];
    if (expected["ok"].get<bool>()) {
      try {
        EXPECT_EQ(tmpl.render(request), expected["rendered"].get<std::string>()) << name;
      } catch (const std::exception& e) {
        ADD_FAILURE() << name << ": " << e.what();
      }
    } else {
      try {
        const std::string out = tmpl.render(request);
        ADD_FAILURE() << name << " rendered instead of failing: " << out;
      } catch (const jinja::TemplateError& e) {
        EXPECT_EQ(e.kind(), jinja::TemplateError::Kind::kRaised) << name << ": " << e.what();
        EXPECT_EQ(std::string(e.what()), expected["error"].get<std::string>()) << name;
      }
    }
  }
}

TEST(ChatTemplateFixtures, RenderedPromptsTokenizeToTheExpectedIds) {
  const Tokenizer tok = Tokenizer::from_file(kData + "/tokenizer/qwen3.5-tokenizer.reconstructed.json");
  for (const auto& c : cases()) {
    if (!c.contains("expected_ids")) continue;
    const auto ids = tok.encode(c["expected"]["rendered"].get<std::string>());
    EXPECT_EQ(ids, c["expected_ids"].get<std::vector<TokenId>>()) << c["name"];
  }
}

}  // namespace
}  // namespace tf::tokenizer
