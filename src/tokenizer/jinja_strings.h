// Python str semantics on UTF-8 strings for the template engine: indices count code points,
// whitespace is Python's str.isspace, case mapping is full Unicode (ICU).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tf::jinja {

std::u32string to_code_points(std::string_view s);
std::string from_code_points(std::u32string_view cps);

bool py_isspace(char32_t c);

// str.strip / lstrip / rstrip; `chars` unset = whitespace.
std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split / rsplit; `sep` unset = runs of whitespace; maxsplit < 0 = no limit.
std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> py_splitlines(std::string_view s, bool keepends);
// str.replace; count < 0 = all.
std::string py_replace(std::string_view s, std::string_view old, std::string_view replacement, int64_t count);

std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);
std::string py_title(std::string_view s);  // str.title()

// Code point index of the first/last occurrence, or -1.
int64_t py_find(std::string_view s, std::string_view sub);
int64_t py_rfind(std::string_view s, std::string_view sub);
int64_t py_count(std::string_view s, std::string_view sub);

// str.isdigit / isalpha / isalnum / isupper / islower / isspace.
bool py_is(std::string_view s, const std::string& which);

}  // namespace tf::jinja
