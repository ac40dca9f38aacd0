// Qwen3.5's tool calls, read out of the answer text as it streams in. The chat template asks
// the model to call tools as (docs/ in the repo: the model spec, §7.2)
//
//   <tool_call>
//   <function=NAME>
//   <parameter=ARG>
//   VALUE
//   </parameter>
//   ...
//   </function>
//   </tool_call>
//
// The parser passes text through until a `<tool_call>` opens, holds the block until its
// `</tool_call>` arrives (in any number of chunks, split anywhere), and then yields the calls
// with their arguments as a JSON object whose values are typed by the tool's JSON schema
// (numbers, booleans, objects and arrays parsed; strings kept; a value that does not parse as
// its schema type stays a string). A block that does not parse, or is cut off by the end of the
// output, is given back unchanged as text, so nothing the model wrote is lost.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tf::server {

struct ParsedToolCall {
  std::string name;
  std::string arguments;  // a JSON object, as text
};

struct AnswerPiece {
  bool is_tool_call = false;
  std::string text;       // !is_tool_call
  ParsedToolCall call;    // is_tool_call
};

class ToolCallParser {
 public:
  // `tools`: the request's OpenAI tool definitions; with none, everything is text.
  explicit ToolCallParser(nlohmann::json tools);

  std::vector<AnswerPiece> feed(std::string_view text);
  // The end of the output: what is still held comes out (an unfinished block as text).
  std::vector<AnswerPiece> finish();

 private:
  void emit_text(std::string_view text, std::vector<AnswerPiece>& out) const;
  void emit_block(std::string_view inner, bool closed, std::vector<AnswerPiece>& out) const;

  nlohmann::json tools_;
  bool enabled_;
  bool inside_ = false;   // after a <tool_call>, before its </tool_call>
  std::string held_;      // text not yet given out
  size_t searched_ = 0;   // inside_: no tag starts in held_[0, searched_)
};

// The calls in the text between <tool_call> and </tool_call>; std::nullopt when malformed.
std::optional<std::vector<ParsedToolCall>> parse_tool_call_block(std::string_view inner,
                                                                 const nlohmann::json& tools);

}  // namespace tf::server
