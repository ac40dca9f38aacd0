// `tightfit inspect PATH`: what a checkpoint holds — architecture, layout flavour (spec §2.8),
// key dimensions, layer pattern, parameters / bytes / precision per role and bits per weight as
// MLX counts them (spec §5.7). Reads only headers and config.json, never the weights.
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_flag.h"
#include "quant/checkpoint_description.h"
#include "quant/model_summary.h"
#include "quant/tensor_roles.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"
#include "storage/tensor_names.h"

namespace tf::cli {

namespace {

struct InspectOptions {
  std::string path;   // the positional PATH
  std::string model;  // or --model
  const std::string& named() const { return path.empty() ? model : path; }
  bool json = false;
};

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return s;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// "3 × linear_attention, 1 × full_attention, repeated 10 times; full attention at layers 3, 7, …"
std::string layer_pattern(const TextConfig& t) {
  const auto& L = t.layer_types;
  const size_t n = L.size();
  size_t period = n;
  for (size_t p = 1; p <= n; ++p) {
    if (n % p) continue;
    bool ok = true;
    for (size_t i = p; ok && i < n; ++i) ok = L[i] == L[i - p];
    if (ok) {
      period = p;
      break;
    }
  }
  std::string runs;
  for (size_t i = 0; i < period;) {
    size_t j = i;
    while (j < period && L[j] == L[i]) ++j;
    runs += (runs.empty() ? "" : ", ") + std::to_string(j - i) + " × " +
            (L[i] == LayerType::FullAttention ? "full_attention" : "linear_attention");
    i = j;
  }
  std::string out = runs + (n / period > 1 ? ", repeated " + std::to_string(n / period) + " times" : "");
  std::vector<int> full;
  for (size_t i = 0; i < n; ++i)
    if (L[i] == LayerType::FullAttention) full.push_back(static_cast<int>(i));
  return out + "; full attention at layers " + (full.empty() ? "none" : join_ints(full));
}

std::string layout_line(const LayoutEvidence& e) {
  std::string s(flavour_name(e.flavour));
  std::vector<std::string> parts;
  if (e.flavour == CheckpointFlavour::HuggingFace) parts.push_back("zero-centred norms stored as w");
  if (e.flavour == CheckpointFlavour::MlxVlm || e.flavour == CheckpointFlavour::MlxLm)
    parts.push_back("zero-centred norms stored as 1+w");
  if (!e.experts.empty()) parts.push_back(e.experts);
  if (!e.conv1d.empty()) parts.push_back("conv1d " + e.conv1d);
  if (!e.format.empty()) parts.push_back("format \"" + e.format + "\"");
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? ", " : ": ") + parts[i];
  return s;
}

std::string quant_line(const ModelConfig* config, const ModelSummary& s) {
  std::string out;
  if (config && config->quantization) {
    const auto& q = *config->quantization;
    out = "config defaults " + std::to_string(q.defaults.bits) + "-bit g" +
          std::to_string(q.defaults.group_size) + " " + q.defaults.mode + ", " +
          std::to_string(q.overrides.size()) + " per-module entries; ";
  }
  if (s.quantized.empty()) return out + "no quantized tensors";
  std::map<std::string, int> counts;
  for (const auto& m : s.quantized) counts[std::to_string(m.bits) + "-bit g" + std::to_string(m.group_size)]++;
  out += std::to_string(s.quantized.size()) + " quantized modules (";
  bool first = true;
  for (const auto& [f, n] : counts) {
    out += (first ? "" : ", ") + f + " × " + std::to_string(n);
    first = false;
  }
  return out + ")";
}

void print_text(const InspectOptions& o, const Checkpoint& ck, const ModelConfig* config,
                const ModelSummary& s, const LayoutEvidence& e) {
  auto line = [](const char* key, const std::string& value) {
    std::printf("%-14s %s\n", key, value.c_str());
  };
  line("checkpoint", o.named());
  std::string files = std::to_string(ck.files().size()) + (ck.files().size() == 1 ? " file" : " files") +
                      ", " + std::to_string(ck.names().size()) + " tensors, " +
                      with_commas(ck.total_bytes()) + " bytes on disk = " + human_bytes(ck.total_bytes());
  line("files", files);
  if (config) {
    std::string arch;
    for (const auto& a : config->architectures) arch += (arch.empty() ? "" : ", ") + a;
    line("architecture", (arch.empty() ? std::string("(none listed)") : arch) + " (model_type " +
                             config->model_type + ", text " + config->text.model_type + ")");
  } else {
    line("architecture", "unknown: no config.json in " + ck.dir());
  }
  line("layout", layout_line(e));
  if (config) {
    const TextConfig& t = config->text;
    line("text", "hidden " + std::to_string(t.hidden_size) + ", " + std::to_string(t.num_hidden_layers) +
                     " layers, vocab " + std::to_string(t.vocab_size) + ", " +
                     (t.tie_word_embeddings ? "lm_head tied to the embedding" : "separate lm_head") +
                     ", rms_norm_eps " + num(t.rms_norm_eps));
    line("layer pattern", layer_pattern(t));
    line("attention", std::to_string(t.num_attention_heads) + " query / " +
                          std::to_string(t.num_key_value_heads) + " kv heads × " + std::to_string(t.head_dim) +
                          (t.attn_output_gate ? ", output gate" : "") + ", rotary " +
                          std::to_string(t.rotary_dim()) + " of " + std::to_string(t.head_dim) +
                          " dims, theta " + num(t.rope_theta) +
                          (t.mrope_section.empty() ? "" : ", mrope [" + join_ints(t.mrope_section) + "]") +
                          (t.mrope_interleaved && !t.mrope_section.empty() ? " interleaved" : ""));
    line("deltanet", std::to_string(t.linear_num_key_heads) + " key / " +
                         std::to_string(t.linear_num_value_heads) + " value heads × " +
                         std::to_string(t.linear_key_head_dim) + " / " + std::to_string(t.linear_value_head_dim) +
                         ", conv kernel " + std::to_string(t.linear_conv_kernel_dim));
    if (t.num_experts > 0)
      line("moe", std::to_string(t.num_experts) + " experts, top " + std::to_string(t.num_experts_per_tok) +
                      ", expert width " + std::to_string(t.moe_intermediate_size) + ", shared expert " +
                      std::to_string(t.shared_expert_intermediate_size));
    else
      line("mlp", "dense SwiGLU, width " + std::to_string(t.intermediate_size));
    if (config->vision) {
      const VisionConfig& v = *config->vision;
      const bool has_tensors = s.role(TensorRole::Vision).tensors > 0;
      line("vision", "depth " + std::to_string(v.depth) + ", hidden " + std::to_string(v.hidden_size) + ", " +
                         std::to_string(v.num_heads) + " heads, mlp " + std::to_string(v.intermediate_size) +
                         ", patch " + std::to_string(v.patch_size) + ", merge " +
                         std::to_string(v.spatial_merge_size) + " → " + std::to_string(v.out_hidden_size) +
                         (has_tensors ? "" : " (in config.json only: no vision tensors)"));
    }
  }
  line("quantization", quant_line(config, s));
  line("parameters", with_commas(s.total.params) + " (" + human_count(s.total.params) + ")");
  std::printf("\n%s", format_role_table(s).c_str());
  for (const auto& w : s.warnings) std::printf("warning: %s\n", w.c_str());
}

// A .safetensors file as is; anything else names a model as --model does everywhere.
std::string checkpoint_path(const InspectOptions& o) {
  if (o.path.empty() == o.model.empty())
    throw UsageError("give the model as PATH or --model, once");
  if (!o.model.empty()) return resolve_model_flag(o.model).dir.string();
  std::error_code ec;
  if (std::filesystem::is_regular_file(o.path, ec)) return o.path;
  return resolve_model_flag(o.path, "PATH").dir.string();
}

void run_inspect(const InspectOptions& o) {
  const CheckpointDescription d = describe_checkpoint(checkpoint_path(o));
  const ModelConfig* c = d.config ? &*d.config : nullptr;
  if (o.json) std::printf("%s\n", describe_checkpoint_json(o.named(), d).dump(2).c_str());
  else print_text(o, *d.checkpoint, c, d.summary, d.layout);
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Describe a checkpoint: architecture, parameters, bits");
  auto opts = std::make_shared<InspectOptions>();
  cmd->add_option("path", opts->path,
                  "Model folder, .safetensors file or Hugging Face repo id (org/name[@revision])");
  cmd->add_option("--model,-m", opts->model, std::string(kModelFlagHelp) + " (instead of PATH)");
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of the table");
  cmd->callback([opts] { run_inspect(*opts); });
}

}  // namespace tf::cli
