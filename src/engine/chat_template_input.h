// A Request's messages and template fields as the variables a Hugging Face chat template reads
// (transformers' apply_chat_template conventions, OpenAI's message shapes):
//   content        a string, or a list of {"type": "text", "text"} / {"type": "image"} parts
//                  when the message has images (the template writes the vision placeholders)
//   reasoning      "reasoning_content" (Qwen3.5's template reads it; it drops it for earlier turns)
//   tool_calls     [{"type": "function", "id", "function": {"name", "arguments": {...}}}] with
//                  the arguments parsed from their JSON text into an object, since Qwen3.5's
//                  template iterates them (`tool_call.arguments|items`)
//   tool messages  "tool_call_id" and "name"
//   tools          the parsed JSON array; enable_thinking; template_kwargs (a JSON object) last.
#pragma once

#include <string>

#include "tightfit/tightfit.h"
#include "tokenizer/chat_template.h"

namespace tightfit {

// Throws InvalidRequest naming the field (messages[i].role, tools, template_kwargs, ...).
tf::tokenizer::ChatRequest chat_template_input(const Request& request, bool add_generation_prompt);

// Renders `input` with the model's template; a template that refuses the input (raise_exception,
// a missing field) is an InvalidRequest on "messages".
std::string render_chat_template(const tf::tokenizer::TokenizerConfig& config,
                                 const tf::tokenizer::ChatRequest& input);

}  // namespace tightfit
