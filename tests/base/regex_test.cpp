// PCRE2 with limits (issue 20): what std::regex turned into a hang or a stack overflow is an
// error with a message.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "base/regex.h"

namespace tf {
namespace {

TEST(Regex, SearchesAndIteratesMatches) {
  const Regex re(R"(layers\.(3|7)\.self_attn)");
  EXPECT_TRUE(re.search("model.layers.7.self_attn.q_proj"));
  EXPECT_FALSE(re.search("model.layers.4.self_attn.q_proj"));
  std::string found;
  Regex(R"(\d+)").for_each_match("a1b22c333", [&](size_t b, size_t e) { found += std::string("a1b22c333").substr(b, e - b) + ","; });
  EXPECT_EQ(found, "1,22,333,");
}

TEST(Regex, CatastrophicBacktrackingIsAnErrorWithinASecond) {
  const auto start = std::chrono::steady_clock::now();
  // The issue's pattern (std::regex: past 60 s): PCRE2 sees that no 'X' occurs and says no.
  EXPECT_FALSE(Regex("^([a-z_.0-9]|[a-z_.0-9])*X$").search("language_model.model.layers.10.mlp.switch_mlp.down_proj"));
  // One it cannot short-cut runs into the match limit.
  try {
    Regex("^([a-z_.0-9]|[a-z_.0-9])*$").search("language_model.model.layers.10.mlp.switch_mlp.down_proj-");
    ADD_FAILURE() << "matched";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("too much backtracking"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Regex, DeeplyNestedGroupsAreACompileError) {
  for (int depth : {50000, 30000, 300}) {  // over the length limit, then over the nesting limit
    const std::string pattern = std::string(depth, '(') + "a" + std::string(depth, ')');
    try {
      Regex re(pattern);
      ADD_FAILURE() << "compiled";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("invalid regex"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(Regex(std::string(20, '(') + "a" + std::string(20, ')')));
}

TEST(Regex, InvalidUtf8SubjectIsAnErrorNotUndefinedBehaviour) {
  EXPECT_THROW(Regex("a").search("\xff\xfe"), std::runtime_error);
}

}  // namespace
}  // namespace tf
