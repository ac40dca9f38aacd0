// Hostile recipes (issue 20): regexes that backtrack without end or nest without end, and
// integers that do not fit, must fail with the rule named instead of hanging, crashing or being
// silently truncated.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "quant/recipe.h"

namespace tf {
namespace {

using nlohmann::json;

std::string error_of(const json& j) {
  try {
    Recipe::from_json(j, "r.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(accepted)";
}

ModuleInfo module(const std::string& path) {
  ModuleInfo m;
  m.path = path;
  m.role = TensorRole::RoutedExperts;
  m.layer = 10;
  return m;
}

TEST(RecipeHostile, OutOfRangeIntegersAreRejectedNotTruncated) {
  EXPECT_NE(error_of(json::parse(R"({"rules": [{"bits": 4294967300}]})")).find("bits must be"), std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"rules": [{"bits": 4, "group_size": 4294967328}]})")).find("group_size must be"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"group_size": 4294967328, "rules": [{"bits": 4}]})")).find("group_size must be"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"rules": [{"layers": {"first": 4294967297}, "bits": 4}]})")).find("first"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"rules": [{"layers": 4294967297, "bits": 4}]})")).find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of(json::parse(R"({"rules": [{"layers": [0, 4294967297], "bits": 4}]})")).find("out of range"),
            std::string::npos);
  EXPECT_EQ(error_of(json::parse(R"({"rules": [{"bits": 4, "group_size": 32}]})")), "(accepted)");
}

TEST(RecipeHostile, CatastrophicRegexIsAnErrorNotAHang) {
  const auto start = std::chrono::steady_clock::now();
  // The issue's regex (std::regex: past 60 s per module): PCRE2 sees there is no 'X' at once.
  const Recipe issue = Recipe::from_json(
      json::parse(R"({"rules": [{"regex": "^([a-z_.0-9]|[a-z_.0-9])*X$", "bits": 4}, {"bits": 2}]})"), "r.json");
  EXPECT_EQ(issue.first_match(module("language_model.model.layers.10.mlp.switch_mlp.down_proj"), 40), 1);
  // One without that short cut runs into the match limit: an error naming the regex.
  const Recipe r = Recipe::from_json(
      json::parse(R"({"rules": [{"regex": "^([a-z_.0-9]|[a-z_.0-9])*$", "bits": 4}, {"bits": 2}]})"), "r.json");
  try {
    r.first_match(module("language_model.model.layers.10.mlp.switch_mlp.down_proj-"), 40);
    ADD_FAILURE() << "matched";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("too much backtracking"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(RecipeHostile, DeeplyNestedRegexGroupsAreABadRegex) {
  const std::string pattern = std::string(50000, '(') + "a" + std::string(50000, ')');
  const std::string message = error_of(json{{"rules", json::array({json{{"regex", pattern}, {"bits", 4}}})}});
  EXPECT_NE(message.find("bad regex"), std::string::npos) << message.substr(0, 300);
}

TEST(RecipeHostile, PerlRegexesStillMatchLikeBefore) {
  const Recipe r = Recipe::from_json(json::parse(R"({"rules": [{"regex": "layers\\.(3|7)\\.self_attn", "bits": 6},
                                                               {"bits": 2}]})"),
                                     "r.json");
  EXPECT_EQ(r.first_match(module("language_model.model.layers.7.self_attn.q_proj"), 40), 0);
  EXPECT_EQ(r.first_match(module("language_model.model.layers.17.self_attn.q_proj"), 40), 1);
}

}  // namespace
}  // namespace tf
