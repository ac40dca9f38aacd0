// The generation routes: a parsed request run on the engine and answered in its API's shape,
// streamed or whole. Each throws ApiError for what is refused before anything is written.
#pragma once

#include <httplib.h>

#include "server/parsed_request.h"
#include "server/server_state.h"

namespace tf::server {

void answer_chat_completion(ServerState& state, ParsedRequest parsed, httplib::Response& res);
void answer_completion(ServerState& state, ParsedRequest parsed, httplib::Response& res);
void answer_anthropic_message(ServerState& state, ParsedRequest parsed, httplib::Response& res);
// POST /v1/messages/count_tokens: {"input_tokens": N}.
void answer_anthropic_count_tokens(ServerState& state, ParsedRequest parsed, httplib::Response& res);

}  // namespace tf::server
