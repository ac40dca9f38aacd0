#include "base/json_read.h"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tf {
namespace {

[[noreturn]] void too_deep(const std::string& source) {
  throw std::runtime_error(source + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                           " levels; no real file is (is it corrupt or hand-crafted?)");
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path.string() + ": read error");
  return std::move(text).str();
}

template <class Json>
Json parse(std::string_view text, const std::string& source) {
  check_json_nesting(text, source);
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(source + ": not valid JSON: " + e.what());
  }
}

}  // namespace

void check_json_nesting(std::string_view text, const std::string& source) {
  // Brackets inside strings do not count; escapes only matter inside strings.
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) too_deep(source);
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced text is the parser's to reject
    }
  }
}

namespace {

template <class Json>
void check_nesting(const Json& j, const std::string& source) {
  std::vector<std::pair<const Json*, int>> pending = {{&j, 1}};
  while (!pending.empty()) {
    const auto [node, depth] = pending.back();
    pending.pop_back();
    if (!node->is_structured()) continue;
    if (depth > kMaxJsonDepth) too_deep(source);
    for (const auto& child : *node) pending.emplace_back(&child, depth + 1);
  }
}

}  // namespace

void check_json_value_nesting(const nlohmann::json& j, const std::string& source) { check_nesting(j, source); }
void check_json_value_nesting(const nlohmann::ordered_json& j, const std::string& source) { check_nesting(j, source); }

nlohmann::json parse_json(std::string_view text, const std::string& source) {
  return parse<nlohmann::json>(text, source);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& source) {
  return parse<nlohmann::ordered_json>(text, source);
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  return parse_json(read_file(path), path.string());
}

nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path) {
  return parse_ordered_json(read_file(path), path.string());
}

}  // namespace tf
