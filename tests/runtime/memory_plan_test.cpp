// runtime/memory_plan.h's size formulas as convert's report uses them (one formula for the KV
// cache and the DeltaNet state: the plan's), checked by hand on Qwen3.5-35B-A3B's shapes.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "quant/convert_plan.h"
#include "quant/converter.h"
#include "quant/hf_shape_plan.h"
#include "quant/recipe.h"
#include "runtime/memory_plan.h"

namespace tf {
namespace {

const std::string kConfig35B =
    std::string(TIGHTFIT_TEST_DATA) + "/configs/qwen3.5-35b-a3b/config.json";

TEST(MemoryPlanFormulas, ConvertReportCountsTheStateWithThePlansFormulas) {
  const ModelConfig config = ModelConfig::from_json(read_json_file(kConfig35B), kConfig35B);
  // 10 attention layers × K and V × 2 kv heads × 256 × 2 bytes (f16).
  EXPECT_EQ(kv_bytes_per_token(config.text, KVType::F16, 64), 20'480u);
  // 30 DeltaNet layers × (32 heads × 128 × 128 recurrent + 3 × (2·16·128 + 32·128) conv) floats.
  EXPECT_EQ(deltanet_state_bytes(config.text), 30u * (32 * 128 * 128 + 3 * 8192) * 4);
  HfShapePlanOptions shapes;
  shapes.mtp = false;
  const ConvertPlan plan =
      plan_conversion(hf_tensor_specs(config, shapes), config, Recipe::load("dynamic"), {});
  const LoadMemoryEstimate m = load_memory_estimate(config, plan, 4096);
  EXPECT_EQ(m.kv_type, "f16");
  EXPECT_EQ(m.state, 20'480u * 4096 + 65'863'680u);
  EXPECT_EQ(m.text_weights, 11'172'195'456u);  // `tightfit plan`'s text weights (plan_cli_test)
  const LoadMemoryEstimate q4 = load_memory_estimate(config, plan, 4096, KVType::Q4);
  EXPECT_EQ(q4.state, 5'760u * 4096 + 65'863'680u);  // the plan's 4-bit KV: 5,760 B/token
}

TEST(MemoryPlanFormulas, SpeculativeDecodingCountsTheHeadsKvAndTheVerifyBuffers) {
  const ModelConfig config = ModelConfig::from_json(read_json_file(kConfig35B), kConfig35B);
  const TextConfig& c = config.text;
  // One attention layer: K and V × 2 kv heads × 256 × 2 bytes (f16): 2 KiB per token.
  EXPECT_EQ(mtp_kv_bytes_per_token(c, KVType::F16, 64), 2'048u);
  EXPECT_EQ(mtp_kv_bytes_per_token(c, KVType::Q4, 64) * 10, kv_bytes_per_token(c, KVType::Q4, 64));
  EXPECT_EQ(speculative_bytes_per_sequence(c, 0, 256), 0u);
  // One more draft: per DeltaNet layer one more raw conv row and one more row of delta-rule
  // inputs (8192 each) and two gates per value head (2 × 32), and one more verify row's logits
  // and hidden state (248320 + 2048), in floats — the recurrent state before the batch is one
  // per layer whatever the drafts (GatedDeltaNetHistory).
  EXPECT_EQ(speculative_bytes_per_sequence(c, 3, 256) - speculative_bytes_per_sequence(c, 2, 256),
            (30u * (8192 + 8192 + 2 * 32) + 248'320 + 2'048) * 4);
  EXPECT_GT(speculative_bytes_per_sequence(c, 2, 256), 30u * 32 * 128 * 128 * 4);
}

TEST(MemoryPlan, DraftingOnAModelWithAHeadAddsItsKvPerTokenAndBuffersPerSequence) {
  const std::string dir = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-mtp/copy";
  const ModelConfig config = ModelConfig::load(dir);
  const ModelSummary weights = weights_of_checkpoint(dir);
  MemoryPlanOptions o;
  o.context = 1000;
  o.parallel = 3;
  o.memory_total = 1'000'000'000;
  o.reserve_bytes = 0;
  const MemoryPlan plain = plan_memory(config, weights, o);
  o.draft_tokens = 2;
  const MemoryPlan spec = plan_memory(config, weights, o);
  // Tiny shapes: 2 kv heads × 32 × K and V × 2 bytes = 256 bytes per token for the head's layer.
  EXPECT_EQ(spec.mtp_kv_bytes_per_token, 256u);
  EXPECT_EQ(spec.kv_bytes_per_token, plain.kv_bytes_per_token + 256);
  EXPECT_EQ(spec.speculative_bytes_per_sequence,
            speculative_bytes_per_sequence(config.text, 2, o.prefill_chunk));
  EXPECT_EQ(spec.fixed_bytes, plain.fixed_bytes + 3 * spec.speculative_bytes_per_sequence);
  EXPECT_EQ(spec.total_bytes,
            plain.total_bytes + 3 * spec.speculative_bytes_per_sequence + 256u * 1000 * 3);
  bool line = false;
  for (const MemoryPlanLine& l : spec.lines) line |= l.name.rfind("speculative decoding", 0) == 0;
  EXPECT_TRUE(line);
  for (size_t w = 0; w < spec.widths.size(); ++w)
    EXPECT_EQ(spec.widths[w].bytes_per_token,
              plain.widths[w].bytes_per_token + mtp_kv_bytes_per_token(config.text, spec.widths[w].type, 64));
  // Without a head in the weights nothing is counted (the engine refuses to draft there).
  ModelSummary no_head = weights;
  no_head.roles[static_cast<size_t>(TensorRole::Mtp)] = {};
  const MemoryPlan headless = plan_memory(config, no_head, o);
  EXPECT_EQ(headless.draft_tokens, 0);
  EXPECT_EQ(headless.kv_bytes_per_token, plain.kv_bytes_per_token);
}

}  // namespace
}  // namespace tf
