// Engine::load: EngineOptions checked and mapped onto the runtime (model resolution and
// loading, KV type, activations, context), and the EngineContext every part of the engine reads.
#include <filesystem>

#include "engine/engine_context.h"
#include "engine/local_engine.h"
#include "base/out_of_memory_error.h"
#include "quant/model_summary.h"
#include "runtime/model_resolver.h"
#include "storage/memory_lock.h"
#include "storage/tensor_names.h"

namespace tightfit {

namespace {

void check_options(const EngineOptions& o) {
  if (o.model.empty()) throw InvalidRequest("EngineOptions::model is empty: name a model folder "
                                            "or a Hugging Face repo id", "model");
  if (o.threads < 0) throw InvalidRequest("threads must be >= 0 (0 = every core)", "threads");
  if (o.parallel < 1) throw InvalidRequest("parallel must be >= 1", "parallel");
  if (o.max_queue < 0) throw InvalidRequest("max_queue must be >= 0", "max_queue");
  if (o.context < 0) throw InvalidRequest("context must be >= 0 (0 = the model's)", "context");
  if (o.prefill_chunk < 1) throw InvalidRequest("prefill_chunk must be >= 1", "prefill_chunk");
  if (o.kv_group_size != 32 && o.kv_group_size != 64 && o.kv_group_size != 128)
    throw InvalidRequest("kv_group_size must be 32, 64 or 128, got " +
                             std::to_string(o.kv_group_size),
                         "kv_group_size");
  if (o.draft_tokens < -1)
    throw InvalidRequest("draft_tokens must be -1 (default: off), 0 (off) or more", "draft_tokens");
  if (o.draft_vocab < 0)
    throw InvalidRequest("draft_vocab must be >= 0 (0 = the whole vocabulary)", "draft_vocab");
}

// Speculative decoding needs the MTP head; a reduced draft vocabulary is read from the model
// folder (model/draft_vocabulary.h).
void load_speculative(EngineContext& c, const EngineOptions& o) {
  const tf::Model& model = c.model();
  const char* keep = " (convert it with --keep-mtp)";
  if (o.draft_tokens > 0 && !model.mtp())
    throw InvalidRequest("draft_tokens: " + c.loaded.source.dir.string() +
                             " has no multi-token-prediction head (mtp.*)" + keep +
                             ": set draft_tokens to 0",
                         "draft_tokens");
  if (o.draft_vocab == 0) return;
  if (!model.mtp())
    throw InvalidRequest("draft_vocab: " + c.loaded.source.dir.string() +
                             " has no multi-token-prediction head (mtp.*)" + keep +
                             ": it cannot draft",
                         "draft_vocab");
  const std::filesystem::path path = c.loaded.source.dir / tf::DraftVocabulary::kFileName;
  if (!std::filesystem::exists(path))
    throw InvalidRequest("draft_vocab: " + path.string() +
                             " does not exist: make it with `tightfit draft-vocab --model " +
                             c.loaded.source.dir.string() + " --corpus FILE`",
                         "draft_vocab");
  try {
    c.draft_vocabulary = std::make_shared<const tf::DraftVocabulary>(
        model, tf::DraftVocabulary::read_ids(path.string()), o.draft_vocab);
  } catch (const std::exception& e) {  // an unreadable list or an id outside the vocabulary
    throw InvalidRequest(std::string("draft_vocab: ") + e.what(), "draft_vocab");
  }
}

tf::KVType kv_type(const EngineOptions& o) {
  if (!o.kv_type.empty()) {
    try {
      return tf::parse_kv_type(o.kv_type);
    } catch (const std::invalid_argument& e) {
      throw InvalidRequest(std::string("kv_type: ") + e.what(), "kv_type");
    }
  }
  try {
    return tf::kv_type_for_bits(o.kv_bits);
  } catch (const std::invalid_argument& e) {
    throw InvalidRequest(std::string("kv_bits: ") + e.what(), "kv_bits");
  }
}

// The bits the memory plan counts per cached element (bf16 takes f16's two bytes).
int plan_kv_bits(tf::KVType type) {
  if (const int bits = tf::kv_quant_bits(type)) return bits;
  return type == tf::KVType::F32 ? 32 : 16;
}

// The plan of this engine's model, sequences and prompt cache against options.memory_limit (a
// given limit is the whole budget; 0: this machine's memory or cgroup limit minus a reserve).
// Made before the weights are mapped, so the process term is the process as it is now.
MemoryPlan plan_for(const EngineOptions& o, const std::string& model_dir, tf::KVType type) {
  PlanOptions p;
  p.model = model_dir;
  p.kv_bits = plan_kv_bits(type);
  p.kv_group_size = o.kv_group_size;
  p.context = o.context;
  p.parallel = o.parallel;
  p.vision = o.vision;
  p.prefill_chunk = o.prefill_chunk;
  p.prompt_cache_bytes = o.prompt_cache_bytes;
  p.threads = o.threads;
  p.draft_tokens = std::max(o.draft_tokens, 0);  // requests that ask for more add the rest
  if (o.memory_limit > 0) {
    p.memory = o.memory_limit;
    p.reserve = 0;
  }
  return plan_memory(p);
}

tf::ActivationPrecision precision(const std::string& name) {
  if (name.empty()) return tf::default_activation_precision();
  if (name == "f32") return tf::ActivationPrecision::F32;
  if (name == "int8") return tf::ActivationPrecision::Int8;
  throw InvalidRequest("activations must be \"f32\", \"int8\" or empty (fastest), got \"" + name +
                           "\"",
                       "activations");
}

ModelInfo model_info(const EngineContext& c) {
  ModelInfo info;
  const tf::Model& model = c.model();
  info.path = c.loaded.source.dir.string();
  info.name = c.loaded.source.repo_id.empty() ? c.loaded.source.dir.filename().string()
                                              : c.loaded.source.repo_id;
  info.model_type = model.config().model_type;
  info.layout = tf::flavour_name(model.flavour());
  info.vocab_size = model.vocab_size();
  info.hidden_size = model.hidden_size();
  info.layers = model.text().num_hidden_layers;
  info.context_length = c.context;
  info.has_vision = model.has_vision() && c.loaded.image_processor.has_value();
  info.has_mtp = model.mtp() != nullptr;
  info.weight_bytes = model.checkpoint().total_bytes();
  {
    const auto& q = model.config().quantization;  // as `tightfit bench` reports it
    info.bits_per_weight = tf::summarize_model(model.checkpoint().specs(), q ? &*q : nullptr).bits_per_weight();
  }
  info.eos_token_ids = c.eos_token_ids;
  info.threads = model.pool().num_threads();
  info.kv_type = tf::kv_type_name(c.kv_type);
  info.memory_limit = c.plan.limit;
  info.memory_fixed = c.plan.fixed_bytes;
  info.kv_bytes_per_token = c.plan.kv_bytes_per_token;
  info.memory_tokens = c.memory_tokens;
  info.weights_locked = c.options.mlock;
  if (c.precision == tf::ActivationPrecision::F32)
    info.activations = "f32";
  else
    info.activations = std::string("int8 (") + tf::int8_kernel_name() + ")";
  return info;
}

}  // namespace

std::string kv_type_for_bits(int bits) {
  try {
    return tf::kv_type_name(tf::kv_type_for_bits(bits));
  } catch (const std::invalid_argument& e) {
    throw InvalidRequest(std::string("kv_bits: ") + e.what(), "kv_bits");
  }
}

std::unique_ptr<Engine> Engine::load(EngineOptions options) {
  check_options(options);
  auto context = std::make_unique<EngineContext>();
  context->kv_type = kv_type(options);
  context->precision = precision(options.activations);
  tf::HubSettings hub = tf::hub_settings_from_env();
  hub.offline = hub.offline || options.offline;
  context->kv_group_size = options.kv_group_size;
  tf::ResolvedModel source = as_api_errors("model", [&] {
    tf::ResolvedModel source = tf::resolve_model(options.model, hub, tf::DownloadOptions{});
    if (!std::filesystem::exists(source.dir / "config.json"))
      throw ModelNotFound(options.model + ": " + source.dir.string() +
                          " has no config.json: not a model folder");
    return source;
  });
  context->plan = plan_for(options, source.dir.string(), context->kv_type);
  context->plan.check_tokens(0);  // OutOfMemory: the model and buffers alone exceed the limit
  context->loaded = as_api_errors("model", [&] {
    return tf::LoadedModel::load(std::move(source), options.threads,
                                 // --mlock locks the mapped files: the weights stay in them
                                 // (re-laid out, their pages would be locked twice over).
                                 tf::ModelLoadOptions{.vision = options.vision,
                                                      .precision = context->precision,
                                                      .interleave_weights = !options.mlock});
  });
  const tf::Model& model = context->model();
  if (options.mlock) {
    try {
      tf::lock_in_memory(model.checkpoint());
    } catch (const tf::OutOfMemoryError& e) {  // RLIMIT_MEMLOCK
      throw OutOfMemory(e.what());
    }
  }
  const int64_t model_context = model.text().max_position_embeddings > 0
                                    ? model.text().max_position_embeddings
                                    : tf::Sequence::kDefaultCapacity;
  // The default context is what fits: the model's, or the tokens the memory limit holds when
  // fewer (issue 14), so a default request never needs more than the limit.
  context->memory_tokens = context->plan.max_tokens();
  context->context_from_memory = options.context == 0 && context->memory_tokens < model_context;
  context->context = options.context > 0
                         ? options.context
                         : std::max<int64_t>(1, std::min(model_context, context->memory_tokens));
  context->eos_token_ids = context->loaded.eos_token_ids();
  context->sampled_vocab = static_cast<int32_t>(std::min<int64_t>(
      model.vocab_size(), static_cast<int64_t>(context->tokenizer().id_space())));
  context->think_end = context->tokenizer().encode("</think>\n\n");
  load_speculative(*context, options);
  context->options = std::move(options);
  context->info = model_info(*context);
  return std::make_unique<LocalEngine>(std::move(context));
}

}  // namespace tightfit
