// Memory plan formulas and the plan of a run (runtime/memory_plan.h).
#include "runtime/memory_plan.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "kernels/linear_internal.h"
#include "quant/convert_plan.h"
#include "quant/hf_shape_plan.h"
#include "quant/recipe.h"
#include "storage/safetensors.h"

namespace tf {
namespace {

constexpr uint64_t kFloat = sizeof(float);

int attention_layers(const TextConfig& c) {
  int n = 0;
  for (int i = 0; i < c.num_hidden_layers; ++i) n += c.layer_types[i] == LayerType::FullAttention;
  return n;
}

// Channels of a DeltaNet layer's raw conv row: queries and keys of every key head, values of
// every value head (spec §3.4).
int64_t deltanet_conv_dim(const TextConfig& c) {
  return 2LL * c.linear_num_key_heads * c.linear_key_head_dim +
         static_cast<int64_t>(c.linear_num_value_heads) * c.linear_value_head_dim;
}

// A number from a /proc or /sys file (first token); 0 when unreadable or "max".
uint64_t read_number(const std::string& path, const std::string& key = {}) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!key.empty() && line.rfind(key, 0) != 0) continue;
    std::istringstream s(key.empty() ? line : line.substr(key.size()));
    uint64_t v = 0;
    if (s >> v) return v;
    return 0;
  }
  return 0;
}

}  // namespace

uint64_t kv_bytes_per_token(const TextConfig& c, KVType type, int group_size) {
  const size_t row = kv_row_bytes(type, c.head_dim, kv_group_for(group_size, c.head_dim));
  return static_cast<uint64_t>(attention_layers(c)) * 2 * c.num_key_value_heads * row;
}

uint64_t mtp_kv_bytes_per_token(const TextConfig& c, KVType type, int group_size) {
  const size_t row = kv_row_bytes(type, c.head_dim, kv_group_for(group_size, c.head_dim));
  return 2ull * c.num_key_value_heads * row;
}

uint64_t speculative_bytes_per_sequence(const TextConfig& c, int drafts, int64_t chunk) {
  if (drafts <= 0) return 0;
  const uint64_t rows = static_cast<uint64_t>(drafts) + 1, H = c.hidden_size;
  // Per DeltaNet layer (GatedDeltaNetHistory): the old window and the raw conv rows, the
  // recurrent state before the batch, and every verify row's delta-rule inputs (a conv row and
  // two gates per value head).
  const int linear = c.num_hidden_layers - attention_layers(c);
  const uint64_t recurrent = static_cast<uint64_t>(c.linear_num_value_heads) *
                             c.linear_key_head_dim * c.linear_value_head_dim;
  const uint64_t conv_dim = deltanet_conv_dim(c);
  const uint64_t history =
      static_cast<uint64_t>(linear) *
      ((c.linear_conv_kernel_dim - 1 + rows) * conv_dim + recurrent +
       rows * (conv_dim + 2ull * c.linear_num_value_heads));
  // The verify rows' outputs past the first: logits and hidden state.
  const uint64_t verify = (rows - 1) * (c.vocab_size + H);
  // The head (model/mtp_head.cpp): embeddings, concat (2H), residual, normed, branch and g of
  // `chunk` rows; its attention and MoE scratch as a main attention layer's; one logits row.
  const uint64_t T = static_cast<uint64_t>(std::max<int64_t>(chunk, rows));
  const ActivationBytes layer = activation_bytes(c, static_cast<int64_t>(T), 1);
  const uint64_t q = static_cast<uint64_t>(c.num_attention_heads) * c.head_dim;
  const uint64_t kv = static_cast<uint64_t>(c.num_key_value_heads) * c.head_dim;
  const uint64_t attention = T * (q * (c.attn_output_gate ? 2 : 1) + 2 * kv + 2 * q);
  const uint64_t head = 7 * T * H + attention + c.vocab_size + H;
  return (history + verify + head) * kFloat + layer.moe;
}

uint64_t deltanet_state_bytes(const TextConfig& c) {
  const int linear = c.num_hidden_layers - attention_layers(c);
  const uint64_t recurrent = static_cast<uint64_t>(c.linear_num_value_heads) *
                             c.linear_key_head_dim * c.linear_value_head_dim;
  const uint64_t conv = static_cast<uint64_t>(c.linear_conv_kernel_dim - 1) * deltanet_conv_dim(c);
  return static_cast<uint64_t>(linear) * (recurrent + conv) * kFloat;
}

ActivationBytes activation_bytes(const TextConfig& c, int64_t tokens, int sequences) {
  const uint64_t T = static_cast<uint64_t>(tokens), H = c.hidden_size;
  ActivationBytes a;
  a.residual = 3 * T * H * kFloat;  // hidden_, normed_, branch_
  // Full attention: q|gate, k, v, rotated q, output (gated_attention.cpp).
  const uint64_t q = static_cast<uint64_t>(c.num_attention_heads) * c.head_dim;
  const uint64_t kv = static_cast<uint64_t>(c.num_key_value_heads) * c.head_dim;
  const uint64_t attn = T * (q * (c.attn_output_gate ? 2 : 1) + 2 * kv + 2 * q) * kFloat;
  // DeltaNet: mixed and conv_out rows, z and core, b / a / g / β.
  const uint64_t conv_dim = static_cast<uint64_t>(deltanet_conv_dim(c));
  const uint64_t value_dim =
      static_cast<uint64_t>(c.linear_num_value_heads) * c.linear_value_head_dim;
  const uint64_t gdn =
      T * (2 * conv_dim + 2 * value_dim + 4ull * c.linear_num_value_heads) * kFloat;
  a.attention = attn + (c.linear_num_value_heads > 0 ? gdn : 0);  // both scratches live on
  // MoE: router logits, k routed copies of each row in and out, their gate / up products, the
  // shared expert's (moe.cpp); a dense MLP's gate / up instead.
  if (c.num_experts > 0) {
    const uint64_t R = T * c.num_experts_per_tok;
    a.moe = (T * c.num_experts + 2 * R * H + 2 * R * c.moe_intermediate_size +
             2 * T * c.shared_expert_intermediate_size + T * H + T) *
            kFloat;
  } else {
    a.moe = 2 * T * static_cast<uint64_t>(c.intermediate_size) * kFloat;
  }
  a.logits = static_cast<uint64_t>(std::max(sequences, 1)) * (c.vocab_size + H) * kFloat;
  return a;
}

ModelSummary weights_of_checkpoint(const std::string& dir) {
  const auto ck = Checkpoint::open(dir);
  const ModelConfig config = ModelConfig::load(ck->dir());
  return summarize_model(ck->specs(), config.quantization ? &*config.quantization : nullptr);
}

ModelSummary weights_of_config(const ModelConfig& config, const std::string& recipe) {
  HfShapePlanOptions shapes;
  shapes.mtp = false;  // MLX loaders drop mtp.*; convert drops it unless asked
  const std::vector<TensorSpec> input = hf_tensor_specs(config, shapes);
  const ConvertPlan plan =
      plan_conversion(input, config, Recipe::load(recipe.empty() ? "dynamic" : recipe), {});
  return summarize_model(plan.output_specs(), plan.quantization ? &*plan.quantization : nullptr);
}

LoadMemoryEstimate load_memory_estimate(const ModelConfig& config, const ConvertPlan& plan,
                                        int context, KVType kv_type) {
  LoadMemoryEstimate m;
  m.context = context;
  m.kv_type = kv_type_name(kv_type);
  for (const auto& t : plan.tensors) {
    uint64_t bytes = 0;
    for (const auto& s : t.outputs(plan.dtype)) bytes += s.nbytes();
    if (t.role == TensorRole::Vision) m.vision_weights += bytes;
    else if (t.role != TensorRole::Mtp) m.text_weights += bytes;
  }
  m.state = kv_bytes_per_token(config.text, kv_type, 64) * static_cast<uint64_t>(context) +
            deltanet_state_bytes(config.text);
  return m;
}

uint64_t available_memory_total() {
  const uint64_t physical = read_number("/proc/meminfo", "MemTotal:") * 1024;
  uint64_t cgroup = read_number("/sys/fs/cgroup/memory.max");
  if (cgroup == 0) cgroup = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (cgroup > 0 && (physical == 0 || cgroup < physical)) return cgroup;
  return physical;
}

uint64_t default_reserve(uint64_t total) {
  return std::min<uint64_t>(3'500'000'000ull, total / 4);
}

namespace {
// Bytes of `role`'s matrices the model re-lays out in anonymous memory at load (the test the
// model makes: interleaves(), on each quantized module's shape). Never the embedding (read a
// row at a time) nor a vision tensor.
uint64_t interleaved_bytes(const ModelSummary& weights, TensorRole role, InterleavedMatrices which) {
  if (role == TensorRole::Embed || role == TensorRole::Vision) return 0;
  uint64_t bytes = 0;
  for (const QuantizedModule& m : weights.quantized)
    if (m.role == role &&
        interleaves(which, role == TensorRole::RoutedExperts, m.bits, m.group_size, m.rows, m.cols))
      bytes += m.bytes;
  return bytes;
}
}  // namespace

MemoryPlan plan_memory(const ModelConfig& config, const ModelSummary& weights,
                       const MemoryPlanOptions& o) {
  const TextConfig& c = config.text;
  MemoryPlan p;
  p.model_context = c.max_position_embeddings;
  p.context = o.context > 0 ? o.context : c.max_position_embeddings;
  p.parallel = std::max(o.parallel, 1);
  p.prompt_cache_bytes = o.prompt_cache_bytes;
  p.memory_total = o.memory_total ? o.memory_total : available_memory_total();
  p.reserve_bytes = o.reserve_bytes >= 0 ? static_cast<uint64_t>(o.reserve_bytes)
                                         : default_reserve(p.memory_total);
  p.limit_bytes = p.memory_total > p.reserve_bytes ? p.memory_total - p.reserve_bytes : 0;

  auto add = [&](std::string name, uint64_t bytes, bool file) {
    if (bytes) p.lines.push_back({std::move(name), bytes, file});
  };
  // Weights by role; the vision tower counts only when it will be loaded. mtp.* is read only by
  // speculative decoding (counted when the checkpoint holds it: the engine binds it).
  for (int r = 0; r < kNumTensorRoles; ++r) {
    const auto role = static_cast<TensorRole>(r);
    const uint64_t bytes = weights.role(role).bytes;
    if (role == TensorRole::Vision) {
      p.vision_weight_bytes = o.vision ? bytes : 0;
      continue;
    }
    p.text_weight_bytes += bytes;
    // Matrices re-laid out at load are anonymous memory; the rest of the role stays page cache.
    const uint64_t anonymous = std::min(bytes, interleaved_bytes(weights, role, o.interleaved));
    const std::string name = "weights: " + std::string(role_name(role));
    if (anonymous == bytes) {
      add(name, bytes, false);
    } else {
      add(name, bytes - anonymous, true);
      add(name + " (re-laid out)", anonymous, false);
    }
  }
  add("weights: vision tower", p.vision_weight_bytes, true);

  const int64_t chunk = std::min<int64_t>(o.prefill_chunk, std::max<int64_t>(p.context, 1));
  // Speculative decoding needs the MTP head: counted only when the weights hold it.
  const bool speculates = o.draft_tokens > 0 && weights.role(TensorRole::Mtp).bytes > 0;
  const ActivationBytes act = activation_bytes(c, chunk, p.parallel);
  add("activations: residual stream (" + std::to_string(chunk) + " tokens)", act.residual, false);
  add("activations: attention / DeltaNet", act.attention, false);
  add("activations: MoE scratch", act.moe, false);
  add("activations: logits", act.logits, false);
  p.deltanet_bytes_per_sequence = deltanet_state_bytes(c);
  add("DeltaNet state (× " + std::to_string(p.parallel) + " sequences)",
      p.deltanet_bytes_per_sequence * p.parallel, false);
  if (speculates) {
    p.draft_tokens = o.draft_tokens;
    p.speculative_bytes_per_sequence = speculative_bytes_per_sequence(c, o.draft_tokens, chunk);
    add("speculative decoding (" + std::to_string(o.draft_tokens) + " drafts × " +
            std::to_string(p.parallel) + " sequences: verify states, MTP head buffers)",
        p.speculative_bytes_per_sequence * p.parallel, false);
  }
  add("process (binary, libraries, allocator)", o.process_base_bytes, false);
  add("runtime (code paged in, tokenizer, model objects)", o.count_runtime ? kRuntimeBytes : 0,
      false);
  for (const MemoryPlanLine& l : p.lines) p.fixed_bytes += l.bytes;

  // The head's one-layer KV cache grows with its sequence like the main ones.
  auto per_token = [&](KVType t) {
    return kv_bytes_per_token(c, t, o.kv_group_size) +
           (speculates ? mtp_kv_bytes_per_token(c, t, o.kv_group_size) : 0);
  };
  p.mtp_kv_bytes_per_token = speculates ? mtp_kv_bytes_per_token(c, o.kv_type, o.kv_group_size) : 0;
  p.kv_bytes_per_token = per_token(o.kv_type);
  add(std::string("KV cache (") + kv_type_name(o.kv_type) + ", " + std::to_string(p.context) +
          " tokens × " + std::to_string(p.parallel) + (speculates ? ", with the MTP head's" : "") +
          ")",
      p.kv_bytes_per_token * static_cast<uint64_t>(p.context) * p.parallel, false);
  for (const MemoryPlanLine& l : p.lines) p.total_bytes += l.bytes;

  p.context_columns = {32768, 65536, 100000};
  for (KVType t : {KVType::F16, KVType::Q8, KVType::Q4, KVType::Q2}) {
    KVWidthFit w;
    w.type = t;
    w.bytes_per_token = per_token(t);
    for (int64_t n : p.context_columns)
      w.total_at.push_back(p.fixed_bytes + w.bytes_per_token * static_cast<uint64_t>(n) * p.parallel);
    if (p.limit_bytes > p.fixed_bytes) {
      const uint64_t room = p.limit_bytes - p.fixed_bytes;
      const uint64_t tokens =
          w.bytes_per_token ? room / (w.bytes_per_token * p.parallel) : UINT64_MAX;
      w.max_context = static_cast<int64_t>(
          std::min<uint64_t>(tokens, static_cast<uint64_t>(std::max(c.max_position_embeddings, 0))));
    }
    p.widths.push_back(w);
  }
  return p;
}

}  // namespace tf
