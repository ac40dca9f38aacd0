// Conversion plans without weights: the HF tensor list from a config, the HF → MLX mapping,
// recipe resolution, the quantization block, and bits per weight against hand computations.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "quant/convert_plan.h"
#include "quant/hf_shape_plan.h"
#include "quant/model_summary.h"

namespace tf {
namespace {

using nlohmann::json;

const std::string kData = TIGHTFIT_TEST_DATA;

ModelConfig big_config() { return ModelConfig::load(kData + "/configs/qwen3.5-35b-a3b"); }
ModelConfig tiny_config() { return ModelConfig::load(kData + "/tiny-qwen35moe-a"); }

ConvertPlan plan_for(const ModelConfig& c, const std::string& recipe, PlanOptions o = {},
                     HfShapePlanOptions h = {}) {
  return plan_conversion(hf_tensor_specs(c, h), c, *builtin_recipe(recipe), o);
}

double bpw(const ConvertPlan& p) {
  return summarize_model(p.output_specs(), p.quantization ? &*p.quantization : nullptr).bits_per_weight();
}

const PlannedTensor& find(const ConvertPlan& p, const std::string& name) {
  for (const auto& t : p.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no planned tensor " + name);
}

TEST(HfShapePlan, CountsMatchTheSpec) {
  const ModelConfig c = big_config();
  HfShapePlanOptions o;
  o.vision = false;
  o.mtp = false;
  EXPECT_EQ(hf_tensor_specs(c, o).size(), 693u);  // spec §2.6: 30×18 + 10×15 + 3
  o.vision = true;
  EXPECT_EQ(hf_tensor_specs(c, o).size(), 693u + 333u);
  EXPECT_EQ(mtp_layer_count(c), 1);
  o.mtp = true;
  // MTP: fc + 3 norms + one attention MoE layer with 256 experts × 3 per-expert tensors.
  EXPECT_EQ(hf_tensor_specs(c, o).size(), 693u + 333u + 4 + 8 + 1 + 256 * 3 + 4);
  std::map<std::string, TensorSpec> by;
  for (auto& t : hf_tensor_specs(c, o)) by[t.name] = t;
  EXPECT_EQ(by["model.language_model.layers.0.mlp.experts.gate_up_proj"].shape, (std::vector<int64_t>{256, 1024, 2048}));
  EXPECT_EQ(by["model.language_model.layers.0.linear_attn.conv1d.weight"].shape, (std::vector<int64_t>{8192, 1, 4}));
  EXPECT_EQ(by["model.language_model.layers.3.self_attn.q_proj.weight"].shape, (std::vector<int64_t>{8192, 2048}));
  EXPECT_EQ(by["model.language_model.layers.0.linear_attn.A_log"].dtype, DType::F32);
  EXPECT_EQ(by["model.visual.patch_embed.proj.weight"].shape, (std::vector<int64_t>{1152, 3, 2, 16, 16}));
  EXPECT_EQ(by["model.visual.merger.linear_fc1.weight"].shape, (std::vector<int64_t>{4608, 4608}));
  EXPECT_EQ(by["mtp.layers.0.mlp.experts.255.down_proj.weight"].shape, (std::vector<int64_t>{2048, 512}));
  EXPECT_EQ(by["mtp.fc.weight"].shape, (std::vector<int64_t>{2048, 4096}));
}

// The figures published for the original 2.6-bpw recipe (issue 6): 2.579 text-only, 2.749 with
// the vision tower, on the real 35B-A3B config.
TEST(ConvertPlan, DynamicPresetGivesThePublishedBitsPerWeight) {
  const ModelConfig c = big_config();
  PlanOptions text_only;
  text_only.text_only = true;
  EXPECT_NEAR(bpw(plan_for(c, "dynamic", text_only)), 2.579, 5e-4);
  EXPECT_NEAR(bpw(plan_for(c, "dynamic")), 2.749, 5e-4);
}

// Hand computation of the dynamic layout (bytes and parameters written out per tensor kind,
// MLX counting: dt_bias / A_log bytes but no parameters, conv1d and norms dense).
TEST(ConvertPlan, BitsPerWeightEqualsAHandComputation) {
  const double H = 2048, V = 248320, E = 256, I = 512;
  auto q = [](double n, int bits) { return n * bits / 8 + n / 64 * 4; };  // g64, bf16 scale + bias
  double P = 0, B = 0;
  auto add = [&](double params, double bytes) { P += params, B += bytes; };
  add(2 * V * H, 2 * q(V * H, 3));  // embed + lm_head, 3-bit
  add(H, 2 * H);                    // final norm
  for (int i = 0; i < 40; ++i) {
    add(2 * H, 4 * H);  // input / post-attention norms
    if ((i + 1) % 4) {
      for (double n : {8192 * H, 4096 * H, 32 * H, 32 * H, H * 4096}) add(n, q(n, 3));
      add(8192 * 4, 8192 * 4 * 2);  // conv1d
      B += 32 * 2 + 32 * 4;         // dt_bias bf16, A_log f32: bytes only
      add(128, 256);                // gated norm
    } else {
      for (double n : {8192 * H, 512 * H, 512 * H, H * 4096}) add(n, q(n, 3));
      add(512, 1024);  // q_norm, k_norm
    }
    add(E * H, 2 * E * H);                  // router, bf16
    add(3 * E * I * H, 3 * q(E * I * H, 2));  // routed experts, 2-bit
    add(3 * I * H, 3 * q(I * H, 3));        // shared expert, 3-bit
    add(H, 2 * H);                          // shared expert gate, bf16
  }
  PlanOptions text_only;
  text_only.text_only = true;
  const ConvertPlan p = plan_for(big_config(), "dynamic", text_only);
  const ModelSummary s = summarize_model(p.output_specs(), &*p.quantization);
  EXPECT_EQ(s.mlx_params, static_cast<int64_t>(P));
  EXPECT_EQ(s.mlx_bytes, static_cast<uint64_t>(B));
  EXPECT_DOUBLE_EQ(s.bits_per_weight(), 8 * B / P);
}

TEST(ConvertPlan, PresetsOrderedBySize) {
  const ModelConfig c = big_config();
  PlanOptions t;
  t.text_only = true;
  const double u2 = bpw(plan_for(c, "uniform-2", t)), u3 = bpw(plan_for(c, "uniform-3", t));
  const double u4 = bpw(plan_for(c, "uniform-4", t)), dyn = bpw(plan_for(c, "dynamic", t));
  const double tight = bpw(plan_for(c, "tight", t)), edge = bpw(plan_for(c, "edge-boost", t));
  const double mixed = bpw(plan_for(c, "mixed-2-6", t));
  EXPECT_LT(u2, tight);
  EXPECT_LT(tight, dyn);
  EXPECT_LT(dyn, edge);
  EXPECT_LT(edge, u3);
  EXPECT_LT(u3, u4);
  EXPECT_GT(mixed, dyn);
  EXPECT_NEAR(u4, 4.5, 0.05);  // everything but routers and small dense parts at 4.5 bits
}

TEST(ConvertPlan, MapsNamesShapesAndTransformsTheMlxWay) {
  const ConvertPlan p = plan_for(tiny_config(), "uniform-4");
  const auto& gate = find(p, "language_model.model.layers.0.mlp.switch_mlp.gate_proj.weight");
  EXPECT_EQ(gate.shape, (std::vector<int64_t>{8, 32, 64}));
  ASSERT_EQ(gate.sources.size(), 8u);
  EXPECT_EQ(gate.sources[1].tensor, "model.language_model.layers.0.mlp.experts.gate_up_proj");
  EXPECT_EQ(gate.sources[1].offset, 1 * 64 * 64);  // expert 1, rows 0–31 of its 64
  EXPECT_EQ(gate.sources[1].count, 32 * 64);
  const auto& up = find(p, "language_model.model.layers.0.mlp.switch_mlp.up_proj.weight");
  EXPECT_EQ(up.sources[1].offset, 1 * 64 * 64 + 32 * 64);
  EXPECT_EQ(find(p, "language_model.model.layers.0.linear_attn.conv1d.weight").shape,
            (std::vector<int64_t>{128, 4, 1}));
  EXPECT_EQ(find(p, "language_model.model.norm.weight").transform, PlanTransform::AddOne);
  EXPECT_EQ(find(p, "language_model.model.layers.3.self_attn.k_norm.weight").transform, PlanTransform::AddOne);
  EXPECT_EQ(find(p, "language_model.model.layers.0.linear_attn.norm.weight").transform, PlanTransform::Copy);
  EXPECT_EQ(find(p, "language_model.model.layers.0.linear_attn.A_log").transform, PlanTransform::KeepDtype);
  EXPECT_NO_THROW(find(p, "language_model.lm_head.weight"));
  // Quantized outputs (spec §2.7): U32 [N, K·b/32], scales/biases [N, K/g].
  std::map<std::string, TensorSpec> out;
  for (auto& s : p.output_specs()) out[s.name] = s;
  const auto& w = out.at("language_model.model.layers.0.mlp.switch_mlp.gate_proj.weight");
  EXPECT_EQ(w.dtype, DType::U32);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{8, 32, 8}));
  EXPECT_EQ(out.at("language_model.model.layers.0.mlp.switch_mlp.gate_proj.scales").shape,
            (std::vector<int64_t>{8, 32, 1}));
  EXPECT_EQ(out.at("language_model.model.embed_tokens.biases").dtype, DType::BF16);
  // Kept: router dense bf16, no scales.
  EXPECT_EQ(out.at("language_model.model.layers.0.mlp.gate.weight").dtype, DType::BF16);
  EXPECT_EQ(out.count("language_model.model.layers.0.mlp.gate.scales"), 0u);
}

TEST(ConvertPlan, NonDivisibleInputsStayDenseWithAWarningAndGroup32QuantizesThem) {
  const ModelConfig c = tiny_config();  // expert / shared-expert down_proj have 32 inputs
  const ConvertPlan g64 = plan_for(c, "uniform-4");
  const auto& down = find(g64, "language_model.model.layers.0.mlp.switch_mlp.down_proj.weight");
  EXPECT_FALSE(down.quantized());
  EXPECT_NE(down.kept_because.find("not a multiple of group 64"), std::string::npos);
  ASSERT_FALSE(g64.warnings.empty());
  EXPECT_NE(g64.warnings.back().find("switch_mlp.down_proj"), std::string::npos);
  PlanOptions o;
  o.group_size = 32;
  const ConvertPlan g32 = plan_for(c, "uniform-4", o);
  EXPECT_TRUE(find(g32, "language_model.model.layers.0.mlp.switch_mlp.down_proj.weight").quantized());
  EXPECT_EQ(find(g32, "language_model.model.layers.0.mlp.switch_mlp.down_proj.weight").group_size, 32);
}

TEST(ConvertPlan, QuantizationBlockHasDefaultsOverridesAndFalse) {
  const ConvertPlan p = plan_for(tiny_config(), "dynamic");
  ASSERT_TRUE(p.quantization);
  const QuantizationConfig& q = *p.quantization;
  // Most parameters at 3 bits in the tiny model (embed + head dominate).
  int64_t by_bits[9] = {};
  for (const auto& t : p.tensors)
    if (t.quantized()) by_bits[t.bits] += shape_numel(t.shape);
  EXPECT_EQ(q.defaults.bits, by_bits[3] > by_bits[2] ? 3 : 2);
  EXPECT_EQ(q.defaults.group_size, 64);
  for (const auto& t : p.tensors) {
    if (!t.quantizable) {  // norms, conv, A_log…: never an entry (a Linear's .bias shares its weight's)
      if (t.name.size() < 5 || t.name.compare(t.name.size() - 5, 5, ".bias") != 0)
        EXPECT_EQ(q.overrides.count(t.module), 0u) << t.module;
      continue;
    }
    const auto spec = q.lookup(t.module);
    if (t.quantized()) {
      ASSERT_TRUE(spec) << t.module;
      EXPECT_EQ(spec->bits, t.bits) << t.module;
      EXPECT_EQ(q.overrides.count(t.module), t.bits != q.defaults.bits ? 1u : 0u) << t.module;
    } else {
      ASSERT_EQ(q.overrides.count(t.module), 1u) << t.module;
      EXPECT_FALSE(spec) << t.module << " is kept: false";
    }
  }
  EXPECT_FALSE(q.lookup("language_model.model.layers.0.mlp.gate"));
  const json cfg = output_config(tiny_config(), p);
  EXPECT_EQ(cfg["quantization"], cfg["quantization_config"]);
  EXPECT_EQ(cfg["quantization"]["language_model.model.layers.0.mlp.gate"], false);
  EXPECT_EQ(cfg["quantization"]["mode"], "affine");
}

TEST(ConvertPlan, TextOnlyDropsVisionAndItsConfig) {
  const ModelConfig c = big_config();
  PlanOptions o;
  o.text_only = true;
  const ConvertPlan p = plan_for(c, "dynamic", o);
  EXPECT_FALSE(p.has_vision);
  for (const auto& t : p.tensors) EXPECT_EQ(t.name.rfind("vision_tower.", 0), std::string::npos) << t.name;
  EXPECT_FALSE(output_config(c, p).contains("vision_config"));
  const ConvertPlan vl = plan_for(c, "dynamic");
  EXPECT_TRUE(vl.has_vision);
  EXPECT_TRUE(output_config(c, vl).contains("vision_config"));
  const auto& pe = find(vl, "vision_tower.patch_embed.proj.weight");
  EXPECT_EQ(pe.shape, (std::vector<int64_t>{1152, 2, 16, 16, 3}));
  EXPECT_EQ(pe.transform, PlanTransform::PatchEmbed);
  EXPECT_FALSE(find(vl, "vision_tower.blocks.0.attn.qkv.weight").quantized());  // vision stays bf16
  EXPECT_TRUE(find(vl, "vision_tower.blocks.0.attn.qkv.weight").quantizable);
}

TEST(ConvertPlan, MtpIsDroppedUnlessKeptThenStackedAndQuantizedBySameRules) {
  const ModelConfig c = big_config();
  PlanOptions o;
  o.text_only = true;
  const ConvertPlan dropped = plan_for(c, "dynamic", o);
  EXPECT_FALSE(dropped.has_mtp);
  for (const auto& t : dropped.tensors) EXPECT_NE(t.name.rfind("mtp.", 0), 0u) << t.name;
  EXPECT_EQ(output_config(c, dropped)["text_config"]["mtp_num_hidden_layers"], 0);
  o.keep_mtp = true;
  const ConvertPlan kept = plan_for(c, "dynamic", o);
  EXPECT_TRUE(kept.has_mtp);
  const auto& experts = find(kept, "mtp.layers.0.mlp.switch_mlp.up_proj.weight");
  EXPECT_EQ(experts.shape, (std::vector<int64_t>{256, 512, 2048}));
  EXPECT_EQ(experts.sources.size(), 256u);
  EXPECT_EQ(experts.sources[7].tensor, "mtp.layers.0.mlp.experts.7.up_proj.weight");
  EXPECT_EQ(experts.bits, 2);  // routed experts
  EXPECT_EQ(find(kept, "mtp.layers.0.self_attn.q_proj.weight").bits, 3);  // attention
  EXPECT_FALSE(find(kept, "mtp.layers.0.mlp.gate.weight").quantized());  // router kept
  EXPECT_EQ(find(kept, "mtp.fc.weight").bits, 2);                       // anything else
  EXPECT_EQ(find(kept, "mtp.pre_fc_norm_hidden.weight").transform, PlanTransform::AddOne);
  EXPECT_EQ(find(kept, "mtp.layers.0.input_layernorm.weight").transform, PlanTransform::AddOne);
  EXPECT_EQ(output_config(c, kept)["text_config"]["mtp_num_hidden_layers"], 1);
  // MLX's bits per weight ignores mtp.*: keeping it changes the file, not the figure.
  EXPECT_NEAR(bpw(kept), bpw(dropped), 1e-12);
  EXPECT_GT(kept.output_bytes(), dropped.output_bytes());
}

TEST(ConvertPlan, PerExpertInputPlansTheSameOutput) {
  const ModelConfig c = tiny_config();
  HfShapePlanOptions per;
  per.fused_experts = false;
  const ConvertPlan a = plan_for(c, "dynamic"), b = plan_for(c, "dynamic", {}, per);
  ASSERT_EQ(a.output_specs().size(), b.output_specs().size());
  for (size_t i = 0; i < a.output_specs().size(); ++i) {
    EXPECT_EQ(a.output_specs()[i].name, b.output_specs()[i].name);
    EXPECT_EQ(a.output_specs()[i].shape, b.output_specs()[i].shape);
  }
  EXPECT_EQ(find(b, "language_model.model.layers.1.mlp.switch_mlp.down_proj.weight").sources[3].tensor,
            "model.language_model.layers.1.mlp.experts.3.down_proj.weight");
}

TEST(ConvertPlan, RulesThatDecideNothingAreErrorsUnlessOptional) {
  const ModelConfig c = tiny_config();
  const auto specs = hf_tensor_specs(c, {});
  auto plan = [&](const char* text) {
    return plan_conversion(specs, c, Recipe::from_json(json::parse(text), "mine.json"), {});
  };
  EXPECT_NO_THROW(plan(R"({"rules": [{"role": "router", "keep": true}, {"bits": 4}]})"));
  try {
    plan(R"({"rules": [{"match": "*.self_atn.*", "bits": 8}, {"bits": 4}]})");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("rule 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("matches no module"), std::string::npos) << e.what();
  }
  try {
    plan(R"({"rules": [{"bits": 4}, {"role": "router", "keep": true}]})");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("earlier rule"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(plan(R"({"rules": [{"match": "*.nothing", "bits": 8, "optional": true}, {"bits": 4}]})"));
  // No catch-all: unmatched quantizable modules stay dense, with a warning.
  const ConvertPlan p = plan(R"({"rules": [{"role": "routed_experts", "bits": 4}]})");
  EXPECT_FALSE(find(p, "language_model.lm_head.weight").quantized());
  ASSERT_FALSE(p.warnings.empty());
  EXPECT_NE(p.warnings[0].find("matched no recipe rule"), std::string::npos);
}

TEST(ConvertPlan, InputCheckNamesWhatIsWrong) {
  const ModelConfig c = tiny_config();
  auto specs = hf_tensor_specs(c, {});
  auto expect_error = [&](std::vector<TensorSpec> s, const std::string& needle) {
    try {
      check_input_tensors(s, c);
      ADD_FAILURE() << "accepted; wanted " << needle;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto s = specs;
  s.push_back({"model.language_model.layers.0.mlp.mystery.weight", DType::BF16, {4, 64}});
  expect_error(s, "mlp.mystery.weight");
  s = specs;
  s[1].shape[0] += 1;
  expect_error(s, s[1].name + " is [");
  s = specs;
  s.erase(s.begin() + 5);
  expect_error(s, specs[5].name);
  s = specs;
  s[1].dtype = DType::F8_E4M3;
  expect_error(s, "F8_E4M3");
  s = specs;  // one block with both expert layouts
  s.push_back({"model.language_model.layers.2.mlp.experts.0.gate_proj.weight", DType::BF16, {32, 64}});
  expect_error(s, "both fused");
  // Buffers are ignored; the causal-LM spelling and nested vision names are understood.
  s = specs;
  s.push_back({"model.visual.rotary_pos_emb.inv_freq", DType::F32, {8}});
  for (auto& t : s)
    if (t.name.rfind("model.language_model.", 0) == 0) t.name = "model." + t.name.substr(21);
  const InputCheck ok = check_input_tensors(s, c);
  EXPECT_EQ(ok.ignored.size(), 1u);
  EXPECT_TRUE(ok.has_vision);  // the fixture's config describes a (full-size) vision tower
  EXPECT_FALSE(ok.has_mtp);
}

TEST(ConvertPlan, UnknownArchitecturesAreRefused) {
  EXPECT_NO_THROW(check_supported_architecture(*big_config().raw, "config.json"));
  json llama = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}};
  try {
    check_supported_architecture(llama, "x/config.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("LlamaForCausalLM"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("x/config.json"), std::string::npos);
  }
  EXPECT_THROW(check_supported_architecture(json::object(), "c"), std::runtime_error);
}

}  // namespace
}  // namespace tf
