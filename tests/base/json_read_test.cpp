// The one JSON entry point (issue 20): nesting is bounded before any recursive walk can see it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "base/json_read.h"

namespace tf {
namespace {

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string error_of(const std::string& text) {
  try {
    parse_json(text, "x.json");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(JsonRead, NestingUpToTheLimitParses) {
  EXPECT_EQ(error_of(nested(kMaxJsonDepth)), "");
  EXPECT_EQ(parse_json(R"({"a": [1, {"b": "[[[[[[["}]})", "x").dump(), R"({"a":[1,{"b":"[[[[[[["}]})");
  EXPECT_EQ(error_of(R"(["\"[[[[", "\\"])"), "");  // escapes inside strings
}

TEST(JsonRead, DeeperNestingIsRejectedWithTheSource) {
  for (int depth : {kMaxJsonDepth + 1, 100000, 10000000}) {
    const std::string message = error_of(nested(depth));
    EXPECT_NE(message.find("x.json: JSON nested deeper than 128 levels"), std::string::npos) << message;
  }
  EXPECT_NE(error_of(std::string(200, '{')).find("nested deeper"), std::string::npos);
}

TEST(JsonRead, InvalidJsonNamesTheSource) {
  EXPECT_NE(error_of("{").find("x.json: not valid JSON"), std::string::npos);
}

TEST(JsonRead, InMemoryJsonIsCheckedIteratively) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  nlohmann::ordered_json* inner = &j;
  for (int i = 0; i < 1000000; ++i) inner = &inner->emplace_back(nlohmann::ordered_json::array());
  EXPECT_THROW(check_json_value_nesting(j, "vars"), std::runtime_error);
  EXPECT_NO_THROW(check_json_value_nesting(nlohmann::ordered_json::parse(nested(kMaxJsonDepth)), "vars"));
}

TEST(JsonRead, FilesAreReadWholeAndMissingOnesSaySo) {
  const auto path = std::filesystem::temp_directory_path() / "tightfit_json_read_test.json";
  std::ofstream(path) << nested(kMaxJsonDepth + 1);
  EXPECT_THROW(read_json_file(path), std::runtime_error);
  std::ofstream(path) << R"({"k": 1})";
  EXPECT_EQ(read_ordered_json_file(path)["k"], 1);
  std::filesystem::remove(path);
  try {
    read_json_file(path);
    ADD_FAILURE();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
}

}  // namespace
}  // namespace tf
