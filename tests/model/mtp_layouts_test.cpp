// The MTP head bound from the other layouts (model/mtp_weights.h): HF fused experts
// (`mtp.layers.0.mlp.experts.gate_up_proj` / `down_proj`) give the per-expert fixture's draft
// logits exactly; `convert --keep-mtp` writes an MLX checkpoint whose head loads (norms with
// 1 + w baked in, experts stacked, linears quantized by the recipe's roles) and drafts like the
// original; without --keep-mtp the head is dropped.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "model/mtp_head.h"
#include "model_test_util.h"
#include "quant/converter.h"
#include "test_checkpoints.h"

namespace tf {
namespace {

std::string copy_dir() { return std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-mtp/copy"; }

std::vector<int32_t> seq16() {
  std::ifstream in(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-mtp/tokens.json");
  return nlohmann::json::parse(in).at("seq16").get<std::vector<int32_t>>();
}

// Teacher-forced draft logits [T−1][V] (see mtp_head_test.cpp).
std::vector<float> draft_logits(const Model& model, const std::vector<int32_t>& tokens) {
  Sequence seq(model, KVType::F32, 64);
  ForwardPass pass(model, {.precision = ActivationPrecision::F32});
  const BatchItem item{.sequence = &seq, .tokens = tokens, .hidden = OutputRows::All};
  pass.run(std::span<const BatchItem>(&item, 1));
  const int64_t H = model.hidden_size(), T = static_cast<int64_t>(tokens.size());
  MtpHead head(model, {.precision = ActivationPrecision::F32});
  MtpCache cache(model, KVType::F32, 64);
  const auto g = head.run(cache, std::span<const int32_t>(tokens).subspan(1),
                          pass.hidden(0).subspan(0, (T - 1) * H), 0);
  const auto l = head.logits(g, T - 1);
  return {l.begin(), l.end()};
}

TEST(MtpLayouts, FusedExpertsGiveTheSameDraftLogits) {
  test::TempDir dir("mtp-fused");
  test::copy_checkpoint(copy_dir(), dir.path, [](std::vector<test::RawTensor>& tensors) {
    const std::string p = "mtp.layers.0.mlp.experts.";
    std::map<int, std::map<std::string, const test::RawTensor*>> experts;
    for (const auto& t : tensors)
      if (t.name.rfind(p, 0) == 0) {
        const std::string rest = t.name.substr(p.size());
        experts[std::stoi(rest)][rest.substr(rest.find('.') + 1)] = &t;
      }
    ASSERT_EQ(experts.size(), 8u);
    const auto& e0 = experts[0];
    const int64_t E = 8, I = e0.at("gate_proj.weight")->shape[0], H = e0.at("gate_proj.weight")->shape[1];
    test::RawTensor gate_up{p + "gate_up_proj", DType::BF16, {E, 2 * I, H}, {}};
    test::RawTensor down{p + "down_proj", DType::BF16, {E, H, I}, {}};
    for (auto& [e, parts] : experts) {
      for (const char* n : {"gate_proj.weight", "up_proj.weight"})
        gate_up.bytes.insert(gate_up.bytes.end(), parts.at(n)->bytes.begin(), parts.at(n)->bytes.end());
      down.bytes.insert(down.bytes.end(), parts.at("down_proj.weight")->bytes.begin(),
                        parts.at("down_proj.weight")->bytes.end());
    }
    std::erase_if(tensors, [&](const test::RawTensor& t) { return t.name.rfind(p, 0) == 0; });
    tensors.push_back(std::move(gate_up));
    tensors.push_back(std::move(down));
  });
  const auto fused = Model::load(dir.path, 2);
  const auto per_expert = Model::load(copy_dir(), 2);
  ASSERT_NE(fused->mtp(), nullptr);
  EXPECT_EQ(draft_logits(*fused, seq16()), draft_logits(*per_expert, seq16()));
}

ConvertResult convert(const std::string& out, const std::string& recipe, bool keep_mtp) {
  ConvertOptions o;
  o.hf_dir = copy_dir();
  o.out_dir = out;
  o.recipe = *builtin_recipe(recipe);
  o.plan.keep_mtp = keep_mtp;
  o.threads = 2;
  o.force = true;
  return convert_checkpoint(o);
}

TEST(MtpLayouts, ConvertKeepMtpLoadsAndDraftsLikeTheOriginal) {
  test::TempDir dir("mtp-mlx");
  const std::string out = dir.path + "/out";
  const ConvertResult r = convert(out, "uniform-4", true);
  EXPECT_TRUE(r.plan.has_mtp);
  const auto mlx = Model::load(out, 2);
  ASSERT_NE(mlx->mtp(), nullptr);
  EXPECT_NE(mlx->flavour(), CheckpointFlavour::HuggingFace);
  // Quantized by the roles of what each part mirrors: attention and experts at 4 bits.
  const MtpWeights& w = *mlx->mtp();
  EXPECT_TRUE(w.fc.quantized());
  EXPECT_TRUE(w.layer.attn.q_proj.quantized());
  EXPECT_EQ(w.layer.moe.experts[3].gate.bits, 4);  // (down_proj: 32 columns, below a group)
  EXPECT_FALSE(w.layer.moe.router.quantized());  // kept like every router
  // Norms carry 1 + w once (stored so in MLX files), as the HF head's after its offset.
  const auto hf = Model::load(copy_dir(), 2);
  for (size_t i = 0; i < w.norm.size(); ++i)
    EXPECT_NEAR(w.norm[i], hf->mtp()->norm[i], 1e-2) << i;
  // 4-bit weights move the draft logits a little; the drafts themselves mostly agree.
  const auto a = draft_logits(*mlx, seq16()), b = draft_logits(*hf, seq16());
  EXPECT_LT(test::max_row_relative_l2(a, b, 512), 0.2);
  int same = 0;
  for (size_t r = 0; r * 512 < a.size(); ++r)
    same += test::argmax(a.data() + r * 512, 512) == test::argmax(b.data() + r * 512, 512);
  EXPECT_GE(same, 12);  // of 15
}

TEST(MtpLayouts, ConvertWithoutKeepMtpDropsTheHead) {
  test::TempDir dir("mtp-dropped");
  const std::string out = dir.path + "/out";
  const ConvertResult r = convert(out, "uniform-4", false);
  EXPECT_FALSE(r.plan.has_mtp);
  const auto mlx = Model::load(out, 2);
  EXPECT_EQ(mlx->mtp(), nullptr);
}

TEST(MtpLayouts, IncompleteHeadIsRefusedNamingTheTensor) {
  test::TempDir dir("mtp-incomplete");
  test::copy_checkpoint(copy_dir(), dir.path, [](std::vector<test::RawTensor>& tensors) {
    std::erase_if(tensors, [](const test::RawTensor& t) { return t.name == "mtp.norm.weight"; });
  });
  try {
    Model::load(dir.path, 1);
    FAIL() << "loaded a head without mtp.norm";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("mtp.norm.weight"), std::string::npos) << e.what();
  }
  // Without the head asked for, the main model still loads.
  EXPECT_NO_THROW(Model::load(dir.path, 1, {.mtp = false}));
}

}  // namespace
}  // namespace tf
