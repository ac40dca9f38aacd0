// The one way tightfit turns JSON text into values. Every file, header and string it reads
// (safetensors headers, config.json, tokenizer.json, recipes, template variables, ...) comes
// through here, so the nesting limit below holds everywhere: nlohmann's parser is iterative,
// but dump(), copies, conversions and our own walks recurse once per level, and a hostile
// `[[[[…]]]]` a million levels deep would overflow the stack in any of them.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace tf {

// No real file comes close: tokenizer.json, config.json and JSON tool schemas nest < 20 levels.
inline constexpr int kMaxJsonDepth = 128;

// Throws std::runtime_error("SOURCE: JSON nested deeper than 128 levels ...") when `text`
// opens more than kMaxJsonDepth arrays/objects at once. Does not validate anything else: run it
// before a parser (it is what the parse_* functions below do), e.g. before a SAX handler.
void check_json_nesting(std::string_view text, const std::string& source);

// Parse with the nesting check; any error is a std::runtime_error naming `source`.
nlohmann::json parse_json(std::string_view text, const std::string& source);
nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& source);
// Same, on a file's content (the message names the file; a missing file says so).
nlohmann::json read_json_file(const std::filesystem::path& path);
nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path);

// For JSON built in memory rather than parsed (e.g. template variables handed over by a caller):
// throws like check_json_nesting when `j` is deeper than kMaxJsonDepth. Iterative.
void check_json_value_nesting(const nlohmann::json& j, const std::string& source);
void check_json_value_nesting(const nlohmann::ordered_json& j, const std::string& source);

}  // namespace tf
