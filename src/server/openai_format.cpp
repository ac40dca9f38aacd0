#include "server/openai_format.h"

#include <chrono>
#include <random>

namespace tf::server {

std::string new_id(const std::string& prefix) {
  static thread_local std::mt19937_64 random(std::random_device{}());
  static const char* digits = "0123456789abcdef";
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += digits[random() & 15];
  return id;
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string finish_reason(const tightfit::Event& done, int tool_calls) {
  if (tool_calls > 0) return "tool_calls";
  switch (done.stop) {
    case tightfit::StopReason::max_tokens:
    case tightfit::StopReason::context_full: return "length";
    default: return "stop";
  }
}

nlohmann::json usage_json(const tightfit::Usage& usage, UsageShape shape) {
  nlohmann::json out;
  if (shape == UsageShape::anthropic)
    out = {{"input_tokens", usage.prompt_tokens - usage.cached_tokens},
           {"output_tokens", usage.completion_tokens},
           {"cache_read_input_tokens", usage.cached_tokens},
           {"cache_creation_input_tokens", 0}};
  else
    out = {{"prompt_tokens", usage.prompt_tokens},
           {"completion_tokens", usage.completion_tokens},
           {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
           {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}},
           {"completion_tokens_details", {{"reasoning_tokens", usage.reasoning_tokens}}}};
  // tightfit's extension, only when the request ran speculative steps.
  const tightfit::SpeculativeUsage& spec = usage.speculative;
  if (spec.steps > 0)
    out["speculative"] = {{"steps", spec.steps},
                          {"drafts_proposed", spec.drafts_proposed},
                          {"drafts_accepted", spec.drafts_accepted},
                          {"proposed_per_position", spec.proposed_at},
                          {"accepted_per_position", spec.accepted_at}};
  return out;
}

nlohmann::json usage_chunk(nlohmann::json chunk, const tightfit::Usage& usage) {
  chunk["choices"] = nlohmann::json::array();
  chunk["usage"] = usage_json(usage);
  return chunk;
}

namespace {

nlohmann::json bytes_of(const std::string& text) {
  nlohmann::json bytes = nlohmann::json::array();
  for (unsigned char c : text) bytes.push_back(c);
  return bytes;
}

}  // namespace

nlohmann::json chat_logprobs_json(const std::vector<tightfit::TokenLogprob>& logprobs,
                                  const tightfit::Engine& engine) {
  nlohmann::json content = nlohmann::json::array();
  for (const tightfit::TokenLogprob& entry : logprobs) {
    const std::string text = engine.token_text(entry.token);
    nlohmann::json top = nlohmann::json::array();
    for (const auto& [token, logprob] : entry.top) {
      const std::string alternative = engine.token_text(token);
      top.push_back({{"token", alternative}, {"logprob", logprob}, {"bytes", bytes_of(alternative)}});
    }
    content.push_back(
        {{"token", text}, {"logprob", entry.logprob}, {"bytes", bytes_of(text)}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

nlohmann::json completion_logprobs_json(const std::vector<tightfit::TokenLogprob>& logprobs,
                                        const tightfit::Engine& engine) {
  nlohmann::json tokens = nlohmann::json::array(), values = nlohmann::json::array(),
                 tops = nlohmann::json::array();
  for (const tightfit::TokenLogprob& entry : logprobs) {
    tokens.push_back(engine.token_text(entry.token));
    values.push_back(entry.logprob);
    nlohmann::json top = nlohmann::json::object();
    for (const auto& [token, logprob] : entry.top) top[engine.token_text(token)] = logprob;
    tops.push_back(top);
  }
  return {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}};
}

nlohmann::json tool_call_json(const OutputDelta& delta, const std::string& id) {
  return {{"index", delta.tool_index},
          {"id", id},
          {"type", "function"},
          {"function", {{"name", delta.call.name}, {"arguments", delta.call.arguments}}}};
}

}  // namespace tf::server
