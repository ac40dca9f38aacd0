// `synth`: random-weight checkpoints at a model's shapes (quant/synth.h). A small-width variant
// of the real Qwen3.5-35B-A3B config is written, loaded and run: finite logits, tokens routed
// over many experts, realistic dequantized weight statistics, the recipe's bit widths,
// determinism, and the errors a user can hit.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "base/input_error.h"
#include "kernels/linear.h"
#include "kernels/thread_pool.h"
#include "model/model.h"
#include "model/interleaved_weights.h"
#include "model/session.h"
#include "quant/synth.h"
#include "runtime/memory_plan.h"
#include "storage/safetensors.h"

namespace tf {
namespace {

namespace fs = std::filesystem;

// The real config with every width shrunk (same layer pattern, same kinds of tensors), 4 layers:
// three Gated DeltaNet layers and one attention layer.
nlohmann::json small_config() {
  nlohmann::json c = *synth_config_preset("qwen3.5-35b-a3b");
  auto& t = c["text_config"];
  t.update({{"hidden_size", 256},
            {"num_attention_heads", 4},
            {"num_key_value_heads", 2},
            {"head_dim", 64},
            {"linear_num_key_heads", 2},
            {"linear_num_value_heads", 4},
            {"linear_key_head_dim", 64},
            {"linear_value_head_dim", 64},
            {"moe_intermediate_size", 128},
            {"shared_expert_intermediate_size", 128},
            {"num_experts", 32},
            {"num_experts_per_tok", 4},
            {"vocab_size", 1024}});
  t["rope_parameters"]["mrope_section"] = {4, 2, 2};
  return truncate_layers(c, 4);
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string synth_small(const TempDir& dir, uint64_t seed = 7, int threads = 2) {
  SynthOptions o;
  o.out_dir = dir.path.string();
  o.seed = seed;
  o.threads = threads;
  synth_checkpoint(small_config(), o);
  return o.out_dir;
}

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(SynthPreset, EqualsTheTestDataCopyOfTheRealConfig) {
  std::ifstream in(std::string(TIGHTFIT_TEST_DATA) + "/configs/qwen3.5-35b-a3b/config.json");
  ASSERT_TRUE(in);
  EXPECT_EQ(*synth_config_preset("qwen3.5-35b-a3b"), nlohmann::json::parse(in));
  EXPECT_FALSE(synth_config_preset("qwen3.5-0b").has_value());
  const auto names = synth_config_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "qwen3.5-35b-a3b"), names.end());
}

TEST(SynthPreset, LoadsPresetsFilesAndFoldersAndNamesWhatIsWrong) {
  EXPECT_EQ(load_synth_config("qwen3.5-35b-a3b")["text_config"]["num_experts"], 256);
  const std::string dir = std::string(TIGHTFIT_TEST_DATA) + "/configs/qwen3.5-35b-a3b";
  EXPECT_EQ(load_synth_config(dir), load_synth_config(dir + "/config.json"));
  try {
    load_synth_config("no-such-model");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-model"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("qwen3.5-35b-a3b"), std::string::npos);
  }
  TempDir tmp("tf-synth-badjson");
  fs::create_directories(tmp.path);
  std::ofstream(tmp.path / "config.json") << "{not json";
  EXPECT_THROW(load_synth_config(tmp.path.string()), std::runtime_error);
}

TEST(SynthPlan, FullModelMatchesTheDynamicRecipeAndKeepsTheLayerPattern) {
  SynthOptions o;
  const ConvertPlan plan = plan_synth(*synth_config_preset("qwen3.5-35b-a3b"), o);
  // ~11 GB text-only dynamic checkpoint (the README's figure for convert --text-only).
  EXPECT_GT(plan.output_bytes(), 10.5e9);
  EXPECT_LT(plan.output_bytes(), 11.5e9);
  std::map<std::string, int> bits;
  for (const auto& t : plan.tensors) bits[t.name] = t.bits;
  EXPECT_EQ(bits.at("language_model.model.layers.0.mlp.switch_mlp.gate_proj.weight"), 2);
  EXPECT_EQ(bits.at("language_model.model.layers.0.linear_attn.in_proj_qkv.weight"), 3);
  EXPECT_EQ(bits.at("language_model.model.layers.3.self_attn.q_proj.weight"), 3);
  EXPECT_EQ(bits.at("language_model.lm_head.weight"), 3);
  EXPECT_EQ(bits.at("language_model.model.layers.0.mlp.gate.weight"), 0);  // router kept bf16
  EXPECT_FALSE(plan.has_vision);
  EXPECT_FALSE(plan.has_mtp);

  o.layers = 4;
  const ConvertPlan four = plan_synth(*synth_config_preset("qwen3.5-35b-a3b"), o);
  std::set<std::string> attn;
  for (const auto& t : four.tensors)
    if (t.name.find("self_attn.q_proj") != std::string::npos) attn.insert(t.name);
  EXPECT_EQ(attn, std::set<std::string>{"language_model.model.layers.3.self_attn.q_proj.weight"});
  for (const auto& t : four.tensors) EXPECT_EQ(t.name.find("layers.4."), std::string::npos) << t.name;
}

// --mtp: the head at the real shapes, quantized like the layer it mirrors (what
// `bench --spec-accept` needs); without it nothing of the head is written.
TEST(SynthPlan, MtpHeadOnlyWhenAskedFor) {
  const auto c = *synth_config_preset("qwen3.5-35b-a3b");
  SynthOptions o;
  const ConvertPlan plain = plan_synth(c, o);
  EXPECT_FALSE(plain.has_mtp);
  for (const auto& t : plain.tensors) EXPECT_NE(t.name.rfind("mtp.", 0), 0u) << t.name;
  o.mtp = true;
  const ConvertPlan with = plan_synth(c, o);
  EXPECT_TRUE(with.has_mtp);
  std::map<std::string, int> bits;
  for (const auto& t : with.tensors) bits[t.name] = t.bits;
  EXPECT_EQ(bits.at("mtp.layers.0.mlp.switch_mlp.down_proj.weight"), 2);
  EXPECT_EQ(bits.at("mtp.layers.0.self_attn.q_proj.weight"), 3);
  EXPECT_EQ(bits.count("mtp.fc.weight"), 1u);
  EXPECT_GT(with.output_bytes(), plain.output_bytes() + 200'000'000);  // ~0.27 GB of head
}

TEST(SynthPlan, LayersOutsideTheModelAreRejected) {
  const auto c = *synth_config_preset("qwen3.5-35b-a3b");
  EXPECT_THROW(truncate_layers(c, 0), std::runtime_error);
  try {
    truncate_layers(c, 41);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("40"), std::string::npos);
  }
  const auto one = truncate_layers(c, 1);
  EXPECT_EQ(one["text_config"]["num_hidden_layers"], 1);
  EXPECT_EQ(one["text_config"]["layer_types"].size(), 1u);
}

TEST(Synth, SmallWidthModelLoadsRunsFiniteAndSpreadsTokensOverExperts) {
  TempDir tmp("tf-synth-small");
  const std::string dir = synth_small(tmp);
  auto model = Model::load(dir, 2);
  const TextConfig& c = model->text();
  ASSERT_EQ(c.num_hidden_layers, 4);
  ASSERT_EQ(c.num_experts, 32);

  // rows routed to each expert, per layer
  std::map<int, std::map<int, int64_t>> routed;
  SessionOptions opt;
  opt.linear_tap = [&](const std::string& module, int layer, int expert, const WeightMatrix&,
                       const float*, int64_t rows) {
    if (expert >= 0 && module.find("switch_mlp.gate_proj") != std::string::npos)
      routed[layer][expert] += rows;
  };
  Session s(*model, opt);
  std::mt19937 rng(3);
  std::vector<int32_t> tokens(64);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % 1024);
  const auto logits = s.prefill(tokens, true);
  double sum = 0, sq = 0;
  for (float v : logits) {
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(logits.size());
  const double std = std::sqrt(sq / n - (sum / n) * (sum / n));
  EXPECT_GT(std, 0.05);
  EXPECT_LT(std, 50.0);
  // 64 tokens × top-4 = 256 routed rows over 32 experts: uniform routing gives 8 per expert.
  // Collapsed routing would pile them onto a few experts.
  ASSERT_EQ(routed.size(), 4u);
  for (const auto& [layer, per_expert] : routed) {
    int64_t total = 0, most = 0;
    for (const auto& [e, rows] : per_expert) total += rows, most = std::max(most, rows);
    EXPECT_EQ(total, 64 * 4) << "layer " << layer;
    EXPECT_GE(per_expert.size(), 28u) << "layer " << layer << ": experts used";
    EXPECT_LE(most, 32) << "layer " << layer << ": busiest expert";
  }
  // Decode continues finitely.
  for (float v : s.decode(5)) ASSERT_TRUE(std::isfinite(v));
}

TEST(Synth, DequantizedWeightsHaveTheIntendedStatistics) {
  TempDir tmp("tf-synth-stats");
  const std::string dir = synth_small(tmp);
  auto ck = Checkpoint::open(dir);
  const auto cfg = ModelConfig::load(dir);
  ASSERT_TRUE(cfg.quantization.has_value());
  // Routed experts: 2-bit; shared expert: 3-bit (the dynamic recipe), std 1/√fan_in, mean 0.
  struct Case {
    std::string module;
    int bits;
    int64_t rows, cols;
  };
  for (const Case& k : {Case{"language_model.model.layers.0.mlp.switch_mlp.down_proj", 2, 32 * 256, 128},
                        Case{"language_model.model.layers.1.mlp.shared_expert.up_proj", 3, 128, 256},
                        Case{"language_model.model.layers.3.self_attn.o_proj", 3, 256, 256}}) {
    const TensorView& w = ck->get(k.module + ".weight");
    const TensorView& sc = ck->get(k.module + ".scales");
    const TensorView& bi = ck->get(k.module + ".biases");
    ASSERT_EQ(w.dtype, DType::U32);
    ASSERT_EQ(w.shape.back() * 32 / k.cols, k.bits) << k.module;
    WeightMatrix m;
    m.format = WeightMatrix::Format::Affine;
    m.dtype = sc.dtype;
    m.bits = k.bits;
    m.group_size = 64;
    m.rows = k.rows;
    m.cols = k.cols;
    m.data = w.data;
    m.scales = sc.data;
    m.biases = bi.data;
    std::vector<float> v(static_cast<size_t>(k.rows * k.cols));
    dequantize_rows(m, 0, k.rows, v.data());
    double sum = 0, sq = 0;
    for (float x : v) sum += x, sq += static_cast<double>(x) * x;
    const double mean = sum / v.size(), std = std::sqrt(sq / v.size() - mean * mean);
    const double want = 1.0 / std::sqrt(static_cast<double>(k.cols));
    EXPECT_NEAR(std, want, 0.1 * want) << k.module;
    EXPECT_LT(std::abs(mean), 0.05 * want) << k.module;
  }
  // Norms ≈ 1 (MLX stores 1 + w); DeltaNet decay parameters in their initialisation ranges.
  auto floats = [&](const std::string& name) {
    const TensorView& t = ck->get(name);
    std::vector<float> v(static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < v.size(); ++i) v[i] = load_float(t.data, t.dtype, i);
    return v;
  };
  for (float x : floats("language_model.model.layers.0.input_layernorm.weight")) EXPECT_NEAR(x, 1.0f, 0.05f);
  for (float x : floats("language_model.model.layers.0.linear_attn.A_log")) {
    EXPECT_GE(x, 0.0f);
    EXPECT_LE(x, std::log(16.0f) + 1e-4f);
  }
  EXPECT_EQ(ck->get("language_model.model.layers.0.linear_attn.A_log").dtype, DType::F32);
  for (float x : floats("language_model.model.layers.0.linear_attn.dt_bias")) {
    EXPECT_GT(x, -7.5f);  // softplus⁻¹(1e-3) ≈ −6.9
    EXPECT_LT(x, -2.0f);  // softplus⁻¹(0.1) ≈ −2.25
  }
}

TEST(Synth, SameSeedSameBytesWhateverTheThreadsOtherSeedOtherBytes) {
  TempDir a("tf-synth-a"), b("tf-synth-b"), c("tf-synth-c");
  synth_small(a, 7, 1);
  synth_small(b, 7, 2);
  synth_small(c, 8, 2);
  const auto fa = file_bytes(a.path / "model.safetensors");
  ASSERT_GT(fa.size(), 1000u);
  EXPECT_EQ(fa, file_bytes(b.path / "model.safetensors"));
  EXPECT_NE(fa, file_bytes(c.path / "model.safetensors"));
  EXPECT_EQ(file_bytes(a.path / "config.json"), file_bytes(c.path / "config.json"));
}

TEST(Synth, ShardsAndIndexWhenAskedForSmallShards) {
  TempDir tmp("tf-synth-shards");
  SynthOptions o;
  o.out_dir = tmp.path.string();
  o.max_shard_bytes = 1 << 20;
  const SynthResult r = synth_checkpoint(small_config(), o);
  EXPECT_TRUE(fs::exists(tmp.path / "model.safetensors.index.json"));
  EXPECT_GT(r.files.size(), 3u);
  EXPECT_EQ(r.bytes_written, r.plan.output_bytes());
  EXPECT_NO_THROW(Model::load(o.out_dir, 1));
}

TEST(Synth, RefusesANonEmptyFolderUnlessForcedAndLeavesNothingBehindOnError) {
  TempDir tmp("tf-synth-exists");
  fs::create_directories(tmp.path);
  std::ofstream(tmp.path / "keep.txt") << "x";
  SynthOptions o;
  o.out_dir = tmp.path.string();
  EXPECT_THROW(synth_checkpoint(small_config(), o), std::runtime_error);
  EXPECT_TRUE(fs::exists(tmp.path / "keep.txt"));
  // --force replaces only a previous tightfit output, never a folder with other files.
  o.force = true;
  EXPECT_THROW(synth_checkpoint(small_config(), o), InputError);
  EXPECT_TRUE(fs::exists(tmp.path / "keep.txt"));
  fs::remove(tmp.path / "keep.txt");
  synth_checkpoint(small_config(), o);
  EXPECT_TRUE(fs::exists(tmp.path / "config.json"));
  synth_checkpoint(small_config(), o);  // and --force replaces that output
  EXPECT_TRUE(fs::exists(tmp.path / "config.json"));

  // A config the planner rejects: no partial folder is left next to the output.
  TempDir bad("tf-synth-bad");
  nlohmann::json c = small_config();
  c["text_config"]["hidden_size"] = -4;
  o.out_dir = bad.path.string();
  o.force = false;
  EXPECT_ANY_THROW(synth_checkpoint(c, o));
  for (const auto& e : fs::directory_iterator(bad.path.parent_path()))
    EXPECT_EQ(e.path().filename().string().find("." + bad.path.filename().string() + ".tightfit-partial"),
              std::string::npos);
}

// Matrices re-laid out at load for the Int8 tile kernel (model/interleaved_weights.h: the 2-bit
// routed experts, the 3-bit attention, DeltaNet, shared-expert and head projections) compute
// what the checkpoint's layout computes. Expert widths of 256 so that gate, up and down all fit.
// Int8: the expert products of a layer, batched as the MoE batches them, agree to float
// rounding (the kernels differ only in the epilogue's order). Logits can only be compared
// loosely there — on random weights a rounding-level difference that moves one activation across
// an int8 rounding boundary is amplified layer after layer (Int8 against F32 logits differ by
// 0.82 here; the two layouts by 0.02) — so F32 (the layout's fallback path) compares logits
// tightly, over a prefill and decode steps: the fallback sums Σ (s·q + β)·x where the F32
// affine kernel sums s·Σ q·x + β·Σ x, a float32 rounding apart per product (1.7e-5 rel-L2 at the
// logits here with every 2- and 3-bit matrix on it).
TEST(Synth, InterleavedWeightsComputeWhatTheRowLayoutComputes) {
  TempDir dir("tightfit-synth-interleaved");
  nlohmann::json config = small_config();
  config["text_config"]["moe_intermediate_size"] = 256;
  SynthOptions o;
  o.out_dir = dir.path.string();
  o.seed = 3;
  o.threads = 2;
  synth_checkpoint(config, o);
  ModelLoadOptions rows_layout, interleaved;
  rows_layout.precision = interleaved.precision = ActivationPrecision::Int8;
  rows_layout.interleave_weights = false;
  const auto a = Model::load(o.out_dir, 2, rows_layout);
  const auto b = Model::load(o.out_dir, 2, interleaved);
  EXPECT_EQ(a->interleaved_bytes(), 0u);
  if (b->interleaved_bytes() == 0) GTEST_SKIP() << "no interleaved kernel on this CPU (AVX2 or AVX-512 VNNI)";
  // 16-row blocks for the AVX-512 VNNI + VBMI kernel, 8-row ones for the 256-bit x86 kernel.
  const WeightMatrix::Layout want =
      interleaved_block_rows() == 16 ? WeightMatrix::Layout::Rows16 : WeightMatrix::Layout::Rows8;
  const Qwen35Weights& wb = b->weights();
  EXPECT_EQ(wb.layers[2].moe.experts[5].down.layout, want);  // 2-bit
  EXPECT_EQ(wb.layers[2].gdn.in_proj_qkv.layout, want);      // 3-bit
  EXPECT_EQ(wb.layers[3].attn.o_proj.layout, want);
  EXPECT_EQ(wb.layers[1].moe.shared_expert.up.layout, want);
  EXPECT_EQ(wb.lm_head.layout, want);
  EXPECT_EQ(wb.embed.layout, WeightMatrix::Layout::Rows);  // read a row at a time
  EXPECT_EQ(wb.lm_head.bits, 3);
  // The memory plan says where they live (anonymous memory, not the checkpoint's page cache)
  // and how much: exactly what the model holds (every matrix here is a multiple of 64 bytes).
  for (bool interleave : {false, true}) {
    MemoryPlanOptions po;
    po.interleaved = interleave ? InterleavedMatrices::All : InterleavedMatrices::None;
    const MemoryPlan plan = plan_memory(b->config(), weights_of_checkpoint(o.out_dir), po);
    int found = 0;
    uint64_t anonymous = 0;
    for (const MemoryPlanLine& line : plan.lines) {
      if (line.name == "weights: routed_experts") {
        ++found;
        EXPECT_EQ(line.file_backed, !interleave);
      }
      if (line.name.rfind("weights: ", 0) == 0 && !line.file_backed) anonymous += line.bytes;
    }
    EXPECT_EQ(found, 1);
    EXPECT_EQ(anonymous, interleave ? b->interleaved_bytes() : 0u);
  }

  // Int8: every expert of layer 2, gate / up / down, on n tokens each, in one batch per model.
  ThreadPool pool(2);
  const int64_t H = 256, I = 256, E = 32;
  for (int64_t n : {1, 3, 8}) {
    std::vector<float> x(static_cast<size_t>(E * n * H));
    std::mt19937 rng(static_cast<uint32_t>(n));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& v : x) v = normal(rng);
    std::vector<float> ya(static_cast<size_t>(3 * E * n * I)), yb(ya.size());
    for (const Model* m : {a.get(), b.get()}) {
      std::vector<float>& y = m == a.get() ? ya : yb;
      std::vector<MatmulJob> jobs;
      for (int64_t e = 0; e < E; ++e) {
        const SwiGluWeights& w = m->weights().layers[2].moe.experts[static_cast<size_t>(e)];
        const float* xe = x.data() + e * n * H;
        jobs.push_back({&w.gate, xe, n, y.data() + e * n * I});
        jobs.push_back({&w.up, xe, n, y.data() + (E + e) * n * I});
        jobs.push_back({&w.down, xe, n, y.data() + (2 * E + e) * n * I});
      }
      matmul_batch(jobs, pool, ActivationPrecision::Int8);
    }
    double num = 0, den = 0;
    for (size_t i = 0; i < ya.size(); ++i) {
      num += (double(yb[i]) - ya[i]) * (double(yb[i]) - ya[i]);
      den += double(ya[i]) * ya[i];
    }
    EXPECT_LT(std::sqrt(num / den), 1e-6) << n << " tokens per expert";
  }

  const std::vector<int32_t> tokens = {5, 900, 17, 300, 42, 7, 611, 1000, 2, 77};
  for (ActivationPrecision precision : {ActivationPrecision::F32, ActivationPrecision::Int8}) {
    SessionOptions so;
    so.precision = precision;
    Session sa(*a, so), sb(*b, so);
    const auto pa = sa.prefill(std::span<const int32_t>(tokens.data(), 8), true);
    const auto pb = sb.prefill(std::span<const int32_t>(tokens.data(), 8), true);
    std::vector<float> la(pa.begin(), pa.end()), lb(pb.begin(), pb.end());
    for (size_t i = 8; i < tokens.size(); ++i) {
      const auto da = sa.decode(tokens[i]);
      const auto db = sb.decode(tokens[i]);
      la.insert(la.end(), da.begin(), da.end());
      lb.insert(lb.end(), db.begin(), db.end());
    }
    double num = 0, den = 0;
    for (size_t i = 0; i < la.size(); ++i) {
      ASSERT_TRUE(std::isfinite(lb[i]));
      num += (double(lb[i]) - la[i]) * (double(lb[i]) - la[i]);
      den += double(la[i]) * la[i];
    }
    const double rel = std::sqrt(num / den);
    std::printf("[ logits rel-L2, interleaved vs row layout, %s: %.2e ]\n",
                precision == ActivationPrecision::Int8 ? "int8" : "f32", rel);
    EXPECT_LT(rel, precision == ActivationPrecision::F32 ? 5e-5 : 0.1);
  }
}

}  // namespace
}  // namespace tf
