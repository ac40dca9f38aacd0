#include "cli/cli_io.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>

#include "cli/commands.h"
#include "tokenizer/jinja_json.h"
#include "tokenizer/tokenizer_config.h"

namespace tf::cli {

std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& flag, bool allow_empty) {
  std::vector<int32_t> ids;
  if (allow_empty && text.find_first_not_of(" \t") == std::string::npos) return ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    std::string item = text.substr(pos, comma - pos);
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    item = a == std::string::npos ? "" : item.substr(a, b - a + 1);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 0 || v > INT32_MAX)
      throw UsageError(flag + ": '" + item + "' is not a token id (expected e.g. 1,2,3)");
    ids.push_back(static_cast<int32_t>(v));
    pos = comma + 1;
  }
  return ids;
}

std::string read_stdin() { return std::string(std::istreambuf_iterator<char>(std::cin), {}); }

std::string read_input(const std::string& path) {
  return path == "-" ? read_stdin() : tokenizer::read_text_file(path);
}

void for_each_jsonl_line(const std::string& path,
                         const std::function<void(const std::string& line, size_t line_number)>& on_line) {
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) throw std::runtime_error("cannot read " + path);
  }
  std::istream& in = path == "-" ? std::cin : file;
  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    on_line(line, line_number);
  }
}

nlohmann::ordered_json parse_json(const std::string& text, const std::string& what) {
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(what + " is not valid JSON: " + e.what());
  }
}

std::string python_json(const nlohmann::ordered_json& j) {
  return jinja::to_python_json(jinja::value_from_json(j), {});
}

void write_stdout(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

}  // namespace tf::cli
