#include "server/tool_call_parser.h"

#include <algorithm>
#include <cctype>

#include "base/json_read.h"

namespace tf::server {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";
constexpr std::string_view kFunction = "<function=";
constexpr std::string_view kFunctionEnd = "</function>";
constexpr std::string_view kParameter = "<parameter=";
constexpr std::string_view kParameterEnd = "</parameter>";

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// How many characters at the end of `text` could be the start of `tag`.
size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

// The JSON schema of parameter `arg` of function `name`, or nullptr.
const Json* parameter_schema(const Json& tools, const std::string& name, const std::string& arg) {
  for (const Json& tool : tools) {
    auto function = tool.find("function");
    if (function == tool.end() || !function->is_object()) continue;
    auto tool_name = function->find("name");
    if (tool_name == function->end() || *tool_name != name) continue;
    auto parameters = function->find("parameters");
    if (parameters == function->end() || !parameters->is_object()) return nullptr;
    auto properties = parameters->find("properties");
    if (properties == parameters->end() || !properties->is_object()) return nullptr;
    auto schema = properties->find(arg);
    return schema == properties->end() ? nullptr : &*schema;
  }
  return nullptr;
}

// The type names a schema allows ("type": "x" | ["x", "null"], or the types of its anyOf/oneOf).
std::vector<std::string> schema_types(const Json& schema) {
  std::vector<std::string> types;
  if (!schema.is_object()) return types;
  if (auto type = schema.find("type"); type != schema.end()) {
    if (type->is_string()) types.push_back(type->get<std::string>());
    if (type->is_array())
      for (const Json& t : *type)
        if (t.is_string()) types.push_back(t.get<std::string>());
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    if (auto list = schema.find(key); list != schema.end() && list->is_array())
      for (const Json& alternative : *list)
        for (std::string& t : schema_types(alternative)) types.push_back(std::move(t));
  }
  return types;
}

// The value as its schema types it; a string when there is no schema, the schema allows a
// string, or the text does not parse as the type.
Json typed_value(const std::string& text, const Json* schema) {
  if (!schema) return text;
  const std::vector<std::string> types = schema_types(*schema);
  auto allows = [&](const char* t) { return std::find(types.begin(), types.end(), t) != types.end(); };
  if (types.empty() || allows("string")) return text;
  const std::string_view trimmed = trim(text);
  Json parsed;
  try {
    parsed = tf::parse_json(trimmed, "tool argument");
  } catch (const std::exception&) {
    std::string lower(trimmed);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (allows("boolean") && (lower == "true" || lower == "false")) return lower == "true";
    return text;
  }
  if ((allows("integer") || allows("number")) && parsed.is_number()) return parsed;
  if (allows("boolean") && parsed.is_boolean()) return parsed;
  if (allows("object") && parsed.is_object()) return parsed;
  if (allows("array") && parsed.is_array()) return parsed;
  if (allows("null") && parsed.is_null()) return parsed;
  return text;
}

}  // namespace

std::optional<std::vector<ParsedToolCall>> parse_tool_call_block(std::string_view inner,
                                                                 const Json& tools) {
  std::vector<ParsedToolCall> calls;
  std::string_view rest = trim(inner);
  while (!rest.empty()) {
    if (rest.substr(0, kFunction.size()) != kFunction) return std::nullopt;
    rest.remove_prefix(kFunction.size());
    const size_t name_end = rest.find('>');
    if (name_end == std::string_view::npos) return std::nullopt;
    const std::string name(trim(rest.substr(0, name_end)));
    if (name.empty() || name.find_first_of("<\n") != std::string::npos) return std::nullopt;
    rest.remove_prefix(name_end + 1);
    // The function's body runs to its </function> (or, leniently, to the end of the block).
    const size_t body_end = rest.find(kFunctionEnd);
    std::string_view body = rest.substr(0, body_end);
    rest = body_end == std::string_view::npos ? std::string_view() : trim(rest.substr(body_end + kFunctionEnd.size()));

    nlohmann::ordered_json arguments = nlohmann::ordered_json::object();
    body = trim(body);
    while (!body.empty()) {
      if (body.substr(0, kParameter.size()) != kParameter) return std::nullopt;
      body.remove_prefix(kParameter.size());
      const size_t arg_end = body.find('>');
      if (arg_end == std::string_view::npos) return std::nullopt;
      const std::string arg(trim(body.substr(0, arg_end)));
      if (arg.empty()) return std::nullopt;
      body.remove_prefix(arg_end + 1);
      // The value ends at </parameter>, or (a model that forgot it) at the next parameter.
      size_t value_end = body.find(kParameterEnd);
      size_t next = value_end == std::string_view::npos ? body.size() : value_end + kParameterEnd.size();
      const size_t next_parameter = body.find(kParameter);
      if (next_parameter < value_end) value_end = next = next_parameter;
      if (value_end == std::string_view::npos) value_end = next = body.size();
      std::string_view value = body.substr(0, value_end);
      // The template writes "\n{value}\n" between the tags; only those newlines are markup.
      if (!value.empty() && value.front() == '\n') value.remove_prefix(1);
      if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
      arguments[arg] = typed_value(std::string(value), parameter_schema(tools, name, arg));
      body = trim(body.substr(next));
    }
    // A model can write any bytes, invalid UTF-8 included (a multi-byte character cut short):
    // replaced by U+FFFD, as the answer's text is, where dump() would throw.
    calls.push_back({name, arguments.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  }
  if (calls.empty()) return std::nullopt;
  return calls;
}

ToolCallParser::ToolCallParser(Json tools)
    : tools_(std::move(tools)), enabled_(tools_.is_array() && !tools_.empty()) {}

void ToolCallParser::emit_text(std::string_view text, std::vector<AnswerPiece>& out) const {
  if (text.empty()) return;
  if (!out.empty() && !out.back().is_tool_call) {
    out.back().text += text;
  } else {
    AnswerPiece piece;
    piece.text = text;
    out.push_back(std::move(piece));
  }
}

void ToolCallParser::emit_block(std::string_view inner, bool closed,
                                std::vector<AnswerPiece>& out) const {
  std::optional<std::vector<ParsedToolCall>> calls;
  // A block cut off by the end of the output counts only if its function was closed.
  if (closed || inner.find(kFunctionEnd) != std::string_view::npos)
    calls = parse_tool_call_block(inner, tools_);
  if (!calls) {
    emit_text(std::string(kOpen) + std::string(inner) + (closed ? std::string(kClose) : ""), out);
    return;
  }
  for (ParsedToolCall& call : *calls) {
    AnswerPiece piece;
    piece.is_tool_call = true;
    piece.call = std::move(call);
    out.push_back(std::move(piece));
  }
}

std::vector<AnswerPiece> ToolCallParser::feed(std::string_view text) {
  std::vector<AnswerPiece> out;
  if (!enabled_) {
    emit_text(text, out);
    return out;
  }
  held_ += text;
  for (;;) {
    if (!inside_) {
      const size_t open = held_.find(kOpen);
      if (open == std::string::npos) {
        const size_t keep = partial_tag_suffix(held_, kOpen);
        emit_text(std::string_view(held_).substr(0, held_.size() - keep), out);
        held_.erase(0, held_.size() - keep);
        return out;
      }
      emit_text(std::string_view(held_).substr(0, open), out);
      held_.erase(0, open + kOpen.size());
      inside_ = true;
      searched_ = 0;
    }
    // Only the new text (and a tag it may complete) is searched: a block streamed a token at a
    // time is scanned once, not once per token.
    const size_t close = held_.find(kClose, searched_);
    const size_t reopen = held_.find(kOpen, searched_);
    if (reopen < close) {
      // A new block opened before this one closed: this one was malformed.
      emit_text(std::string(kOpen) + held_.substr(0, reopen), out);
      held_.erase(0, reopen);
      inside_ = false;
      continue;
    }
    if (close == std::string::npos) {
      const size_t longest_tag = std::max(kOpen.size(), kClose.size());
      searched_ = held_.size() >= longest_tag ? held_.size() - (longest_tag - 1) : 0;
      return out;
    }
    emit_block(std::string_view(held_).substr(0, close), /*closed=*/true, out);
    held_.erase(0, close + kClose.size());
    inside_ = false;
  }
}

std::vector<AnswerPiece> ToolCallParser::finish() {
  std::vector<AnswerPiece> out;
  if (inside_) {
    emit_block(held_, /*closed=*/false, out);
  } else {
    emit_text(held_, out);
  }
  held_.clear();
  inside_ = false;
  return out;
}

}  // namespace tf::server
