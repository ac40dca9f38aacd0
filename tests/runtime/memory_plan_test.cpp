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

}  // namespace
}  // namespace tf
