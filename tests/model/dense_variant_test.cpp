// Dense Qwen3.5 (spec §1.5: same blocks, plain SwiGLU `mlp.{gate,up,down}_proj`) and tied
// embeddings, checked by equivalence: a dense model whose MLP is expert 0 of the fixture must
// equal a one-expert top-1 MoE with that expert and a zeroed shared expert; a tied model must
// equal an untied one whose lm_head is a copy of the embedding.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model_test_util.h"
#include "test_checkpoints.h"

namespace tf {
namespace {

using test::RawTensor;
using test::tiny_dir;

bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Rows [first, first + count) of expert 0 of an [E, rows, cols] tensor, as `shape`.
RawTensor expert0_rows(const RawTensor& t, std::string name, int64_t first, int64_t count,
                       std::vector<int64_t> shape) {
  const size_t row = t.shape[2] * dtype_size(t.dtype);
  const uint8_t* p = t.bytes.data() + first * row;
  return {std::move(name), t.dtype, std::move(shape), std::vector<uint8_t>(p, p + count * row)};
}

// Rewrites every layer's MoE block with expert 0 only: as a dense MLP, or as a 1-expert MoE.
void keep_expert0(std::vector<RawTensor>& ts, bool dense) {
  std::vector<RawTensor> out;
  for (auto& t : ts) {
    const std::string& n = t.name;
    const std::string mlp = n.substr(0, n.find(".mlp.") + 5);
    if (ends_with(n, "experts.gate_up_proj")) {
      const int64_t I = t.shape[1] / 2, H = t.shape[2];
      if (dense) {
        out.push_back(expert0_rows(t, mlp + "gate_proj.weight", 0, I, {I, H}));
        out.push_back(expert0_rows(t, mlp + "up_proj.weight", I, I, {I, H}));
      } else {
        out.push_back(expert0_rows(t, n, 0, 2 * I, {1, 2 * I, H}));
      }
    } else if (ends_with(n, "experts.down_proj")) {
      const int64_t H = t.shape[1], I = t.shape[2];
      out.push_back(dense ? expert0_rows(t, mlp + "down_proj.weight", 0, H, {H, I})
                          : expert0_rows(t, n, 0, H, {1, H, I}));
    } else if (ends_with(n, "mlp.gate.weight")) {
      if (!dense) out.push_back({n, t.dtype, {1, t.shape[1]},
                                 std::vector<uint8_t>(t.bytes.begin(), t.bytes.begin() + t.bytes.size() / t.shape[0])});
    } else if (n.find("shared_expert") != std::string::npos) {
      if (dense) continue;
      if (ends_with(n, "shared_expert.down_proj.weight")) std::fill(t.bytes.begin(), t.bytes.end(), 0);
      out.push_back(std::move(t));
    } else {
      out.push_back(std::move(t));
    }
  }
  ts = std::move(out);
}

TEST(DenseVariant, DenseMlpEqualsOneExpertMoe) {
  test::TempDir dense_dir("dense"), moe_dir("moe1");
  test::copy_checkpoint(
      tiny_dir(), dense_dir.path, [](auto& ts) { keep_expert0(ts, true); },
      [](nlohmann::json& c) {
        auto& t = c["text_config"];
        for (const char* k : {"num_experts", "num_experts_per_tok", "moe_intermediate_size",
                              "shared_expert_intermediate_size"})
          t.erase(k);
        t["intermediate_size"] = 32;
        t["model_type"] = "qwen3_5_text";
        c["model_type"] = "qwen3_5";
      });
  test::copy_checkpoint(
      tiny_dir(), moe_dir.path, [](auto& ts) { keep_expert0(ts, false); },
      [](nlohmann::json& c) {
        c["text_config"]["num_experts"] = 1;
        c["text_config"]["num_experts_per_tok"] = 1;
      });
  auto dense = Model::load(dense_dir.path, 2);
  auto moe = Model::load(moe_dir.path, 2);
  EXPECT_FALSE(dense->weights().layers[0].is_moe);
  EXPECT_EQ(dense->weights().layers[0].mlp.gate.rows, 32);
  EXPECT_TRUE(moe->weights().layers[0].is_moe);
  const auto tokens = test::fixture_tokens("seq40");
  const auto a = test::prefill_logits(*dense, tokens);
  const auto b = test::prefill_logits(*moe, tokens);
  // Routing weight 1 and a zero shared branch leave exactly the expert's output.
  EXPECT_EQ(a, b);
  // And it is a different model from the fixture (the MLP really is used).
  auto fixture = Model::load(tiny_dir(), 2);
  EXPECT_GT(test::max_row_relative_l2(a, test::prefill_logits(*fixture, tokens), 512), 0.05);
}

TEST(DenseVariant, TiedEmbeddingsUseTheEmbeddingAsHead) {
  test::TempDir tied_dir("tied"), untied_dir("untied");
  const std::string embed = "model.language_model.embed_tokens.weight";
  test::copy_checkpoint(
      tiny_dir(), tied_dir.path,
      [](auto& ts) { std::erase_if(ts, [](const RawTensor& t) { return t.name == "lm_head.weight"; }); },
      [](nlohmann::json& c) {
        c["tie_word_embeddings"] = true;
        c["text_config"]["tie_word_embeddings"] = true;
      });
  test::copy_checkpoint(tiny_dir(), untied_dir.path, [&](auto& ts) {
    const RawTensor* e = nullptr;
    for (const auto& t : ts)
      if (t.name == embed) e = &t;
    for (auto& t : ts)
      if (t.name == "lm_head.weight") t.bytes = e->bytes;
  });
  auto tied = Model::load(tied_dir.path, 2);
  auto untied = Model::load(untied_dir.path, 2);
  EXPECT_EQ(tied->weights().lm_head.data, tied->weights().embed.data);
  const auto tokens = test::fixture_tokens("seq16");
  EXPECT_EQ(test::prefill_logits(*tied, tokens), test::prefill_logits(*untied, tokens));
}

}  // namespace
}  // namespace tf
