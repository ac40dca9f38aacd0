#include "quant/synth.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/input_error.h"
#include "kernels/thread_pool.h"
#include "quant/convert_progress.h"
#include "quant/hf_shape_plan.h"
#include "quant/model_summary.h"
#include "quant/output_folder.h"
#include "quant/parallel_rows.h"
#include "quant/synth_values.h"
#include "storage/safetensors_writer.h"

namespace tf {

namespace {

// Generation unit: each block has its own random stream (so any thread may draw it) and the
// write buffer holds kBufferBytes of blocks at a time (the memory bound).
constexpr int64_t kCodeBlockBytes = 1 << 20;
constexpr int64_t kGroupsPerBlock = 1 << 16;
constexpr int64_t kDenseBlockElems = 1 << 18;
constexpr int64_t kBufferBytes = 32ll << 20;

nlohmann::json& text_scope(nlohmann::json& config) {
  return config.contains("text_config") && config["text_config"].is_object() ? config["text_config"]
                                                                             : config;
}

float initializer_range(const nlohmann::json& config) {
  nlohmann::json c = config;
  const nlohmann::json& t = text_scope(c);
  if (t.contains("initializer_range") && t["initializer_range"].is_number())
    return t["initializer_range"].get<float>();
  return 0.02f;
}

// Streams the tensors of a plan to the writer, `kBufferBytes` at a time, checking the folder's
// cancel flag after each batch.
class SynthStreamer {
 public:
  SynthStreamer(ShardedSafetensorsWriter& writer, ThreadPool& pool, uint64_t seed, float init_range,
                ConvertProgress& progress, const OutputFolder& folder)
      : writer_(writer), pool_(pool), seed_(seed), init_range_(init_range), progress_(progress),
        folder_(folder), buffer_(kBufferBytes) {}

  void write(const PlannedTensor& t, DType scale_dtype) {
    const ValueDistribution dist = value_distribution(t.name, t.role, t.cols(), init_range_);
    if (!t.quantized()) {
      const int64_t n = t.rows() * t.cols();
      const size_t elem = dtype_size(t.dtype);
      emit(t.name, n, elem, kDenseBlockElems, [&](uint64_t block, int64_t count, uint8_t* out) {
        Xoshiro256 rng(stream_seed(seed_, t.name, block));
        draw_dense(dist, rng, t.dtype, count, out);
      });
      return;
    }
    const std::string weight = t.module + ".weight";
    const int64_t code_bytes = t.rows() * t.cols() * t.bits / 8;
    emit(weight, code_bytes, 1, kCodeBlockBytes, [&](uint64_t block, int64_t count, uint8_t* out) {
      Xoshiro256 rng(stream_seed(seed_, weight, block));
      rng.fill(out, static_cast<size_t>(count));
    });
    // Scales, then biases from the same streams (the bias centres the group its scale spans).
    const int64_t groups = t.rows() * (t.cols() / t.group_size);
    const std::string stream = t.module + ".scales";
    const ScaleBiasDrawer draw(dist.std, t.bits);
    for (const bool bias : {false, true}) {
      const std::string name = t.module + (bias ? ".biases" : ".scales");
      emit(name, groups, dtype_size(scale_dtype), kGroupsPerBlock,
           [&](uint64_t block, int64_t count, uint8_t* out) {
             Xoshiro256 rng(stream_seed(seed_, stream, block));
             for (int64_t i = 0; i < count; ++i) {
               const ScaleBias sb = draw(rng);
               store_float(out, scale_dtype, static_cast<size_t>(i), bias ? sb.bias : sb.scale);
             }
           });
    }
  }

  uint64_t bytes_written() const { return written_; }

 private:
  // Writes `units` units of `unit_bytes` bytes, drawn `per_block` units per block by
  // gen(block, count, out), several blocks at a time spread over the pool.
  template <typename Gen>
  void emit(const std::string& name, int64_t units, size_t unit_bytes, int64_t per_block, Gen&& gen) {
    const int64_t block_bytes = per_block * static_cast<int64_t>(unit_bytes);
    const int64_t blocks_per_batch = std::max<int64_t>(1, kBufferBytes / block_bytes);
    const int64_t blocks = (units + per_block - 1) / per_block;
    if (static_cast<size_t>(std::max<int64_t>(blocks_per_batch, 1) * block_bytes) > buffer_.size())
      buffer_.resize(static_cast<size_t>(blocks_per_batch * block_bytes));
    for (int64_t b0 = 0; b0 < blocks; b0 += blocks_per_batch) {
      const int64_t nb = std::min(blocks_per_batch, blocks - b0);
      parallel_rows(pool_, nb, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const int64_t first = (b0 + i) * per_block;
          const int64_t count = std::min(per_block, units - first);
          gen(static_cast<uint64_t>(b0 + i), count, buffer_.data() + i * block_bytes);
        }
      });
      const int64_t first = b0 * per_block;
      const int64_t count = std::min(nb * per_block, units - first);
      const size_t nbytes = static_cast<size_t>(count) * unit_bytes;
      if (b0 == 0)
        writer_.write(name, buffer_.data(), nbytes);
      else
        writer_.write(buffer_.data(), nbytes);
      written_ += nbytes;
      progress_.update(written_, name);
      folder_.throw_if_cancelled();
    }
    if (units == 0) writer_.write(name, buffer_.data(), 0);
  }

  ShardedSafetensorsWriter& writer_;
  ThreadPool& pool_;
  uint64_t seed_;
  float init_range_;
  ConvertProgress& progress_;
  const OutputFolder& folder_;
  std::vector<uint8_t> buffer_;
  uint64_t written_ = 0;
};

}  // namespace

nlohmann::json truncate_layers(const nlohmann::json& config, int layers) {
  nlohmann::json out = config;
  nlohmann::json& t = text_scope(out);
  const int total = t.value("num_hidden_layers", 0);
  if (layers < 1 || layers > total)
    throw InputError("--layers " + std::to_string(layers) + " is outside 1.." +
                     std::to_string(total) + " (the config has " + std::to_string(total) +
                     " decoder layers)");
  t["num_hidden_layers"] = layers;
  if (t.contains("layer_types") && t["layer_types"].is_array() &&
      static_cast<int>(t["layer_types"].size()) >= layers) {
    nlohmann::json cut = nlohmann::json::array();
    for (int i = 0; i < layers; ++i) cut.push_back(t["layer_types"][i]);
    t["layer_types"] = cut;
  }
  return out;
}

ConvertPlan plan_synth(const nlohmann::json& raw_config, const SynthOptions& o) {
  const nlohmann::json config = o.layers > 0 ? truncate_layers(raw_config, o.layers) : raw_config;
  check_supported_architecture(config, "synth config");
  const ModelConfig mc = ModelConfig::from_json(config, "synth config");
  HfShapePlanOptions shapes;
  shapes.vision = false;
  shapes.mtp = o.mtp;
  PlanOptions plan;
  plan.text_only = true;
  plan.keep_mtp = o.mtp;
  plan.dtype = o.dtype;
  return plan_conversion(hf_tensor_specs(mc, shapes), mc, o.recipe, plan);
}

SynthResult synth_checkpoint(const nlohmann::json& raw_config, const SynthOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.out_dir.empty()) throw std::runtime_error("no output folder given (--out DIR)");
  const nlohmann::json config = o.layers > 0 ? truncate_layers(raw_config, o.layers) : raw_config;
  SynthOptions whole = o;
  whole.layers = 0;
  SynthResult r;
  r.plan = plan_synth(config, whole);
  const ModelConfig mc = ModelConfig::from_json(config, "synth config");
  const nlohmann::json out_config = output_config(mc, r.plan);

  OutputFolder folder(o.out_dir, o.force, o.progress, o.cancel);
  folder.check_free_space(r.plan.output_bytes());
  {
    ShardedSafetensorsWriter writer(folder.work_dir.string(), r.plan.output_specs(),
                                    o.max_shard_bytes, {{"format", "mlx"}});
    ThreadPool pool(o.threads);
    ConvertProgress progress(o.progress, o.progress_tty, r.plan.output_bytes(), "synth");
    SynthStreamer streamer(writer, pool, o.seed, initializer_range(config), progress, folder);
    for (const auto& t : r.plan.tensors) streamer.write(t, r.plan.dtype);
    r.files = writer.finish();
    r.bytes_written = streamer.bytes_written();
    progress.finish();
  }
  folder.write_config(out_config);  // last: a folder without it is not a model to any loader
  r.files.push_back("config.json");
  folder.throw_if_cancelled();  // a stop requested while the shards were closed
  folder.commit();
  r.config = ModelConfig::from_json(out_config, (folder.final_dir / "config.json").string());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace tf
