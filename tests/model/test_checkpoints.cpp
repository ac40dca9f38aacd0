#include "test_checkpoints.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "quant/mlx_affine.h"
#include "storage/safetensors.h"
#include "storage/safetensors_writer.h"
#include "storage/tensor_names.h"

namespace tf::test {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  std::random_device rd;
  path = (fs::temp_directory_path() / ("tightfit-" + tag + "-" + std::to_string(rd()))).string();
  fs::create_directories(path);
}

TempDir::~TempDir() {
  if (std::getenv("TIGHTFIT_KEEP_TEMP")) return;  // debugging: inspect what a test wrote
  std::error_code ec;
  fs::remove_all(path, ec);
}

namespace {

std::vector<RawTensor> read_all(const std::string& dir) {
  auto ck = Checkpoint::open(dir);
  std::vector<RawTensor> out;
  for (const auto& n : ck->names()) {
    const TensorView& t = ck->get(n);
    out.push_back({n, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  }
  return out;
}

std::vector<float> to_floats(const RawTensor& t) {
  const size_t n = t.bytes.size() / dtype_size(t.dtype);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = load_float(t.bytes.data(), t.dtype, i);
  return v;
}

RawTensor from_floats(std::string name, DType dtype, std::vector<int64_t> shape,
                      const std::vector<float>& v) {
  RawTensor t{std::move(name), dtype, std::move(shape), std::vector<uint8_t>(v.size() * dtype_size(dtype))};
  for (size_t i = 0; i < v.size(); ++i) store_float(t.bytes.data(), dtype, i, v[i]);
  return t;
}

nlohmann::json read_config(const std::string& dir) {
  std::ifstream in(dir + "/config.json");
  return nlohmann::json::parse(in);
}

void write_all(const std::string& dir, const std::vector<RawTensor>& tensors,
               const nlohmann::json& config, const std::string& format) {
  std::vector<OwnedTensor> owned;
  for (const auto& t : tensors) owned.push_back({{t.name, t.dtype, t.shape}, t.bytes});
  write_safetensors_file(dir + "/model.safetensors", owned, {{"format", format}});
  std::ofstream(dir + "/config.json") << config.dump(2);
}

// Rows [first, first + count) of each of the `stack` matrices of an [E, rows, cols] tensor.
RawTensor stacked_rows(const RawTensor& t, const std::string& name, int64_t first, int64_t count) {
  const int64_t E = t.shape[0], rows = t.shape[1], cols = t.shape[2];
  const size_t row_bytes = cols * dtype_size(t.dtype);
  RawTensor out{name, t.dtype, {E, count, cols}, {}};
  for (int64_t e = 0; e < E; ++e) {
    const uint8_t* src = t.bytes.data() + (e * rows + first) * row_bytes;
    out.bytes.insert(out.bytes.end(), src, src + count * row_bytes);
  }
  return out;
}

bool is_zero_centred_norm(const std::string& n) {
  return ends_with(n, ".input_layernorm.weight") || ends_with(n, ".post_attention_layernorm.weight") ||
         ends_with(n, "model.norm.weight") || ends_with(n, ".q_norm.weight") ||
         ends_with(n, ".k_norm.weight");
}

// Linear / Embedding / SwitchLinear weights: what MLX's quantize visits (every ≥ 2-D weight
// except the depthwise conv; norms are 1-D).
bool is_quantizable(const RawTensor& t) {
  return ends_with(t.name, ".weight") && t.shape.size() >= 2 && !ends_with(t.name, "conv1d.weight");
}

}  // namespace

void convert_to_mlx(const std::string& src_dir, const std::string& out_dir,
                    const MlxConversion& o) {
  std::vector<RawTensor> in = read_all(src_dir), mlx;
  for (auto& t : in) {
    std::string n = mlx_name_from_hf(t.name);
    if (ends_with(n, ".conv1d.weight")) {  // [C, 1, K] → [C, K, 1]: same bytes
      t.shape = {t.shape[0], t.shape[2], 1};
    } else if (is_zero_centred_norm(n)) {
      auto v = to_floats(t);
      for (auto& x : v) x += 1.0f;
      mlx.push_back(from_floats(n, o.norm_dtype, t.shape, v));
      continue;
    } else if (ends_with(n, ".mlp.experts.gate_up_proj")) {
      const std::string base = n.substr(0, n.size() - std::string("experts.gate_up_proj").size());
      const int64_t I = t.shape[1] / 2;
      mlx.push_back(stacked_rows(t, base + "switch_mlp.gate_proj.weight", 0, I));
      mlx.push_back(stacked_rows(t, base + "switch_mlp.up_proj.weight", I, I));
      continue;
    } else if (ends_with(n, ".mlp.experts.down_proj")) {
      n = n.substr(0, n.size() - std::string("experts.down_proj").size()) +
          "switch_mlp.down_proj.weight";
    }
    t.name = n;
    mlx.push_back(std::move(t));
  }

  nlohmann::json config = read_config(src_dir);
  if (!o.keep_vision_config) config.erase("vision_config");
  std::vector<RawTensor> out;
  nlohmann::json qblock;
  if (o.bits > 0) qblock = {{"group_size", o.group_size}, {"bits", o.bits}, {"mode", "affine"}};
  for (auto& t : mlx) {
    const int64_t cols = t.shape.back();
    const bool router = ends_with(t.name, "mlp.gate.weight") ||
                        ends_with(t.name, "shared_expert_gate.weight");
    const int bits = (router && o.eight_bit_routers) ? 8 : o.bits;
    if (o.bits == 0 || !is_quantizable(t) || cols % o.group_size != 0) {
      out.push_back(std::move(t));  // MLX skips modules whose input dim the group doesn't divide
      continue;
    }
    const std::string module = t.name.substr(0, t.name.size() - std::string(".weight").size());
    const AffineQuantSpec spec{bits, o.group_size, DType::BF16, AffineRounding::HalfEven};
    const auto w = to_floats(t);
    const AffineTensors q = affine_quantize(w.data(), static_cast<int64_t>(w.size()) / cols, cols, spec);
    if (bits != o.bits) qblock[module] = {{"group_size", o.group_size}, {"bits", bits}};
    if (o.dequantized) {
      std::vector<float> d(w.size());
      affine_dequantize_rows(q.weight.data(), q.scales.data(), q.biases.data(), q.rows, cols, bits,
                             o.group_size, spec.scale_dtype, d.data());
      out.push_back(from_floats(t.name, DType::F32, t.shape, d));
      continue;
    }
    std::vector<int64_t> wshape = t.shape, sshape = t.shape;
    wshape.back() = cols * bits / 32;
    sshape.back() = cols / o.group_size;
    out.push_back({module + ".weight", DType::U32, wshape, q.weight});
    out.push_back({module + ".scales", DType::BF16, sshape, q.scales});
    out.push_back({module + ".biases", DType::BF16, sshape, q.biases});
  }
  if (o.bits > 0 && !o.dequantized) {
    config["quantization"] = qblock;
    config["quantization_config"] = qblock;
  }
  write_all(out_dir, out, config, "mlx");
}

void convert_to_hf_per_expert(const std::string& src_dir, const std::string& out_dir) {
  copy_checkpoint(src_dir, out_dir, [](std::vector<RawTensor>& ts) {
    std::vector<RawTensor> out;
    for (auto& t : ts) {
      const bool gu = ends_with(t.name, ".mlp.experts.gate_up_proj");
      const bool dn = ends_with(t.name, ".mlp.experts.down_proj");
      if (!gu && !dn) {
        out.push_back(std::move(t));
        continue;
      }
      const std::string base = t.name.substr(0, t.name.rfind('.') + 1);  // "...mlp.experts."
      const int64_t E = t.shape[0], rows = t.shape[1];
      for (int64_t e = 0; e < E; ++e) {
        const std::string x = base + std::to_string(e) + ".";
        auto one = [&](const std::string& name, int64_t first, int64_t count) {
          const size_t row_bytes = t.shape[2] * dtype_size(t.dtype);
          const uint8_t* src = t.bytes.data() + (e * rows + first) * row_bytes;
          out.push_back({name, t.dtype, {count, t.shape[2]},
                         std::vector<uint8_t>(src, src + count * row_bytes)});
        };
        if (gu) {
          one(x + "gate_proj.weight", 0, rows / 2);
          one(x + "up_proj.weight", rows / 2, rows / 2);
        } else {
          one(x + "down_proj.weight", 0, rows);
        }
      }
    }
    ts = std::move(out);
  });
}

void copy_checkpoint(const std::string& src_dir, const std::string& out_dir,
                     const std::function<void(std::vector<RawTensor>&)>& edit_tensors,
                     const std::function<void(nlohmann::json&)>& edit_config) {
  std::vector<RawTensor> ts = read_all(src_dir);
  if (edit_tensors) edit_tensors(ts);
  nlohmann::json config = read_config(src_dir);
  if (edit_config) edit_config(config);
  write_all(out_dir, ts, config, "pt");
}

}  // namespace tf::test
