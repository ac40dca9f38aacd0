// Binding checkpoint tensors: flavour detection, and every way a checkpoint can be wrong must
// be an error that names the tensor (or config field).
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "model_test_util.h"
#include "test_checkpoints.h"

namespace tf {
namespace {

using test::RawTensor;
using test::tiny_dir;

const std::string kL0 = "model.language_model.layers.0.";

// Loads a copy of the fixture edited by `edit` / `edit_config` and returns the load error
// ("" when it loads).
std::string load_error(const std::function<void(std::vector<RawTensor>&)>& edit,
                       const std::function<void(nlohmann::json&)>& edit_config = {}) {
  test::TempDir dir("binding");
  test::copy_checkpoint(tiny_dir(), dir.path, edit, edit_config);
  try {
    Model::load(dir.path, 1);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

RawTensor& find(std::vector<RawTensor>& ts, const std::string& name) {
  for (auto& t : ts)
    if (t.name == name) return t;
  throw std::runtime_error("test: no tensor " + name);
}

void drop(std::vector<RawTensor>& ts, const std::string& name) {
  std::erase_if(ts, [&](const RawTensor& t) { return t.name == name; });
}

TEST(WeightsBinding, FixtureIsHuggingFaceLayoutWithOffsetNorms) {
  auto m = Model::load(tiny_dir(), 1);
  EXPECT_EQ(m->flavour(), CheckpointFlavour::HuggingFace);
  const auto& w = m->weights();
  ASSERT_EQ(w.layers.size(), 4u);
  EXPECT_EQ(w.layers[3].type, LayerType::FullAttention);
  EXPECT_EQ(w.layers[0].moe.experts.size(), 8u);
  EXPECT_EQ(w.layers[0].moe.experts[7].gate.rows, 32);
  EXPECT_EQ(w.layers[0].moe.experts[7].down.rows, 64);
  EXPECT_FALSE(w.embed.quantized());
  // HF zero-centred norms: stored w ~ N(0, 0.1), used as 1 + w. The GDN norm is never offset.
  const auto& ck = m->checkpoint();
  const TensorView& raw = ck.get(kL0 + "input_layernorm.weight");
  EXPECT_EQ(w.layers[0].input_norm[3], 1.0f + load_float(raw.data, raw.dtype, 3));
  const TensorView& gn = ck.get(kL0 + "linear_attn.norm.weight");
  EXPECT_EQ(w.layers[0].gdn.norm[3], load_float(gn.data, gn.dtype, 3));
  // Fused gate_up: expert 1's up rows start at row 2I + I of the [E·2I, H] view.
  const TensorView& gu = ck.get(kL0 + "mlp.experts.gate_up_proj");
  EXPECT_EQ(w.layers[0].moe.experts[1].up.data, gu.data + (64 + 32) * 64 * 2);
  EXPECT_EQ(w.layers[0].moe.experts[1].gate.data, gu.data + 64 * 64 * 2);
}

TEST(WeightsBinding, MissingTensorIsNamed) {
  const std::string e = load_error([](auto& ts) { drop(ts, kL0 + "linear_attn.in_proj_z.weight"); });
  EXPECT_NE(e.find(kL0 + "linear_attn.in_proj_z.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
  const std::string e2 = load_error([](auto& ts) { drop(ts, "lm_head.weight"); });
  EXPECT_NE(e2.find("lm_head.weight"), std::string::npos) << e2;
}

TEST(WeightsBinding, MisShapedTensorIsNamed) {
  const std::string e = load_error([](auto& ts) {
    find(ts, kL0 + "linear_attn.conv1d.weight").shape = {4, 1, 128};  // same bytes, wrong shape
  });
  EXPECT_NE(e.find(kL0 + "linear_attn.conv1d.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("[128, 1, 4] or [128, 4, 1]"), std::string::npos) << e;
  const std::string e2 = load_error([](auto& ts) {
    find(ts, kL0 + "mlp.experts.gate_up_proj").shape = {8, 32, 128};
  });
  EXPECT_NE(e2.find("gate_up_proj"), std::string::npos) << e2;
  EXPECT_NE(e2.find("expected [8, 64, 64]"), std::string::npos) << e2;
}

TEST(WeightsBinding, WrongDtypeIsNamed) {
  const std::string e = load_error([](auto& ts) {
    find(ts, "model.language_model.norm.weight").dtype = DType::I16;
  });
  EXPECT_NE(e.find("model.language_model.norm.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("I16"), std::string::npos) << e;
}

TEST(WeightsBinding, UnknownTextTensorIsRejected) {
  const std::string e = load_error([](auto& ts) {
    RawTensor t = find(ts, kL0 + "input_layernorm.weight");
    t.name = kL0 + "self_attn.mystery.weight";
    ts.push_back(t);
  });
  EXPECT_NE(e.find("mystery"), std::string::npos) << e;
  // A bias on a linear would be silently wrong if ignored.
  const std::string e2 = load_error([](auto& ts) {
    RawTensor t = find(ts, "model.language_model.layers.3.self_attn.q_norm.weight");
    t.name = "model.language_model.layers.3.self_attn.k_proj.bias";
    t.shape = {32};  // the [32] BF16 norm's bytes, sized like one kv head
    ts.push_back(t);
  });
  EXPECT_NE(e2.find("k_proj.bias"), std::string::npos) << e2;
}

TEST(WeightsBinding, VisionAndMtpTensorsAreSkipped) {
  const std::string e = load_error([](auto& ts) {
    RawTensor t = find(ts, kL0 + "input_layernorm.weight");
    t.name = "model.visual.blocks.0.norm1.weight";
    ts.push_back(t);
    t.name = "mtp.layers.0.input_layernorm.weight";
    ts.push_back(t);
  });
  EXPECT_EQ(e, "");
}

TEST(WeightsBinding, NoTextTensorsAndMixedNamingAreErrors) {
  const std::string e = load_error([](auto& ts) {
    for (auto& t : ts) t.name = "foo." + t.name;
  });
  EXPECT_NE(e.find("no Qwen3.5 text tensors"), std::string::npos) << e;
  const std::string e2 = load_error([](auto& ts) {
    RawTensor t = find(ts, kL0 + "input_layernorm.weight");
    t.name = "language_model.model.layers.0.input_layernorm.weight";
    ts.push_back(t);
  });
  EXPECT_NE(e2.find("mixes"), std::string::npos) << e2;
}

TEST(WeightsBinding, ConfigThatDisagreesWithTensorsIsAnError) {
  const std::string e = load_error({}, [](nlohmann::json& c) {
    c["text_config"]["moe_intermediate_size"] = 16;
  });
  EXPECT_NE(e.find("gate_up_proj"), std::string::npos) << e;
  const std::string e2 = load_error({}, [](nlohmann::json& c) {
    c["text_config"]["layer_types"][3] = "linear_attention";
  });
  EXPECT_NE(e2.find("layers.3.linear_attn"), std::string::npos) << e2;
}

class QuantizedBinding : public ::testing::Test {
 protected:
  // An 8-bit g32 MLX conversion whose tensors / config the tests then edit.
  void SetUp() override { test::convert_to_mlx(tiny_dir(), q_.path, {.bits = 8, .group_size = 32}); }
  std::string load_edited(const std::function<void(std::vector<RawTensor>&)>& edit,
                          const std::function<void(nlohmann::json&)>& edit_config) {
    test::TempDir dir("qbinding");
    test::copy_checkpoint(q_.path, dir.path, edit, edit_config);
    try {
      Model::load(dir.path, 1);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }
  test::TempDir q_{"qsrc"};
};

const std::string kMlxL0 = "language_model.model.layers.0.";

TEST_F(QuantizedBinding, ConfigBitsMustMatchTensors) {
  const std::string e = load_edited({}, [](nlohmann::json& c) {
    c["quantization"][kMlxL0 + "linear_attn.in_proj_z"] = {{"bits", 4}, {"group_size", 32}};
  });
  EXPECT_NE(e.find(kMlxL0 + "linear_attn.in_proj_z.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("8-bit codes with group 32"), std::string::npos) << e;
  const std::string e2 = load_edited({}, [](nlohmann::json& c) {
    c["quantization"]["group_size"] = 64;
    c.erase("quantization_config");
  });
  EXPECT_NE(e2.find("defaults to 8 bits, group 64"), std::string::npos) << e2;
}

TEST_F(QuantizedBinding, FalseEntryWithScalesIsAnError) {
  const std::string e = load_edited({}, [](nlohmann::json& c) {
    c["quantization"][kMlxL0 + "linear_attn.out_proj"] = false;
    c.erase("quantization_config");
  });
  EXPECT_NE(e.find("out_proj"), std::string::npos) << e;
  EXPECT_NE(e.find("not quantized"), std::string::npos) << e;
}

TEST_F(QuantizedBinding, BrokenQuantizedTensorsAreNamed) {
  const std::string scales = kMlxL0 + "linear_attn.in_proj_qkv.scales";
  EXPECT_NE(load_edited([&](auto& ts) { drop(ts, kMlxL0 + "linear_attn.in_proj_qkv.biases"); }, {})
                .find("in_proj_qkv.biases"),
            std::string::npos);
  // 7 words per row of 64 inputs would be 3.5 bits.
  const std::string e = load_edited(
      [&](auto& ts) {
        RawTensor& w = find(ts, kMlxL0 + "linear_attn.out_proj.weight");
        w.shape = {32, 32};  // 64 rows × 16 words → 32 × 32: rows do not match
      },
      {});
  EXPECT_NE(e.find("out_proj.weight"), std::string::npos) << e;
  const std::string e2 = load_edited(
      [&](auto& ts) {
        RawTensor& s = find(ts, scales);
        RawTensor& b = find(ts, kMlxL0 + "linear_attn.in_proj_qkv.biases");
        s.shape = b.shape = {s.shape[0] * 2, 1};  // group 64 rows doubled: wrong
      },
      {});
  EXPECT_NE(e2.find("in_proj_qkv.scales"), std::string::npos) << e2;
  const std::string e3 = load_edited([&](auto& ts) { find(ts, kMlxL0 + "linear_attn.in_proj_qkv.weight").dtype = DType::I32; }, {});
  EXPECT_NE(e3.find("must be U32"), std::string::npos) << e3;
}

}  // namespace
}  // namespace tf
