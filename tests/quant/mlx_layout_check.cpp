#include "mlx_layout_check.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "quant/mlx_affine.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"

namespace tf::test {

namespace fs = std::filesystem;

ScratchDir::ScratchDir(const std::string& tag) {
  std::random_device rd;
  path = (fs::temp_directory_path() / ("tightfit-" + tag + "-" + std::to_string(rd()))).string();
  fs::create_directories(path);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

namespace {

bool starts(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

struct Expected {
  std::vector<int64_t> shape;
  std::vector<float> values;  // in MLX order
  DType dtype;
};

std::vector<float> floats(const TensorView& t) {
  std::vector<float> v(t.numel());
  for (size_t i = 0; i < v.size(); ++i) v[i] = load_float(t.data, t.dtype, i);
  return v;
}

// Spec §2.1 item 2: the zero-centred norms MLX stores as 1 + w (MTP norms are the same kind).
bool shifted_norm(const std::string& mlx) {
  for (const char* s : {".input_layernorm.weight", ".post_attention_layernorm.weight", ".q_norm.weight",
                        ".k_norm.weight"})
    if (ends(mlx, s)) return true;
  return mlx == "language_model.model.norm.weight" || mlx == "mtp.norm.weight" ||
         mlx == "mtp.pre_fc_norm_embedding.weight" || mlx == "mtp.pre_fc_norm_hidden.weight";
}

std::string mlx_spelling(const std::string& hf) {
  if (starts(hf, "model.language_model.visual.")) return "vision_tower." + hf.substr(28);
  if (starts(hf, "model.language_model.")) return "language_model.model." + hf.substr(21);
  if (starts(hf, "model.visual.")) return "vision_tower." + hf.substr(13);
  if (starts(hf, "lm_head.")) return "language_model." + hf;
  return hf;  // mtp.*
}

bool quantizable_kind(const std::string& name, const std::vector<int64_t>& shape) {
  if (!ends(name, ".weight") || ends(name, "conv1d.weight") || ends(name, "patch_embed.proj.weight")) return false;
  return shape.size() == 2 || (shape.size() == 3 && name.find(".switch_mlp.") != std::string::npos);
}

}  // namespace

std::vector<std::string> check_mlx_conversion(const std::string& hf_dir, const std::string& mlx_dir,
                                              const LayoutExpectation& expect, int* checked) {
  std::vector<std::string> problems;
  auto hf = Checkpoint::open(hf_dir);
  auto mlx = Checkpoint::open(mlx_dir);
  nlohmann::json cfg;
  std::ifstream(mlx_dir + "/config.json") >> cfg;
  std::optional<QuantizationConfig> q;
  if (cfg.contains("quantization")) {
    q = QuantizationConfig::from_json(cfg["quantization"], "config.json");
    if (cfg["quantization"] != cfg["quantization_config"])
      problems.push_back("quantization_config is not a copy of quantization");
  }
  if (cfg.contains("vision_config") != expect.vision)
    problems.push_back(std::string("vision_config ") + (expect.vision ? "missing" : "present in a text-only output"));
  for (const auto& [key, meta] : std::map<std::string, std::string>(mlx->files().front()->metadata()))
    if (key == "format" && meta != "mlx") problems.push_back("__metadata__.format is " + meta);

  // What each output tensor must hold, from the HF tensors and the spec's rules.
  std::map<std::string, Expected> want;
  std::map<std::string, std::map<int, std::vector<float>>> stacks;
  std::map<std::string, std::vector<int64_t>> stack_shape;
  for (const auto& name : hf->names()) {
    const TensorView& t = hf->get(name);
    if (ends(name, "inv_freq") || ends(name, "position_ids")) continue;
    const std::string n = mlx_spelling(name);
    if (starts(n, "vision_tower.") && !expect.vision) continue;
    if (starts(n, "mtp.") && !expect.mtp) continue;
    std::vector<float> v = floats(t);
    if (ends(n, ".mlp.experts.gate_up_proj")) {
      const int64_t E = t.dim(0), I = t.dim(1) / 2, H = t.dim(2);
      const std::string base = n.substr(0, n.size() - 20) + "switch_mlp.";
      Expected gate{{E, I, H}, {}, expect.dtype}, up{{E, I, H}, {}, expect.dtype};
      for (int64_t e = 0; e < E; ++e) {
        const float* x = v.data() + e * 2 * I * H;
        gate.values.insert(gate.values.end(), x, x + I * H);
        up.values.insert(up.values.end(), x + I * H, x + 2 * I * H);
      }
      want[base + "gate_proj.weight"] = std::move(gate);
      want[base + "up_proj.weight"] = std::move(up);
    } else if (ends(n, ".mlp.experts.down_proj")) {
      want[n.substr(0, n.size() - 17) + "switch_mlp.down_proj.weight"] = {t.shape, v, expect.dtype};
    } else if (size_t at = n.find(".mlp.experts."); at != std::string::npos) {
      const std::string rest = n.substr(at + 13);
      const std::string key = n.substr(0, at) + ".mlp.switch_mlp." + rest.substr(rest.find('.') + 1);
      stacks[key][std::stoi(rest)] = std::move(v);
      stack_shape[key] = t.shape;
    } else if (ends(n, "conv1d.weight")) {
      want[n] = {{t.dim(0), t.dim(2), 1}, v, expect.dtype};
    } else if (ends(n, "patch_embed.proj.weight")) {
      const int64_t O = t.dim(0), C = t.dim(1), T = t.dim(2), KH = t.dim(3), KW = t.dim(4);
      std::vector<float> p(v.size());
      for (int64_t o = 0; o < O; ++o)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t tt = 0; tt < T; ++tt)
            for (int64_t y = 0; y < KH; ++y)
              for (int64_t x = 0; x < KW; ++x)
                p[(((o * T + tt) * KH + y) * KW + x) * C + c] = v[(((o * C + c) * T + tt) * KH + y) * KW + x];
      want[n] = {{O, T, KH, KW, C}, p, expect.dtype};
    } else {
      if (shifted_norm(n))
        for (float& x : v) x += 1.0f;
      want[n] = {t.shape, v, ends(n, ".A_log") ? t.dtype : expect.dtype};
    }
  }
  for (auto& [key, experts] : stacks) {
    Expected e{{static_cast<int64_t>(experts.size())}, {}, expect.dtype};
    e.shape.insert(e.shape.end(), stack_shape[key].begin(), stack_shape[key].end());
    int next = 0;
    for (auto& [index, v] : experts) {
      if (index != next++) problems.push_back(key + ": expert " + std::to_string(next - 1) + " missing in the source");
      e.values.insert(e.values.end(), v.begin(), v.end());
    }
    want[key] = std::move(e);
  }

  std::set<std::string> used;
  int count = 0;
  for (const auto& [name, e] : want) {
    const std::string module = ends(name, ".weight") ? name.substr(0, name.size() - 7) : name;
    const TensorView* scales = ends(name, ".weight") ? mlx->find(module + ".scales") : nullptr;
    ++count;
    if (scales) {
      const TensorView* w = mlx->find(name);
      const TensorView* b = mlx->find(module + ".biases");
      used.insert({name, module + ".scales", module + ".biases"});
      if (!w || !b || w->dtype != DType::U32 || scales->dtype != expect.dtype || b->dtype != expect.dtype) {
        problems.push_back(module + ": quantized tensors missing or of the wrong dtype");
        continue;
      }
      const int64_t K = e.shape.back(), rows = static_cast<int64_t>(e.values.size()) / K;
      const int bits = static_cast<int>(32 * w->dim(-1) / K);
      const int group = static_cast<int>(K / scales->dim(-1));
      std::vector<int64_t> ws = e.shape, ss = e.shape;
      ws.back() = K * bits / 32;
      ss.back() = K / group;
      if (w->shape != ws || scales->shape != ss || b->shape != ss) {
        problems.push_back(module + ": quantized shapes do not fit the dense shape " + shape_to_string(e.shape));
        continue;
      }
      const auto spec = q ? q->lookup(module) : std::nullopt;
      if (!spec || spec->bits != bits || spec->group_size != group)
        problems.push_back(module + ": config.json does not say " + std::to_string(bits) + "-bit g" +
                           std::to_string(group) + " for it");
      const AffineTensors ref = affine_quantize(e.values.data(), rows, K,
                                                {bits, group, expect.dtype, AffineRounding::HalfEven});
      if (ref.weight.size() != w->nbytes || std::memcmp(ref.weight.data(), w->data, w->nbytes) ||
          std::memcmp(ref.scales.data(), scales->data, scales->nbytes) ||
          std::memcmp(ref.biases.data(), b->data, b->nbytes))
        problems.push_back(module + ": quantized bytes differ from quantizing the source rows");
      continue;
    }
    const TensorView* t = mlx->find(name);
    if (!t) {
      problems.push_back("missing " + name);
      continue;
    }
    used.insert(name);
    if (t->dtype != e.dtype || t->shape != e.shape) {
      problems.push_back(name + ": " + std::string(dtype_name(t->dtype)) + " " + shape_to_string(t->shape) +
                         ", expected " + std::string(dtype_name(e.dtype)) + " " + shape_to_string(e.shape));
      continue;
    }
    std::vector<uint8_t> bytes(t->nbytes);
    for (size_t i = 0; i < e.values.size(); ++i) store_float(bytes.data(), e.dtype, i, e.values[i]);
    if (std::memcmp(bytes.data(), t->data, t->nbytes))
      problems.push_back(name + ": values differ from the transformed source");
    if (q && quantizable_kind(name, e.shape) &&
        !(q->overrides.count(module) && !q->overrides.at(module)))
      problems.push_back(module + ": kept dense but config.json has no `false` entry for it");
  }
  for (const auto& name : mlx->names())
    if (!used.count(name)) problems.push_back("unexpected output tensor " + name);
  if (checked) *checked = count;
  return problems;
}

}  // namespace tf::test
