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
// A response's usage block, in one of the two APIs' shapes:
//   openai: {prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details:
//            {cached_tokens}, completion_tokens_details: {reasoning_tokens}}
//   anthropic: {input_tokens (uncached), output_tokens, cache_read_input_tokens,
//               cache_creation_input_tokens}
// plus, in both, `speculative`: {steps, drafts_proposed, drafts_accepted,
// proposed_per_position, accepted_per_position} when the request ran speculative steps.
enum class UsageShape { openai, anthropic };
nlohmann::json usage_json(const tightfit::Usage& usage, UsageShape shape = UsageShape::openai);
// The last chunk of an OpenAI stream with stream_options.include_usage: `chunk` (an object of
// the stream) with no choices and the usage.
nlohmann::json usage_chunk(nlohmann::json chunk, const tightfit::Usage& usage);
// {"content": [{token, logprob, bytes, top_logprobs: [...]}]}
nlohmann::json chat_logprobs_json(const std::vector<tightfit::TokenLogprob>& logprobs,
                                  const tightfit::Engine& engine);
// {tokens, token_logprobs, top_logprobs, text_offset} (the completions API's older shape)
nlohmann::json completion_logprobs_json(const std::vector<tightfit::TokenLogprob>& logprobs,
                                        const tightfit::Engine& engine);
// {index, id, type: "function", function: {name, arguments}}
nlohmann::json tool_call_json(const OutputDelta& delta, const std::string& id);

}  // namespace tf::server
