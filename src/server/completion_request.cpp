// OpenAI's (legacy) completions request (https://platform.openai.com/docs/api-reference/completions)
// → tightfit::Request: a raw prompt, no chat template.
#include <climits>

#include "server/api_error.h"
#include "server/parsed_request.h"
#include "server/request_fields.h"

namespace tf::server {

ParsedRequest parse_completion_request(const Json& raw_body, const ServerOptions& options) {
  if (!raw_body.is_object()) throw bad_request("the request body must be a JSON object");
  const Json body = merge_extra_body(raw_body);
  ParsedRequest parsed;
  tightfit::Request& request = parsed.request;

  // prompt: a string, an array of one string, or an array of token ids.
  const Json* prompt = find_field(body, "prompt");
  if (!prompt) throw bad_request("'prompt' is required", "prompt");
  if (prompt->is_string()) {
    request.prompt = prompt->get<std::string>();
  } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    request.prompt = (*prompt)[0].get<std::string>();
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()) {
    for (size_t i = 0; i < prompt->size(); ++i) {
      const Json& id = (*prompt)[i];
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
        throw bad_request("'prompt' token ids must be non-negative integers", param_index("prompt", i));
      request.prompt_tokens.push_back(static_cast<int32_t>(id.get<int64_t>()));
    }
  } else if (prompt->is_array() && prompt->size() > 1) {
    throw bad_request("'prompt' may hold one string: batches of prompts are not supported", "prompt");
  } else {
    throw bad_request("'prompt' must be a string or an array of token ids", "prompt");
  }
  if (request.prompt.empty() && request.prompt_tokens.empty())
    throw bad_request("'prompt' must not be empty", "prompt");
  if (bool_field(body, "echo", "echo").value_or(false))
    throw bad_request("'echo' is not supported", "echo");
  if (auto best_of = integer_field(body, "best_of", "best_of", 1, INT_MAX); best_of && *best_of != 1)
    throw bad_request("'best_of' must be 1", "best_of");

  check_unsupported(body);
  read_response_format(body, request);
  read_sampling(body, options.defaults, request.sampling);
  request.ignore_eos = read_ignore_eos(body);
  request.draft_tokens = read_draft_tokens(body);
  request.max_tokens = read_max_tokens(body, options.defaults);
  request.stop = read_stop(body, "stop");
  parsed.stream = bool_field(body, "stream", "stream").value_or(false);
  if (const Json* stream_options = object_field(body, "stream_options", "stream_options"))
    parsed.include_usage =
        bool_field(*stream_options, "include_usage", "stream_options.include_usage").value_or(false);
  // logprobs here is the number of alternatives (0..5), not a boolean.
  if (auto logprobs = integer_field(body, "logprobs", "logprobs", 0, 20)) {
    parsed.logprobs = true;
    request.logprobs = static_cast<int>(*logprobs);
  }
  return parsed;
}

}  // namespace tf::server
