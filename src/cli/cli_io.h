// Input and output plumbing shared by subcommands: comma-separated token-id flags, output file
// paths checked up front, '-' for standard input, JSON-lines files read line by line, and JSON
// lines written with Python's spacing (what the Hugging Face tools print, so outputs can be
// compared byte for byte).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tf::cli {

// "1,2, 3" -> {1, 2, 3}: items separated by commas, blanks around them ignored. Any item that
// is not a non-negative 32-bit integer is a UsageError naming `flag` and the item. A text of
// only blanks is the empty list when allow_empty, else a UsageError like any bad item.
std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& flag, bool allow_empty);

// Checks, before any long work, that a file can be written at `path` (the value of `flag`):
// not a folder, its folder exists, and the file or the folder is writable. A BadInputError
// naming the flag otherwise, so a typo costs seconds, not a finished conversion's report.
void check_output_file(const std::string& path, const std::string& flag);

// All of standard input, bytes as they are.
std::string read_stdin();

// The whole file at `path`, or standard input when path is "-".
std::string read_input(const std::string& path);

// Calls on_line(line, line_number) for every line of a JSON-lines file ('-' = standard input)
// that is not blank; line numbers count from 1 and include the skipped blank lines.
void for_each_jsonl_line(const std::string& path,
                         const std::function<void(const std::string& line, size_t line_number)>& on_line);

// `text` parsed as JSON (keys in file order) by base/json_read.h, with its nesting limit; a parse
// error is a BadInputError "WHAT: not valid JSON: …" (or "WHAT: JSON nested deeper than …").
nlohmann::ordered_json parse_json(const std::string& text, const std::string& what);

// One-line JSON with Python's spacing (", " and ": "), non-ASCII text left as is.
std::string python_json(const nlohmann::ordered_json& j);

// Writes text to stdout unchanged (embedded NUL bytes included).
void write_stdout(const std::string& text);

}  // namespace tf::cli
