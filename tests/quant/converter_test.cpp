// `convert` end to end on the tiny fixtures: every preset's output checked tensor by tensor
// against the MLX layout rules, expert layouts, vision, MTP, sharding, and the failure paths
// (nothing that looks like a model may be left behind).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "mlx_layout_check.h"
#include "quant/converter.h"
#include "quant/hf_shape_plan.h"
#include "storage/safetensors.h"
#include "storage/safetensors_writer.h"

namespace tf {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::ScratchDir;

const std::string kData = TIGHTFIT_TEST_DATA;
const std::string kTiny = kData + "/tiny-qwen35moe-a";
const std::string kTinyVl = kData + "/tiny-qwen35moe-vl";

// Copies a fixture folder, letting `edit` change its tensors and config.
void copy_model(const std::string& from, const std::string& to,
                const std::function<void(std::vector<OwnedTensor>&)>& edit = {},
                const std::function<void(json&)>& edit_config = {}) {
  fs::create_directories(to);
  auto ck = Checkpoint::open(from);
  std::vector<OwnedTensor> ts;
  for (const auto& n : ck->names()) {
    const TensorView& t = ck->get(n);
    ts.push_back({spec_of(t), std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  }
  if (edit) edit(ts);
  write_safetensors_file(to + "/model.safetensors", ts, {{"format", "pt"}});
  json cfg;
  std::ifstream(from + "/config.json") >> cfg;
  if (edit_config) edit_config(cfg);
  std::ofstream(to + "/config.json") << cfg.dump(2);
  for (const char* aux : {"preprocessor_config.json"})
    if (fs::exists(from + "/" + aux)) fs::copy_file(from + "/" + aux, to + "/" + aux);
}

ConvertOptions options(const std::string& hf, const std::string& out, const std::string& recipe,
                       int group = 0) {
  ConvertOptions o;
  o.hf_dir = hf;
  o.out_dir = out;
  o.recipe = Recipe::load(recipe);
  if (group) o.recipe.group_size = group;
  o.threads = 2;
  return o;
}

std::vector<std::string> layout_problems(const std::string& hf, const std::string& out,
                                         test::LayoutExpectation e = {}) {
  int checked = 0;
  auto p = test::check_mlx_conversion(hf, out, e, &checked);
  EXPECT_GT(checked, 50);
  return p;
}

// No output folder and no hidden partial sibling after a failed run.
void expect_nothing_left(const std::string& parent, const std::string& out) {
  EXPECT_FALSE(fs::exists(out)) << out;
  for (const auto& e : fs::directory_iterator(parent))
    EXPECT_EQ(e.path().filename().string().find("tightfit-partial"), std::string::npos) << e.path();
}

class EveryPreset : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(EveryPreset, OutputFollowsTheMlxLayoutTensorByTensor) {
  const auto& [recipe, group] = GetParam();
  ScratchDir dir("convert-preset");
  const std::string out = dir.path + "/out";
  const ConvertResult r = convert_checkpoint(options(kTiny, out, recipe, group));
  const auto problems = layout_problems(kTiny, out);
  for (const auto& p : problems) ADD_FAILURE() << p;
  EXPECT_TRUE(fs::exists(out + "/model.safetensors"));
  EXPECT_TRUE(fs::exists(out + "/config.json"));
  EXPECT_FALSE(r.plan.has_vision);  // the fixture's config has a vision_config but no weights
  EXPECT_FALSE(r.plan.warnings.empty());
  EXPECT_GT(r.summary.bits_per_weight(), 2.0);
  // What was written is what the plan and the report say.
  auto ck = Checkpoint::open(out);
  EXPECT_EQ(ck->specs().size(), r.plan.output_specs().size());
  EXPECT_EQ(summarize_model(ck->specs(), &*r.plan.quantization).mlx_bytes, r.summary.mlx_bytes);
}

INSTANTIATE_TEST_SUITE_P(Convert, EveryPreset,
                         ::testing::Combine(::testing::Values("dynamic", "uniform-2", "uniform-3", "uniform-4",
                                                              "tight", "edge-boost", "mixed-2-6"),
                                            ::testing::Values(64, 32)),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param) + "_g" + std::to_string(std::get<1>(info.param));
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(Converter, PerExpertInputGivesTheSameBytesAsFused) {
  ScratchDir dir("convert-per-expert");
  copy_model(kTiny, dir.path + "/hf", [](std::vector<OwnedTensor>& ts) {
    std::vector<OwnedTensor> out;
    for (auto& t : ts) {
      const bool gu = t.spec.name.find("experts.gate_up_proj") != std::string::npos;
      const bool dn = t.spec.name.find("experts.down_proj") != std::string::npos;
      if (!gu && !dn) {
        out.push_back(std::move(t));
        continue;
      }
      const std::string base = t.spec.name.substr(0, t.spec.name.rfind('.') + 1);
      const int64_t E = t.spec.shape[0], rows = t.spec.shape[1], cols = t.spec.shape[2];
      const size_t row = cols * 2;
      for (int64_t e = 0; e < E; ++e) {
        auto part = [&](const std::string& n, int64_t first, int64_t count) {
          const uint8_t* p = t.data.data() + (e * rows + first) * row;
          out.push_back({{base + std::to_string(e) + "." + n, DType::BF16, {count, cols}},
                         std::vector<uint8_t>(p, p + count * row)});
        };
        if (gu) {
          part("gate_proj.weight", 0, rows / 2);
          part("up_proj.weight", rows / 2, rows / 2);
        } else {
          part("down_proj.weight", 0, rows);
        }
      }
    }
    ts = std::move(out);
  });
  convert_checkpoint(options(kTiny, dir.path + "/a", "dynamic"));
  convert_checkpoint(options(dir.path + "/hf", dir.path + "/b", "dynamic"));
  auto a = Checkpoint::open(dir.path + "/a"), b = Checkpoint::open(dir.path + "/b");
  ASSERT_EQ(a->names(), b->names());
  for (const auto& n : a->names()) {
    const TensorView &x = a->get(n), &y = b->get(n);
    ASSERT_EQ(x.nbytes, y.nbytes) << n;
    EXPECT_EQ(std::memcmp(x.data, y.data, x.nbytes), 0) << n;
  }
}

TEST(Converter, VisionTowerKeepsBf16WithThePatchEmbedPermutation) {
  ScratchDir dir("convert-vl");
  // A fake tokenizer and template, to check auxiliary files are copied across.
  copy_model(kTinyVl, dir.path + "/hf");
  std::ofstream(dir.path + "/hf/tokenizer.json") << "{}";
  std::ofstream(dir.path + "/hf/chat_template.jinja") << "{{ messages }}";
  std::ofstream(dir.path + "/hf/generation_config.json") << "{}";
  std::ofstream(dir.path + "/hf/notes.txt") << "not copied";
  const ConvertResult r = convert_checkpoint(options(dir.path + "/hf", dir.path + "/vl", "dynamic"));
  EXPECT_TRUE(r.plan.has_vision);
  for (const auto& p : layout_problems(dir.path + "/hf", dir.path + "/vl", {.vision = true})) ADD_FAILURE() << p;
  auto ck = Checkpoint::open(dir.path + "/vl");
  EXPECT_EQ(ck->get("vision_tower.patch_embed.proj.weight").shape, (std::vector<int64_t>{32, 2, 16, 16, 3}));
  EXPECT_EQ(ck->get("vision_tower.blocks.0.attn.qkv.weight").dtype, DType::BF16);
  EXPECT_FALSE(ck->has("vision_tower.blocks.0.attn.qkv.scales"));
  for (const char* f : {"tokenizer.json", "chat_template.jinja", "generation_config.json", "preprocessor_config.json"})
    EXPECT_TRUE(fs::exists(dir.path + "/vl/" + f)) << f;
  EXPECT_FALSE(fs::exists(dir.path + "/vl/notes.txt"));

  ConvertOptions text = options(dir.path + "/hf", dir.path + "/text", "dynamic");
  text.plan.text_only = true;
  const ConvertResult t = convert_checkpoint(text);
  EXPECT_FALSE(t.plan.has_vision);
  for (const auto& p : layout_problems(dir.path + "/hf", dir.path + "/text")) ADD_FAILURE() << p;
  EXPECT_TRUE(fs::exists(dir.path + "/text/tokenizer.json"));
  EXPECT_FALSE(fs::exists(dir.path + "/text/preprocessor_config.json"));
  EXPECT_LT(t.summary.bits_per_weight(), r.summary.bits_per_weight());
}

TEST(Converter, KeepMtpQuantizesTheHeadByTheSameRules) {
  ScratchDir dir("convert-mtp");
  json cfg;
  std::ifstream(kTiny + "/config.json") >> cfg;
  cfg["text_config"]["mtp_num_hidden_layers"] = 1;
  const ModelConfig mc = ModelConfig::from_json(cfg);
  HfShapePlanOptions only;
  only.vision = false;
  copy_model(kTiny, dir.path + "/hf", [&](std::vector<OwnedTensor>& ts) {
    uint32_t seed = 7;
    for (const auto& s : hf_tensor_specs(mc, only)) {
      if (s.name.rfind("mtp.", 0) != 0) continue;
      OwnedTensor t{s, std::vector<uint8_t>(s.nbytes())};
      for (int64_t i = 0; i < s.numel(); ++i) {
        seed = seed * 1664525u + 1013904223u;
        store_float(t.data.data(), s.dtype, i, ((seed >> 8) / 16777216.0f - 0.5f) * 0.2f);
      }
      ts.push_back(std::move(t));
    }
  }, [](json& c) { c["text_config"]["mtp_num_hidden_layers"] = 1; });

  const ConvertResult dropped = convert_checkpoint(options(dir.path + "/hf", dir.path + "/no-mtp", "dynamic", 32));
  EXPECT_FALSE(dropped.plan.has_mtp);
  for (const auto& p : layout_problems(dir.path + "/hf", dir.path + "/no-mtp")) ADD_FAILURE() << p;

  ConvertOptions o = options(dir.path + "/hf", dir.path + "/mtp", "dynamic", 32);
  o.plan.keep_mtp = true;
  const ConvertResult kept = convert_checkpoint(o);
  EXPECT_TRUE(kept.plan.has_mtp);
  for (const auto& p : layout_problems(dir.path + "/hf", dir.path + "/mtp", {.mtp = true})) ADD_FAILURE() << p;
  auto ck = Checkpoint::open(dir.path + "/mtp");
  EXPECT_EQ(ck->get("mtp.layers.0.mlp.switch_mlp.gate_proj.weight").shape, (std::vector<int64_t>{8, 32, 4}));  // 2-bit
  EXPECT_EQ(ck->get("mtp.layers.0.self_attn.o_proj.weight").shape, (std::vector<int64_t>{64, 12}));  // 3-bit
  EXPECT_FALSE(ck->has("mtp.layers.0.mlp.gate.scales"));
  json out;
  std::ifstream(dir.path + "/mtp/config.json") >> out;
  EXPECT_EQ(out["text_config"]["mtp_num_hidden_layers"], 1);
  std::ifstream(dir.path + "/no-mtp/config.json") >> out;
  EXPECT_EQ(out["text_config"]["mtp_num_hidden_layers"], 0);
}

TEST(Converter, Float16OutputKeepsAlogInItsSourceDtype) {
  ScratchDir dir("convert-f16");
  ConvertOptions o = options(kTiny, dir.path + "/out", "dynamic", 32);
  o.plan.dtype = DType::F16;
  convert_checkpoint(o);
  for (const auto& p : layout_problems(kTiny, dir.path + "/out", {.dtype = DType::F16})) ADD_FAILURE() << p;
  auto ck = Checkpoint::open(dir.path + "/out");
  EXPECT_EQ(ck->get("language_model.model.embed_tokens.scales").dtype, DType::F16);
  EXPECT_EQ(ck->get("language_model.model.norm.weight").dtype, DType::F16);
  EXPECT_EQ(ck->get("language_model.model.layers.0.linear_attn.A_log").dtype, DType::BF16);  // as stored
  json cfg;
  std::ifstream(dir.path + "/out/config.json") >> cfg;
  EXPECT_EQ(cfg["dtype"], "float16");
  EXPECT_EQ(cfg["text_config"]["dtype"], "float16");
}

TEST(Converter, ShardsAndIndexWhenTheOutputIsLarge) {
  ScratchDir dir("convert-shards");
  ConvertOptions o = options(kTiny, dir.path + "/out", "uniform-4");
  o.max_shard_bytes = 64 << 10;
  o.work_bytes = 1 << 20;
  const ConvertResult r = convert_checkpoint(o);
  EXPECT_TRUE(fs::exists(dir.path + "/out/model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(dir.path + "/out/model.safetensors"));
  int shards = 0;
  for (const auto& f : r.files) shards += f.rfind("model-0", 0) == 0;
  EXPECT_GE(shards, 3);
  for (const auto& p : layout_problems(kTiny, dir.path + "/out")) ADD_FAILURE() << p;
}

TEST(Converter, DryRunPlansFromConfigAloneOrHeaders) {
  ConvertOptions o = options(kData + "/configs/qwen3.5-35b-a3b", "", "dynamic");
  const ConvertResult r = plan_folder(o);
  EXPECT_TRUE(r.from_config_only);
  EXPECT_NEAR(r.summary.bits_per_weight(), 2.749, 5e-4);
  o.plan.text_only = true;
  EXPECT_NEAR(plan_folder(o).summary.bits_per_weight(), 2.579, 5e-4);
  const std::string report =
      format_convert_report(plan_folder(o), o.recipe, {.state = 1, .context = 4096, .kv_type = "f16"});
  EXPECT_NE(report.find("2.579"), std::string::npos) << report;
  EXPECT_NE(report.find("routed_experts"), std::string::npos);
  EXPECT_NE(report.find("expected peak memory at load"), std::string::npos);
  ConvertOptions tiny = options(kTiny, "", "dynamic");
  EXPECT_FALSE(plan_folder(tiny).from_config_only);
  // Same plan from the headers as from the config (the fixture is bf16 everywhere).
  ScratchDir dir("convert-dry");
  fs::copy_file(kTiny + "/config.json", dir.path + "/config.json");
  ConvertOptions cfg_only = options(dir.path, "", "dynamic");
  cfg_only.plan.text_only = tiny.plan.text_only = true;  // the config has a vision_config, the weights none
  const ConvertResult from_cfg = plan_folder(cfg_only);
  const ConvertResult from_headers = plan_folder(tiny);
  EXPECT_EQ(from_cfg.plan.output_bytes() - from_headers.plan.output_bytes(),
            4ull * 3 * (4 - 2));  // A_log: F32 in the config plan, BF16 in the fixture (4 heads × 3 GDN layers)
}

TEST(Converter, BadInputsFailClearlyAndLeaveNothing) {
  ScratchDir dir("convert-bad");
  auto expect_fail = [&](const std::string& hf, const std::string& needle) {
    const std::string out = dir.path + "/out";
    try {
      convert_checkpoint(options(hf, out, "dynamic"));
      ADD_FAILURE() << "converted " << hf;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    expect_nothing_left(dir.path, out);
  };
  // Unknown architecture.
  copy_model(kTiny, dir.path + "/llama", {}, [](json& c) {
    c["architectures"] = {"LlamaForCausalLM"};
    c["model_type"] = "llama";
  });
  expect_fail(dir.path + "/llama", "LlamaForCausalLM");
  // Corrupt (truncated) safetensors.
  copy_model(kTiny, dir.path + "/corrupt");
  fs::resize_file(dir.path + "/corrupt/model.safetensors", 4000);
  expect_fail(dir.path + "/corrupt", "model.safetensors");
  // A shard named by the index is missing.
  copy_model(kTiny, dir.path + "/sharded");
  {
    auto ck = Checkpoint::open(kTiny);
    json index = {{"metadata", json::object()}, {"weight_map", json::object()}};
    for (const auto& n : ck->names()) index["weight_map"][n] = "model.safetensors";
    index["weight_map"]["model.language_model.norm.weight"] = "model-00002-of-00002.safetensors";
    std::ofstream(dir.path + "/sharded/model.safetensors.index.json") << index.dump();
  }
  expect_fail(dir.path + "/sharded", "model-00002-of-00002.safetensors");
  // A tensor missing altogether.
  copy_model(kTiny, dir.path + "/missing", [](std::vector<OwnedTensor>& ts) {
    std::erase_if(ts, [](const OwnedTensor& t) { return t.spec.name == "model.language_model.layers.2.linear_attn.A_log"; });
  });
  expect_fail(dir.path + "/missing", "layers.2.linear_attn.A_log");
  // A NaN in the last tensor: the run fails half-way, after shards were being written.
  copy_model(kTiny, dir.path + "/nan", [](std::vector<OwnedTensor>& ts) {
    for (auto& t : ts)
      if (t.spec.name == "model.language_model.layers.3.self_attn.v_proj.weight")
        store_float(t.data.data(), DType::BF16, 5, std::nanf(""));
  });
  expect_fail(dir.path + "/nan", "layers.3.self_attn.v_proj");
  // Already MLX.
  convert_checkpoint(options(kTiny, dir.path + "/mlx", "uniform-4"));
  try {
    convert_checkpoint(options(dir.path + "/mlx", dir.path + "/again", "dynamic"));
    ADD_FAILURE();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("quantiz"), std::string::npos) << e.what();
  }
  // No weights at all (a config-only folder is for --dry-run).
  fs::create_directories(dir.path + "/cfg");
  fs::copy_file(kTiny + "/config.json", dir.path + "/cfg/config.json");
  expect_fail(dir.path + "/cfg", "--dry-run");
}

TEST(Converter, ExistingOutputNeedsForceAndForceReplacesOnlyAPreviousOutput) {
  ScratchDir dir("convert-force");
  const std::string out = dir.path + "/out";
  fs::create_directories(out);
  std::ofstream(out + "/keep.txt") << "user data";
  EXPECT_THROW(convert_checkpoint(options(kTiny, out, "uniform-3")), std::runtime_error);
  EXPECT_TRUE(fs::exists(out + "/keep.txt"));
  ConvertOptions o = options(kTiny, out, "uniform-3");
  o.force = true;
  EXPECT_THROW(convert_checkpoint(o), std::runtime_error);  // keep.txt is not tightfit's
  EXPECT_TRUE(fs::exists(out + "/keep.txt"));
  fs::remove(out + "/keep.txt");
  convert_checkpoint(o);  // into the now empty folder
  convert_checkpoint(o);  // over the previous output
  EXPECT_TRUE(fs::exists(out + "/config.json"));
  expect_nothing_left(dir.path, dir.path + "/nonexistent");
  // An empty existing folder is fine without --force.
  fs::create_directories(dir.path + "/empty");
  EXPECT_NO_THROW(convert_checkpoint(options(kTiny, dir.path + "/empty", "uniform-3")));
}

}  // namespace
}  // namespace tf
