// The public memory plan (include/tightfit/plan.h) over runtime/memory_plan.h's formulas and
// runtime/memory_guard.h's check.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "base/json_read.h"
#include "base/out_of_memory_error.h"
#include "model/interleaved_weights.h"
#include "runtime/memory_guard.h"
#include "runtime/memory_plan.h"
#include "runtime/peak_memory.h"
#include "tightfit/plan.h"

namespace tightfit {
namespace {

namespace fs = std::filesystem;

std::string gb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) / 1e9);
  return buf;
}
std::string mb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}
std::string size(uint64_t bytes) { return bytes >= 1'000'000'000 ? gb(bytes) : mb(bytes); }

std::string tokens_label(int64_t n) {
  if (n % 1024 == 0) return std::to_string(n / 1024) + "K";
  if (n % 1000 == 0) return std::to_string(n / 1000) + "K";
  return std::to_string(n);
}

}  // namespace

int64_t MemoryPlan::max_tokens() const {
  return tf::MemoryGuard(fixed_bytes, kv_bytes_per_token, limit).max_tokens();
}

void MemoryPlan::check_tokens(int64_t tokens) const {
  const tf::KVType type = tf::kv_type_for_bits(kv_bits);
  try {
    tf::MemoryGuard(fixed_bytes, kv_bytes_per_token, limit, tf::kv_type_name(type)).check(tokens);
  } catch (const tf::OutOfMemoryError& e) {
    throw OutOfMemory(e.what());
  }
}

MemoryPlan plan_memory(const PlanOptions& o) {
  // The process as it is now, before anything of the model is read.
  const uint64_t process = o.count_this_process ? tf::current_rss_bytes() : 0;
  tf::KVType kv_type;
  try {
    kv_type = tf::kv_type_for_bits(o.kv_bits);
  } catch (const std::invalid_argument& e) {
    throw InvalidRequest(e.what(), "kv_bits");
  }
  if (o.parallel < 1) throw InvalidRequest("parallel must be at least 1", "parallel");
  if (o.context < 0) throw InvalidRequest("context must not be negative", "context");
  if (o.prefill_chunk < 1) throw InvalidRequest("prefill_chunk must be positive", "prefill_chunk");
  if (o.draft_tokens < 0) throw InvalidRequest("draft_tokens must be >= 0 (0 = off)", "draft_tokens");

  fs::path path(o.model);
  std::error_code ec;
  if (o.model.empty() || !fs::exists(path, ec))
    throw ModelNotFound("no model folder or config.json at '" + o.model + "'");
  const fs::path dir = fs::is_directory(path, ec) ? path : path.parent_path();
  const fs::path config_file = fs::is_directory(path, ec) ? path / "config.json" : path;
  if (!fs::exists(config_file, ec))
    throw ModelNotFound(o.model + ": no config.json (plan needs the model's configuration)");
  bool has_weights = false;
  if (fs::is_directory(path, ec))
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".safetensors") has_weights = true;

  MemoryPlan out;
  out.model = o.model;
  tf::ModelConfig config;
  tf::ModelSummary weights;
  // The model's own files (param "model": front ends report them as unreadable input) apart
  // from the recipe the caller named (param "recipe").
  const char* reading = "model";
  try {
    config = tf::ModelConfig::from_json(tf::read_json_file(config_file), config_file.string());
    if (has_weights) {
      weights = tf::weights_of_checkpoint(dir.string());
      out.weights_from = "checkpoint";
    } else {
      reading = "recipe";
      weights = tf::weights_of_config(config, o.recipe);
      out.weights_from = "config + recipe " + (o.recipe.empty() ? "dynamic" : o.recipe);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw InvalidRequest(e.what(), reading);
  }
  tf::MemoryPlanOptions po;
  po.kv_type = kv_type;
  po.kv_group_size = o.kv_group_size;
  po.context = o.context;
  po.parallel = o.parallel;
  po.prefill_chunk = o.prefill_chunk;
  po.threads = o.threads > 0 ? o.threads : 1;
  po.vision = o.vision;
  po.interleaved = tf::interleaved_matrices_for(tf::default_activation_precision());
  po.prompt_cache_bytes = o.prompt_cache_bytes;
  po.process_base_bytes = process;
  po.count_runtime = o.count_this_process;
  po.memory_total = o.memory;
  po.reserve_bytes = o.reserve;
  po.draft_tokens = o.draft_tokens;
  const tf::MemoryPlan p = tf::plan_memory(config, weights, po);

  for (const auto& l : p.lines) out.items.push_back({l.name, l.bytes, l.file_backed});
  out.total = p.total_bytes;
  out.memory = p.memory_total;
  out.reserve = p.reserve_bytes;
  out.limit = p.limit_bytes;
  out.text_weight_bytes = p.text_weight_bytes;
  out.vision_weight_bytes = p.vision_weight_bytes;
  out.fixed_bytes = p.fixed_bytes;
  out.prompt_cache_bytes = p.prompt_cache_bytes;
  out.kv_bytes_per_token = p.kv_bytes_per_token;
  out.deltanet_bytes_per_sequence = p.deltanet_bytes_per_sequence;
  out.draft_tokens = p.draft_tokens;
  out.mtp_kv_bytes_per_token = p.mtp_kv_bytes_per_token;
  out.speculative_bytes_per_sequence = p.speculative_bytes_per_sequence;
  out.kv_bits = o.kv_bits;
  out.context = p.context;
  out.parallel = p.parallel;
  out.model_context = p.model_context;
  out.context_columns = p.context_columns;
  for (const auto& w : p.widths)
    out.kv_widths.push_back({tf::kv_quant_bits(w.type) ? tf::kv_quant_bits(w.type) : 16,
                             w.bytes_per_token, w.total_at, w.max_context});
  return out;
}

std::string MemoryPlan::to_text() const {
  std::string s = "Memory plan for " + model + " (weights from " + weights_from + ")\n\n";
  char line[200];
  for (const PlanItem& i : items) {
    std::snprintf(line, sizeof line, "  %-52s %12s  %s\n", i.name.c_str(), size(i.bytes).c_str(),
                  i.file_backed ? "page cache (mmapped)" : "anonymous");
    s += line;
  }
  std::snprintf(line, sizeof line, "  %-52s %12s\n", "total", size(total).c_str());
  s += line;
  std::snprintf(line, sizeof line,
                "  %-52s %12s  (%s memory − %s reserve)\n  %-52s %12s%s\n\n", "memory limit",
                size(limit).c_str(), size(memory).c_str(), size(reserve).c_str(), "headroom",
                (headroom() < 0 ? "−" + size(static_cast<uint64_t>(-headroom()))
                                : size(static_cast<uint64_t>(headroom())))
                    .c_str(),
                fits() ? "" : "  DOES NOT FIT");
  s += line;
  if (prompt_cache_bytes) {
    std::snprintf(line, sizeof line,
                  "prompt cache: up to %s of the headroom (elastic: its least recently used "
                  "entries go when sequences need the room)\n\n",
                  size(prompt_cache_bytes).c_str());
    s += line;
  }
  std::snprintf(line, sizeof line,
                "text weights %s, vision tower %s; KV %.2f KB/token (%d-bit), DeltaNet state %s "
                "per sequence\n\n",
                size(text_weight_bytes).c_str(), size(vision_weight_bytes).c_str(),
                static_cast<double>(kv_bytes_per_token) / 1e3, kv_bits,
                mb(deltanet_bytes_per_sequence).c_str());
  s += line;
  if (draft_tokens > 0) {
    std::snprintf(line, sizeof line,
                  "speculative decoding, %d drafts per step: MTP head KV %.2f KB/token (in the KV "
                  "per token), %s verify and draft buffers per sequence\n\n",
                  draft_tokens, static_cast<double>(mtp_kv_bytes_per_token) / 1e3,
                  mb(speculative_bytes_per_sequence).c_str());
    s += line;
  }
  // Per KV width: total at each context column and the largest context that fits.
  std::string header = "  KV width   per token";
  for (int64_t n : context_columns) {
    std::snprintf(line, sizeof line, " %11s", ("@" + tokens_label(n)).c_str());
    header += line;
  }
  s += header + "   max context (× " + std::to_string(parallel) + ")\n";
  for (const PlanKVWidth& w : kv_widths) {
    std::snprintf(line, sizeof line, "  %2d-bit %11.1f KB", w.bits,
                  static_cast<double>(w.bytes_per_token) / 1e3);
    std::string row = line;
    for (uint64_t t : w.total_at) {
      std::snprintf(line, sizeof line, " %8.2f GB%s", static_cast<double>(t) / 1e9,
                    t <= limit ? " " : "!");
      row += line;
    }
    std::snprintf(line, sizeof line, "   %lld\n", static_cast<long long>(w.max_context));
    s += row + line;
  }
  s += "  (! = over the limit; max context capped at the model's " +
       std::to_string(model_context) + ")\n";
  return s;
}

std::string MemoryPlan::to_json() const {
  nlohmann::ordered_json j;
  j["model"] = model;
  j["weights_from"] = weights_from;
  for (const PlanItem& i : items)
    j["items"].push_back({{"name", i.name}, {"bytes", i.bytes}, {"file_backed", i.file_backed}});
  j["total_bytes"] = total;
  j["memory_bytes"] = memory;
  j["reserve_bytes"] = reserve;
  j["limit_bytes"] = limit;
  j["headroom_bytes"] = headroom();
  j["fits"] = fits();
  j["text_weight_bytes"] = text_weight_bytes;
  j["vision_weight_bytes"] = vision_weight_bytes;
  j["fixed_bytes"] = fixed_bytes;
  j["prompt_cache_bytes"] = prompt_cache_bytes;
  j["kv_bits"] = kv_bits;
  j["kv_bytes_per_token"] = kv_bytes_per_token;
  j["deltanet_bytes_per_sequence"] = deltanet_bytes_per_sequence;
  j["draft_tokens"] = draft_tokens;
  j["mtp_kv_bytes_per_token"] = mtp_kv_bytes_per_token;
  j["speculative_bytes_per_sequence"] = speculative_bytes_per_sequence;
  j["context"] = context;
  j["parallel"] = parallel;
  j["model_context"] = model_context;
  j["context_columns"] = context_columns;
  for (const PlanKVWidth& w : kv_widths)
    j["kv_widths"].push_back({{"bits", w.bits},
                              {"bytes_per_token", w.bytes_per_token},
                              {"total_at", w.total_at},
                              {"max_context", w.max_context}});
  return j.dump(2);
}

uint64_t parse_byte_size(const std::string& text, const std::string& what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = text.substr(used);
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  for (char& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  double mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "K" || unit == "KB") mult = 1e3;
  else if (unit == "M" || unit == "MB") mult = 1e6;
  else if (unit == "G" || unit == "GB") mult = 1e9;
  else if (unit == "T" || unit == "TB") mult = 1e12;
  else if (unit == "KIB") mult = 1024.0;
  else if (unit == "MIB") mult = 1024.0 * 1024;
  else if (unit == "GIB") mult = 1024.0 * 1024 * 1024;
  if (used == 0 || mult == 0 || !(v >= 0) || !std::isfinite(v * mult) || v * mult > 1e18)
    throw InvalidRequest(what + ": '" + text + "' is not a size (e.g. 16GB, 3.5GB, 512MiB)", what);
  return static_cast<uint64_t>(std::llround(v * mult));
}

}  // namespace tightfit
