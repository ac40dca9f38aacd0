// The pieces of OpenAI's response objects (chat.completion, chat.completion.chunk,
// text_completion): ids, finish reasons, usage, logprobs, tool calls.
// https://platform.openai.com/docs/api-reference/chat/object
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/output_stream.h"
#include "tightfit/tightfit.h"

namespace tf::server {

std::string new_id(const std::string& prefix);  // prefix + 24 random hex digits
int64_t unix_time();

// "stop", "length" or "tool_calls".
std::string finish_reason(const tightfit::Event& done, int tool_calls);
// {prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details: {cached_tokens},
//  completion_tokens_details: {reasoning_tokens}}
nlohmann::json usage_json(const tightfit::Usage& usage);
// {"content": [{token, logprob, bytes, top_logprobs: [...]}]}
nlohmann::json chat_logprobs_json(const std::vector<tightfit::TokenLogprob>& logprobs,
                                  const tightfit::Engine& engine);
// {tokens, token_logprobs, top_logprobs, text_offset} (the completions API's older shape)
nlohmann::json completion_logprobs_json(const std::vector<tightfit::TokenLogprob>& logprobs,
                                        const tightfit::Engine& engine);
// {index, id, type: "function", function: {name, arguments}}
nlohmann::json tool_call_json(const OutputDelta& delta, const std::string& id);

}  // namespace tf::server
