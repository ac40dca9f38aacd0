// `bench` on the tiny fixture: the report has every test with sane fields, and the bytes a decode
// step reads are exactly those of the matrices it must touch (k experts per layer, not all of
// them, nothing twice). No timing assertions: speed belongs in bench/, not in tests.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/session.h"
#include "runtime/bench.h"

namespace tf {
namespace {

std::string tiny_dir() { return std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a"; }

// Weight bytes one decode step must read, from the bound weights (independent of the tap).
double expected_step_bytes(const Model& m) {
  const TextConfig& c = m.text();
  const Qwen35Weights& w = m.weights();
  double b = static_cast<double>(w.lm_head.total_bytes() + w.embed.row_slice(0, 1).total_bytes());
  for (const LayerWeights& l : w.layers) {
    if (l.type == LayerType::LinearAttention)
      for (const WeightMatrix* x : {&l.gdn.in_proj_qkv, &l.gdn.in_proj_z, &l.gdn.in_proj_b,
                                    &l.gdn.in_proj_a, &l.gdn.out_proj})
        b += x->total_bytes();
    else
      for (const WeightMatrix* x : {&l.attn.q_proj, &l.attn.k_proj, &l.attn.v_proj, &l.attn.o_proj})
        b += x->total_bytes();
    const MoeWeights& moe = l.moe;
    b += moe.router.total_bytes() + moe.shared_expert_gate.total_bytes() +
         moe.shared_expert.gate.total_bytes() + moe.shared_expert.up.total_bytes() +
         moe.shared_expert.down.total_bytes();
    const SwiGluWeights& e = moe.experts[0];  // all experts have one size
    b += c.num_experts_per_tok *
         static_cast<double>(e.gate.total_bytes() + e.up.total_bytes() + e.down.total_bytes());
  }
  return b;
}

TEST(Bench, ReportsEveryTestWithSaneFields) {
  BenchOptions o;
  o.model_dir = tiny_dir();
  o.prompt_tokens = {16};
  o.gen_tokens = {4};
  o.depths = {0, 64};
  o.threads = 2;
  o.repeats = 2;
  o.bandwidth_bytes = 16 << 20;
  const BenchReport r = run_bench(o);
  ASSERT_EQ(r.tests.size(), 3u);
  EXPECT_EQ(r.tests[0].name, "pp16");
  EXPECT_EQ(r.tests[1].name, "tg4");
  EXPECT_EQ(r.tests[2].name, "tg4 @ d64");
  EXPECT_TRUE(r.tests[0].prompt);
  EXPECT_FALSE(r.tests[1].prompt);
  EXPECT_EQ(r.tests[2].depth, 64);
  EXPECT_EQ(r.threads, 2);
  EXPECT_EQ(r.layers, 4);
  EXPECT_GT(r.read_bandwidth_gbs, 0.0);
  EXPECT_GT(r.model_bytes, 0u);
  EXPECT_EQ(r.precision, "f32");
  for (const auto& t : r.tests) {
    EXPECT_EQ(t.tok_per_s.samples.size(), 2u) << t.name;
    EXPECT_GT(t.tok_per_s.median, 0.0) << t.name;
    EXPECT_TRUE(std::isfinite(t.tok_per_s.median)) << t.name;
    EXPECT_LE(t.tok_per_s.min, t.tok_per_s.median);
    EXPECT_GE(t.tok_per_s.max, t.tok_per_s.median);
    EXPECT_GT(t.weight_bytes, 0.0) << t.name;
    EXPECT_GE(t.cpu_share, 0.0) << t.name;
    EXPECT_TRUE(std::isfinite(t.cpu_share)) << t.name;
  }
  // A decode step reads exactly the matrices it needs: k of the E experts per layer.
  auto model = Model::load(tiny_dir(), 1);
  EXPECT_DOUBLE_EQ(r.tests[1].weight_bytes, expected_step_bytes(*model));
  EXPECT_DOUBLE_EQ(r.tests[2].weight_bytes, expected_step_bytes(*model));
  // A deeper context reads more KV cache; the roofline falls with it.
  EXPECT_GT(r.tests[2].cache_bytes, r.tests[1].cache_bytes);
  EXPECT_LT(r.tests[2].roofline_tok_per_s, r.tests[1].roofline_tok_per_s);
  EXPECT_NEAR(r.tests[1].fraction_of_roofline,
              r.tests[1].tok_per_s.median / r.tests[1].roofline_tok_per_s, 1e-12);

  const std::string table = format_bench_report(r);
  for (const char* s : {"| pp16 |", "| tg4 |", "| tg4 @ d64 |", "read bandwidth", "load average"})
    EXPECT_NE(table.find(s), std::string::npos) << s;
  const nlohmann::json j = bench_report_json(r);
  ASSERT_EQ(j["tests"].size(), 3u);
  EXPECT_EQ(j["tests"][1]["kind"], "tg");
  EXPECT_EQ(j["tests"][1]["tok_per_s"]["samples"].size(), 2u);
  for (const char* k : {"read_bandwidth_gbs", "cpu", "threads", "load_average_before", "model_bytes"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["tests"][1].contains("fraction_of_roofline"));
  EXPECT_TRUE(j["tests"][0].contains("cpu_share"));
}

// The KV part of a step's bytes follows the cache type: at depth D the f32 cache reads twice the
// bytes of the f16 one; the DeltaNet state (float32 either way) does not change.
TEST(Bench, CacheBytesFollowTheKvType) {
  BenchOptions o;
  o.model_dir = tiny_dir();
  o.prompt_tokens = {};
  o.gen_tokens = {2};
  o.depths = {0, 1000};
  o.threads = 1;
  o.repeats = 1;
  o.bandwidth_bytes = 16 << 20;
  o.warm_page_cache = false;
  double bytes[2][2];  // [f32, f16][depth]
  for (int i = 0; i < 2; ++i) {
    o.kv_cache = i == 0 ? "f32" : "f16";
    const BenchReport r = run_bench(o);
    ASSERT_EQ(r.tests.size(), 2u);
    EXPECT_EQ(r.kv_type, i == 0 ? "f32" : "f16");
    EXPECT_EQ(bench_report_json(r)["kv_type"], r.kv_type);
    EXPECT_NE(format_bench_report(r).find("KV cache " + r.kv_type), std::string::npos);
    for (int d = 0; d < 2; ++d) bytes[i][d] = r.tests[d].cache_bytes;
  }
  auto model = Model::load(tiny_dir(), 1);
  const TextConfig& c = model->text();
  int attention_layers = 0;
  for (int i = 0; i < c.num_hidden_layers; ++i)
    attention_layers += c.layer_types[i] == LayerType::FullAttention;
  // Rows read per step at depth 1000 (mid-point of 2 steps: 1001) minus those at depth 0 (1).
  const double rows = 1000.0 * attention_layers * 2 * c.num_key_value_heads * c.head_dim;
  EXPECT_DOUBLE_EQ(bytes[0][1] - bytes[0][0], 4 * rows);
  EXPECT_DOUBLE_EQ(bytes[1][1] - bytes[1][0], 2 * rows);
  EXPECT_DOUBLE_EQ(bytes[0][0] - bytes[1][0], 2.0 * attention_layers * 2 * c.num_key_value_heads *
                                                  c.head_dim * 1);  // the one row at depth 0
}

// --snapshot: the state saved at depth D is the DeltaNet states plus D rows of KV per
// attention layer, in the report's table and JSON.
TEST(Bench, SnapshotTimingsCountTheStateAndTheKvRows) {
  BenchOptions o;
  o.model_dir = tiny_dir();
  o.prompt_tokens = {};
  o.gen_tokens = {};
  o.depths = {0, 100};
  o.threads = 1;
  o.repeats = 2;
  o.bandwidth_bytes = 16 << 20;
  o.warm_page_cache = false;
  o.kv_cache = "f32";
  o.snapshots = true;
  const BenchReport r = run_bench(o);
  ASSERT_EQ(r.snapshots.size(), 2u);
  auto model = Model::load(tiny_dir(), 1);
  const TextConfig& c = model->text();
  int attention_layers = 0;
  for (int i = 0; i < c.num_hidden_layers; ++i)
    attention_layers += c.layer_types[i] == LayerType::FullAttention;
  EXPECT_GT(r.snapshots[0].deltanet_bytes, 0);
  EXPECT_EQ(r.snapshots[0].bytes, r.snapshots[0].deltanet_bytes);  // no KV rows at depth 0
  EXPECT_DOUBLE_EQ(r.snapshots[1].bytes - r.snapshots[1].deltanet_bytes,
                   100.0 * attention_layers * 2 * c.num_key_value_heads * c.head_dim * 4);
  for (const auto& t : r.snapshots) {
    EXPECT_EQ(t.snapshot_ms.samples.size(), 2u);
    EXPECT_GE(t.restore_ms.median, 0);
  }
  EXPECT_NE(format_bench_report(r).find("snapshot @ d100"), std::string::npos);
  EXPECT_EQ(bench_report_json(r)["snapshots"].size(), 2u);
}

TEST(Bench, MedianAndSpread) {
  const BenchStat s = BenchStat::of({3.0, 1.0, 2.0, 10.0});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  EXPECT_DOUBLE_EQ(BenchStat::of({5.0}).median, 5.0);
  EXPECT_DOUBLE_EQ(BenchStat::of({5.0}).stddev, 0.0);
}

TEST(Bench, BadModelFolderAndRepeatsAreErrors) {
  BenchOptions o;
  o.model_dir = "/nonexistent/model";
  EXPECT_ANY_THROW(run_bench(o));
  o.model_dir = tiny_dir();
  o.repeats = 0;
  EXPECT_THROW(run_bench(o), std::invalid_argument);
}

TEST(Bench, TestsPastTheModelsContextAreRefusedUpFront) {
  // bench's default depths (0, 4K, 32K) against a model of a 4,096-token context: one clear
  // error naming the depth that fits, before any test runs (was a forward pass's error after
  // the others had run).
  BenchOptions o;
  o.model_dir = tiny_dir();
  o.prompt_tokens = {8};
  o.gen_tokens = {4};
  o.depths = {0, 4096};
  o.repeats = 1;
  o.warm_page_cache = false;
  o.bandwidth_bytes = 1 << 20;
  try {
    run_bench(o);
    FAIL() << "a depth past the context ran";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("choose depths up to 4091"), std::string::npos) << e.what();
  }
  o.depths = {0};
  o.prompt_tokens = {5000};
  EXPECT_THROW(run_bench(o), std::invalid_argument);
}

TEST(SessionRandomContext, GrowsTheKvCachesAndDecodeContinues) {
  auto model = Model::load(tiny_dir(), 1);
  Session s(*model);
  s.prefill(std::vector<int32_t>{1, 2, 3});
  s.extend_with_random_context(100, 1);
  EXPECT_EQ(s.length(), 100);
  EXPECT_EQ(s.next_position(), 100);
  for (float v : s.decode(7)) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(s.length(), 101);
  s.extend_with_random_context(50, 1);  // shorter: nothing happens
  EXPECT_EQ(s.length(), 101);
}

}  // namespace
}  // namespace tf
