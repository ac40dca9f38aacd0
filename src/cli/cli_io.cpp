#include "cli/cli_io.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
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

void check_output_file(const std::string& path, const std::string& flag) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw BadInputError(flag + " " + path + " is a folder; give a file name");
  const fs::path parent = fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path();
  if (!fs::is_directory(parent, ec))
    throw BadInputError(flag + " " + path + ": the folder " + parent.string() + " does not exist");
  const std::string target = fs::exists(path, ec) ? path : parent.string();
  if (access(target.c_str(), W_OK) != 0)
    throw BadInputError(flag + " " + path + ": " + target + " is not writable (" +
                     std::strerror(errno) + ")");
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
  // base/json_read's reader (its nesting limit) with the CLI's exit code for bad input.
  try {
    return tf::parse_ordered_json(text, what);
  } catch (const std::runtime_error& e) {
    throw BadInputError(e.what());
  }
}

std::string python_json(const nlohmann::ordered_json& j) {
  return jinja::to_python_json(jinja::value_from_json(j), {});
}

void write_stdout(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

}  // namespace tf::cli
