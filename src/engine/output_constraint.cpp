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
    : context_(context), constraint_(std::move(constraint)), waiting_for_answer_(starts_in_reasoning) {
  if (!constraint_.graph) return;
  if (!waiting_for_answer_) state_.emplace(constraint_.graph);
}

std::span<const float> ConstrainedSampling::mask(std::span<const float> logits) {
  if (!state_ && constraint_.banned.empty()) return logits;
  constexpr float kRefused = -std::numeric_limits<float>::infinity();
  masked_.assign(logits.begin(), logits.end());
  for (int32_t id : constraint_.banned) masked_[static_cast<size_t>(id)] = kRefused;
  if (!state_) return masked_;
  const tf::TokenMask& vocabulary = context_.token_mask();
  vocabulary.allowed(*state_, /*allow_added=*/!constraint_.json, allowed_);
  const bool may_end = constraint_.json && state_->accepting();
  for (int32_t id : context_.eos_token_ids)
    if (id >= 0 && id < vocabulary.vocab_size()) allowed_[static_cast<size_t>(id)] = may_end;
  bool any = false;
  for (size_t t = 0; t < allowed_.size(); ++t) {
    if (!allowed_[t]) masked_[t] = kRefused;
    else any |= std::isfinite(masked_[t]);
  }
  if (!any)
    throw std::runtime_error(constraint_.json
                                 ? "constrained sampling: no token continues the JSON answer"
                                 : "constrained sampling: no token starts the tool call");
  return masked_;
}

bool ConstrainedSampling::accept(int32_t token) {
  if (!constraint_.graph) return false;
  if (waiting_for_answer_) {
    if (!context_.think_end.empty() && token == context_.think_end.front()) {
      waiting_for_answer_ = false;
      state_.emplace(constraint_.graph);
    }
    return false;
  }
  if (!state_) return false;
  if (std::find(context_.eos_token_ids.begin(), context_.eos_token_ids.end(), token) !=
      context_.eos_token_ids.end())
    return false;
  const tf::TokenMask& vocabulary = context_.token_mask();
  if (token < 0 || token >= vocabulary.vocab_size() || !state_->advance(vocabulary.bytes(token)))
    throw std::runtime_error("constrained sampling: token " + std::to_string(token) +
                             " does not continue the constrained answer");
  if (!state_->complete()) return false;
  if (constraint_.json) return true;
  state_.reset();  // the tool call has begun: the rest is free
  return false;
}

}  // namespace tightfit
