// Eval results as JSON documents (docs/eval.md "Result files") and the Markdown table `eval
// compare` makes of several of them. Every document records what produced it: the eval, the
// model (name, path, bits per weight, bytes), tightfit's version and the SHA-256 of the data.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "tightfit/eval.h"

#ifndef TIGHTFIT_VERSION
#define TIGHTFIT_VERSION "unknown"
#endif

namespace tightfit::eval {

namespace {

using nlohmann::ordered_json;

// NaN and infinities are not JSON: they become null.
ordered_json number(double x) { return std::isfinite(x) ? ordered_json(x) : ordered_json(nullptr); }

ordered_json header(const RunInfo& run, bool complete) {
  ordered_json j;
  j["tightfit_eval"] = 1;  // the document format's version
  j["eval"] = run.eval;
  j["tightfit_version"] = TIGHTFIT_VERSION;
  j["label"] = run.label.empty() ? run.model.name : run.label;
  j["model"] = {{"name", run.model.name},
                {"path", run.model.path},
                {"model_type", run.model.model_type},
                {"bits_per_weight", number(run.model.bits_per_weight)},
                {"weight_bytes", run.model.weight_bytes},
                {"vocab_size", run.model.vocab_size},
                {"activations", run.model.activations},
                {"kv_type", run.model.kv_type}};
  j["data"] = {{"file", run.data_file}, {"sha256", run.data_sha256}};
  j["complete"] = complete;
  return j;
}

ordered_json nll_json(const NllStats& n) {
  return {{"tokens_scored", n.count},
          {"mean_nll", number(n.mean())},
          {"nll_standard_error", number(n.standard_error())},
          {"ppl", number(n.perplexity())},
          {"ppl_margin95", number(n.perplexity_margin95())},
          {"ppl_low95", number(n.perplexity() - n.perplexity_margin95())},
          {"ppl_high95", number(n.perplexity() + n.perplexity_margin95())}};
}

int64_t resolved_stride(const WindowOptions& w) { return w.stride == 0 ? w.context / 2 : w.stride; }

bool reports_acc_norm(McTask task) { return task == McTask::arc || task == McTask::hellaswag; }

std::string fixed(double x, int digits) {
  if (!std::isfinite(x)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, x);
  return buffer;
}

std::string size_text(double bytes) {
  char buffer[64];
  if (bytes >= 1e9) std::snprintf(buffer, sizeof buffer, "%.2f GB", bytes / 1e9);
  else std::snprintf(buffer, sizeof buffer, "%.1f MB", bytes / 1e6);
  return buffer;
}

double get_number(const ordered_json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

}  // namespace

std::string result_json(const RunInfo& run, const PerplexityResult& r, const WindowOptions& w) {
  ordered_json j = header(run, r.complete);
  j["settings"] = {{"context", w.context}, {"stride", resolved_stride(w)}};
  j["results"] = nll_json(r.nll);
  j["results"]["tokens"] = r.tokens;
  j["results"]["windows"] = r.windows;
  return j.dump(2) + "\n";
}

std::string result_json(const RunInfo& run, const KldResult& r, const WindowOptions& w,
                        const std::string& reference_name) {
  ordered_json j = header(run, r.complete);
  j["settings"] = {{"context", w.context}, {"stride", resolved_stride(w)}, {"reference", reference_name}};
  ordered_json res;
  res["tokens_scored"] = r.tokens;
  res["kld_mean"] = number(r.mean_kl());
  res["kld_standard_error"] = number(r.kl_standard_error());
  res["kld_median"] = number(quantile(r.kl, 0.5));
  res["kld_p99"] = number(quantile(r.kl, 0.99));
  res["kld_p99_9"] = number(quantile(r.kl, 0.999));
  res["kld_max"] = number(quantile(r.kl, 1.0));
  res["same_top"] = number(r.same_top_rate());
  res["mean_delta_p"] = number(r.mean_dp());
  res["rms_delta_p"] = number(r.rms_dp());
  res["model"] = nll_json(r.model_nll);
  res["reference"] = nll_json(r.reference_nll);
  j["results"] = res;
  return j.dump(2) + "\n";
}

std::string result_json(const RunInfo& run, const McResult& r) {
  ordered_json j = header(run, r.complete);
  j["settings"] = {{"task", to_string(r.task)}};
  j["results"] = {{"task", to_string(r.task)},
                  {"items", r.items},
                  {"acc", number(r.acc())},
                  {"acc_standard_error", number(r.acc_standard_error())},
                  {"acc_norm", reports_acc_norm(r.task) ? number(r.acc_norm()) : ordered_json(nullptr)}};
  return j.dump(2) + "\n";
}

std::string result_json(const RunInfo& run, const LangResult& r) {
  ordered_json j = header(run, r.complete);
  ordered_json failures = ordered_json::array();
  for (const LangAnswer& a : r.answers) {
    if (a.verdict.ok()) continue;
    failures.push_back({{"prompt", a.prompt},
                        {"answer", a.answer},
                        {"stop", a.stop},
                        {"expected_share", number(a.verdict.expected_share)},
                        {"foreign", a.verdict.foreign_scripts},
                        {"garbage", a.verdict.garbage_reason},
                        {"loop", a.verdict.loop}});
  }
  const int64_t n = static_cast<int64_t>(r.answers.size());
  j["results"] = {{"prompts", n},      {"ok", r.ok},        {"foreign", r.foreign},
                  {"garbage", r.garbage}, {"loops", r.loops}, {"failures", failures}};
  return j.dump(2) + "\n";
}

std::string compare_table(const std::vector<std::string>& documents) {
  struct Row {
    double bpw = NAN, bytes = NAN, ppl = NAN, kld = NAN, same_top = NAN;
    std::map<std::string, std::string> tasks;
    std::string lang;
  };
  std::vector<std::string> labels, task_columns;
  std::map<std::string, Row> rows;
  for (size_t i = 0; i < documents.size(); ++i) {
    const ordered_json j = tf::parse_ordered_json(documents[i], "result " + std::to_string(i + 1));
    if (!j.is_object() || !j.contains("tightfit_eval") || !j.contains("eval") || !j.contains("results"))
      throw InvalidRequest("result " + std::to_string(i + 1) + " is not a tightfit eval result (no \"tightfit_eval\")");
    const std::string label = j.value("label", std::string("?"));
    if (!rows.count(label)) labels.push_back(label);
    Row& row = rows[label];
    row.bpw = get_number(j["model"], "bits_per_weight");
    row.bytes = get_number(j["model"], "weight_bytes");
    const ordered_json& res = j["results"];
    const std::string eval = j["eval"].get<std::string>();
    if (eval == "ppl") row.ppl = get_number(res, "ppl");
    if (eval == "kld") {
      row.kld = get_number(res, "kld_mean");
      row.same_top = get_number(res, "same_top");
      if (std::isnan(row.ppl) && res.contains("model")) row.ppl = get_number(res["model"], "ppl");
    }
    if (eval == "mc") {
      const std::string task = res.value("task", std::string("?"));
      if (std::find(task_columns.begin(), task_columns.end(), task) == task_columns.end()) task_columns.push_back(task);
      std::string cell = fixed(100 * get_number(res, "acc"), 1);
      if (res.contains("acc_norm") && res["acc_norm"].is_number())
        cell += " / " + fixed(100 * get_number(res, "acc_norm"), 1);
      row.tasks[task] = cell;
    }
    if (eval == "lang")
      row.lang = std::to_string(res.value("ok", 0)) + "/" + std::to_string(res.value("prompts", 0));
  }
  std::string t = "| model | bpw | size | ppl | KLD | same top |";
  std::string rule = "|---|---:|---:|---:|---:|---:|";
  for (const std::string& task : task_columns) t += " " + task + " |", rule += "---:|";
  t += " lang OK |\n" + rule + "---:|\n";
  for (const std::string& label : labels) {
    const Row& r = rows[label];
    t += "| " + label + " | " + fixed(r.bpw, 2) + " | " + (std::isnan(r.bytes) ? "-" : size_text(r.bytes)) + " | " +
         fixed(r.ppl, 3) + " | " + fixed(r.kld, 4) + " | " +
         (std::isnan(r.same_top) ? "-" : fixed(100 * r.same_top, 1) + " %") + " |";
    for (const std::string& task : task_columns) t += " " + (r.tasks.count(task) ? r.tasks.at(task) : "-") + " |";
    t += " " + (r.lang.empty() ? "-" : r.lang) + " |\n";
  }
  t += "\nppl: perplexity; KLD: mean KL(reference ‖ model) per token (nats); same top: argmaxes agree; "
       "tasks: acc % (/ acc_norm % where the harness reports it).\n";
  return t;
}

}  // namespace tightfit::eval
