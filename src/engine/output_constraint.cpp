#include "engine/output_constraint.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace tightfit {

namespace {

// The function names of Request::tools (OpenAI tool definitions, checked by the template).
std::vector<std::string> tool_names(const Request& r) {
  std::vector<std::string> names;
  if (r.tools.empty()) return names;
  const nlohmann::json tools = nlohmann::json::parse(r.tools, nullptr, /*allow_exceptions=*/false);
  if (!tools.is_array()) throw InvalidRequest("tools must be a JSON array of tool definitions", "tools");
  for (const nlohmann::json& tool : tools) {
    const auto function = tool.find("function");
    if (function != tool.end() && function->is_object() && function->contains("name") &&
        (*function)["name"].is_string())
      names.push_back((*function)["name"].get<std::string>());
  }
  return names;
}

std::shared_ptr<const tf::JsonSchemaGraph> tool_call_start(const Request& r) {
  const std::vector<std::string> names = tool_names(r);
  const bool named = r.tool_choice.mode == ToolChoice::Mode::function;
  if (names.empty())
    throw InvalidRequest(std::string("tool_choice '") + (named ? "function" : "required") +
                             "' needs tools: give the tool definitions in tools",
                         "tool_choice");
  std::vector<std::string> starts;
  for (const std::string& name : names)
    if (!named || name == r.tool_choice.function) starts.push_back("<tool_call>\n<function=" + name + ">");
  if (starts.empty()) {
    std::string known;
    for (const std::string& name : names) known += (known.empty() ? "" : ", ") + name;
    throw InvalidRequest("tool_choice names the function '" + r.tool_choice.function +
                             "', which is not one of the tools (" + known + ")",
                         "tool_choice");
  }
  tf::JsonSchemaGraph graph = tf::literal_graph(std::move(starts));
  graph.leading_whitespace = true;  // the template's "\n\n" after </think>
  return std::make_shared<const tf::JsonSchemaGraph>(std::move(graph));
}

std::shared_ptr<const tf::JsonSchemaGraph> json_format(const ResponseFormat& format) {
  if (format.type == ResponseFormat::Type::json_object)
    return std::make_shared<const tf::JsonSchemaGraph>(tf::json_object_graph());
  if (format.schema.empty())
    throw InvalidRequest("response_format: json_schema needs a schema", "response_format");
  const nlohmann::json schema = nlohmann::json::parse(format.schema, nullptr, false);
  if (schema.is_discarded())
    throw InvalidRequest("response_format: the json_schema's schema is not valid JSON", "response_format");
  try {
    return std::make_shared<const tf::JsonSchemaGraph>(tf::compile_json_schema(schema));
  } catch (const std::invalid_argument& e) {
    throw InvalidRequest(std::string("response_format: ") + e.what(), "response_format");
  }
}

}  // namespace

OutputConstraint make_output_constraint(const EngineContext& context, const Request& r) {
  OutputConstraint out;
  const ToolChoice::Mode mode = r.tool_choice.mode;
  const bool wants_call = mode == ToolChoice::Mode::required || mode == ToolChoice::Mode::function;
  if (wants_call && r.response_format.type != ResponseFormat::Type::text)
    throw InvalidRequest("response_format JSON and a required tool call exclude each other: the "
                         "answer cannot be both; drop one",
                         "tool_choice");
  if (r.response_format.type != ResponseFormat::Type::text) {
    out.graph = json_format(r.response_format);
    out.json = true;
  } else if (wants_call) {
    out.graph = tool_call_start(r);
  } else if (mode == ToolChoice::Mode::none) {
    if (auto id = context.tokenizer().token_to_id("<tool_call>"); id && *id < context.sampled_vocab)
      out.banned.push_back(*id);
  }
  // The vocabulary's byte order is built by the first constrained request, here on the
  // caller's thread rather than on the worker, where it would stall every running request.
  if (out.graph) (void)context.token_mask();
  return out;
}

ConstrainedSampling::ConstrainedSampling(const EngineContext& context, OutputConstraint constraint,
                                         bool starts_in_reasoning)
    : context_(context), constraint_(std::move(constraint)) {
  if (!constraint_.graph) return;
  state_.waiting_for_answer = starts_in_reasoning;
  if (!starts_in_reasoning) state_.json.emplace(constraint_.graph);
}

bool ConstrainedSampling::is_eos(int32_t token) const {
  return std::find(context_.eos_token_ids.begin(), context_.eos_token_ids.end(), token) !=
         context_.eos_token_ids.end();
}

std::span<const float> ConstrainedSampling::mask(std::span<const float> logits) {
  return mask(state_, allowed_, false, logits, true);
}

std::span<const float> ConstrainedSampling::mask(const State& state, std::vector<uint8_t>& allowed,
                                                 bool ready, std::span<const float> logits,
                                                 bool required) {
  if (!state.json && constraint_.banned.empty()) return logits;
  constexpr float kRefused = -std::numeric_limits<float>::infinity();
  masked_.assign(logits.begin(), logits.end());
  for (int32_t id : constraint_.banned) masked_[static_cast<size_t>(id)] = kRefused;
  if (!state.json) return masked_;
  const tf::TokenMask& vocabulary = context_.token_mask();
  if (!ready) {
    vocabulary.allowed(*state.json, /*allow_added=*/!constraint_.json, allowed);
    const bool may_end = constraint_.json && state.json->accepting();
    for (int32_t id : context_.eos_token_ids)
      if (id >= 0 && id < vocabulary.vocab_size()) allowed[static_cast<size_t>(id)] = may_end;
  }
  bool any = false;
  for (size_t t = 0; t < allowed.size(); ++t) {
    if (!allowed[t]) masked_[t] = kRefused;
    else any |= std::isfinite(masked_[t]);
  }
  if (any) return masked_;
  if (!required) return {};
  throw std::runtime_error(constraint_.json
                               ? "constrained sampling: no token continues the JSON answer"
                               : "constrained sampling: no token starts the tool call");
}

bool ConstrainedSampling::accept(int32_t token) { return advance(state_, token); }

bool ConstrainedSampling::advance(State& state, int32_t token) const {
  if (!constraint_.graph) return false;
  if (state.waiting_for_answer) {
    if (!context_.think_end.empty() && token == context_.think_end.front()) {
      state.waiting_for_answer = false;
      state.json.emplace(constraint_.graph);
    }
    return false;
  }
  if (!state.json) return false;
  if (is_eos(token)) return false;
  const tf::TokenMask& vocabulary = context_.token_mask();
  if (token < 0 || token >= vocabulary.vocab_size() || !state.json->advance(vocabulary.bytes(token)))
    throw std::runtime_error("constrained sampling: token " + std::to_string(token) +
                             " does not continue the constrained answer");
  if (!state.json->complete()) return false;
  if (constraint_.json) return true;
  state.json.reset();  // the tool call has begun: the rest is free
  return false;
}

void ConstrainedSampling::fork(int drafts) {
  if (!constraint_.active()) return;
  if (forks_.size() < static_cast<size_t>(drafts) + 1) forks_.resize(static_cast<size_t>(drafts) + 1);
  Fork& first = forks_[0];
  first.state = state_;  // copy-assignment reuses the fork's buffers once they have grown
  first.ended = false;
  // The committed state's tokens are not known here (plain steps mask into allowed_).
  first.allowed_ready = false;
}

std::span<const float> ConstrainedSampling::fork_mask(int j, std::span<const float> logits,
                                                      bool required) {
  if (!constraint_.active()) return logits;
  Fork& f = forks_.at(static_cast<size_t>(j));
  // Past the end of the text (a complete value, an EOS): plain decoding never chooses a token
  // here, and what a step chooses here is dropped.
  if (f.ended) return logits;
  const std::span<const float> out = mask(f.state, f.allowed, f.allowed_ready, logits, required);
  f.allowed_ready = f.state.json.has_value();
  return out;
}

bool ConstrainedSampling::fork_advance(int j, int32_t token) {
  if (!constraint_.active()) return true;
  const Fork& from = forks_.at(static_cast<size_t>(j));
  Fork& to = forks_.at(static_cast<size_t>(j) + 1);
  to.state = from.state;
  to.allowed_ready = false;
  // An EOS leaves the state as it is, as in accept (with ignore_eos the text goes on).
  to.ended = from.ended;
  if (to.ended) return false;
  try {
    to.ended = advance(to.state, token);
  } catch (const std::runtime_error&) {
    to.ended = true;  // a forced token the constraint refuses: plain decoding throws there
  }
  return !to.ended;
}

}  // namespace tightfit
