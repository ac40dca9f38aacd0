// The request fields OpenAI's chat and completions APIs share (sampling, stop strings, token
// budget, thinking, logprobs, template variables), read into a tightfit::Request on top of the
// server's defaults. Field names follow OpenAI's API reference
// (https://platform.openai.com/docs/api-reference/chat/create) plus the extensions vLLM and
// llama-server accept (top_k, min_p, repetition_penalty, chat_template_kwargs, thinking_budget).
#pragma once

#include "server/json_fields.h"
#include "server/server_options.h"
#include "tightfit/tightfit.h"

namespace tf::server {

// The body with the keys of its `extra_body` object (as some clients send them literally)
// merged over the top-level ones.
Json merge_extra_body(const Json& body);

// temperature, top_p, top_k, min_p, presence/frequency/repetition_penalty, seed, logit_bias.
void read_sampling(const Json& body, const RequestDefaults& defaults,
                   tightfit::SamplingParams& sampling);
// A string or an array of strings (OpenAI's `stop`, Anthropic's `stop_sequences`).
std::vector<std::string> read_stop(const Json& body, const char* key);
// ignore_eos (vLLM / llama-server): generate to the token budget.
bool read_ignore_eos(const Json& body);

// tightfit's extension `draft_tokens` (speculative decoding with the model's MTP head, per
// request; absent: the server's --draft): Request::draft_tokens.
std::optional<int> read_draft_tokens(const Json& body);
// max_completion_tokens, else max_tokens, else the server's --max-tokens.
std::optional<int> read_max_tokens(const Json& body, const RequestDefaults& defaults);
// chat_template_kwargs over --chat-template-args; `enable_thinking` (there or top level) becomes
// Request::enable_thinking, the rest Request::template_kwargs. thinking_budget over
// --reasoning-budget.
void read_template_inputs(const Json& body, const RequestDefaults& defaults,
                          tightfit::Request& request);
// n (only 1; more choices per request are refused).
void check_unsupported(const Json& body);
// response_format: {"type": "text" | "json_object" | "json_schema", "json_schema": {"schema"}}
// (OpenAI's structured outputs); the engine enforces it by constrained sampling.
void read_response_format(const Json& body, tightfit::Request& request);

}  // namespace tf::server
