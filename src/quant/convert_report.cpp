// The report `convert` prints at the end (and for --dry-run): rules, role table, bpw, memory.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "quant/converter.h"

namespace tf {

namespace {

std::string describe_rule(const RecipeRule& r) {
  std::string cond;
  auto add = [&](const std::string& s) { cond += (cond.empty() ? "" : ", ") + s; };
  if (!r.roles.empty()) {
    std::string roles;
    for (TensorRole role : r.roles) roles += (roles.empty() ? "" : "|") + std::string(role_name(role));
    add("role " + roles);
  }
  if (!r.glob.empty()) add("match " + r.glob);
  if (!r.regex.empty()) add("regex " + r.regex);
  if (r.layers) add("layers " + r.layers->to_json().dump());
  if (cond.empty()) cond = "everything else";
  return cond;
}

std::string action_text(const RecipeRule& r, int default_group) {
  if (r.action.keep) return "keep";
  return std::to_string(r.action.bits) + "-bit g" +
         std::to_string(r.action.group_size ? r.action.group_size : default_group);
}

std::string gb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
  return buf;
}

}  // namespace

std::string format_convert_report(const ConvertResult& r, const Recipe& recipe,
                                  const LoadMemoryEstimate& m) {
  const ConvertPlan& p = r.plan;
  std::string out = "recipe " + recipe.name + " (first matching rule wins):\n";
  const int group = recipe.group_size;
  for (size_t i = 0; i < recipe.rules.size(); ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "%6d module%s", p.rule_modules.at(i), p.rule_modules[i] == 1 ? " " : "s");
    out += "  " + std::to_string(i + 1) + ". " + describe_rule(recipe.rules[i]) + " -> " +
           action_text(recipe.rules[i], group) + "  [" + line + "]\n";
  }
  out += "\n" + format_role_table(r.summary);
  const uint64_t bytes = p.output_bytes();
  out += "output: " + human_bytes(bytes) + " of tensors (" + std::to_string(p.output_specs().size()) +
         " tensors" + (p.has_vision ? ", vision tower included" : ", text only") +
         (p.has_mtp ? ", MTP head kept" : "") + ")\n";
  out += "expected peak memory at load: " + gb(m.text_weights + m.state) + " = text weights " +
         gb(m.text_weights) + " + per-sequence state at " + std::to_string(m.context) + " tokens " +
         gb(m.state) + " (" + m.kv_type + " KV; `tightfit plan` for the whole budget)";
  if (m.vision_weights) out += " (+ " + gb(m.vision_weights) + " when the vision tower is loaded)";
  out += "\n";
  return out;
}

nlohmann::json convert_report_json(const ConvertResult& r, const Recipe& recipe, bool dry_run,
                                   const LoadMemoryEstimate& m) {
  nlohmann::json j = summary_to_json(r.summary);
  j["recipe"] = recipe.to_json();
  j["rule_modules"] = r.plan.rule_modules;
  j["dry_run"] = dry_run;
  j["from_config_only"] = r.from_config_only;
  j["output_bytes"] = r.plan.output_bytes();
  j["input_bytes"] = r.plan.input_bytes();
  j["has_vision"] = r.plan.has_vision;
  j["has_mtp"] = r.plan.has_mtp;
  j["plan_warnings"] = r.plan.warnings;
  j["dropped"] = r.plan.dropped;
  j["load_memory"] = {{"text_weights", m.text_weights}, {"vision_weights", m.vision_weights},
                      {"state", m.state}, {"context", m.context}, {"kv_type", m.kv_type}};
  if (!dry_run) {
    j["files"] = r.files;
    j["skipped_files"] = r.skipped_files;
    j["seconds"] = r.seconds;
    j["peak_rss_bytes"] = r.peak_rss_bytes;
  }
  return j;
}

}  // namespace tf
