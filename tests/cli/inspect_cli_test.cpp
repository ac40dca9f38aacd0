// `tightfit inspect` end to end: the fixtures (HF text, HF with vision), a hand-built mlx-vlm
// quantized checkpoint, and one-line errors with non-zero exits on broken input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_test_support.h"
#include "storage/safetensors_writer.h"

namespace tf {
namespace {

namespace fs = std::filesystem;

using test::CliResult;
using test::fresh_dir;

CliResult inspect(const std::string& args) { return test::run_cli_line("inspect " + args); }

const std::string kData = TIGHTFIT_TEST_DATA;
const std::string kTiny = kData + "/tiny-qwen35moe-a";
const std::string kTinyVl = kData + "/tiny-qwen35moe-vl";

// A failure is exactly one line "tightfit: error: …" on stderr, nothing on stdout.
void expect_one_line_error(const CliResult& r, std::initializer_list<std::string> needles) {
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(r.err.rfind("tightfit: error: ", 0), 0u) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "'" << n << "' not in " << r.err;
}

TEST(InspectCli, TinyFixtureTable) {
  const CliResult r = inspect(kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  for (const char* s : {"Qwen3_5MoeForConditionalGeneration", "Hugging Face", "fused experts",
                        "conv1d [128, 1, 4]", "hidden 64, 4 layers, vocab 512",
                        "3 × linear_attention, 1 × full_attention", "8 experts, top 2",
                        "routed_experts", "196,608", "374,728", "758,200 bytes",
                        "bits per weight (as MLX counts): 16.001"})
    EXPECT_NE(r.out.find(s), std::string::npos) << "'" << s << "' not in:\n" << r.out;
  // The same checkpoint named by its file.
  const CliResult f = inspect(kTiny + "/model.safetensors");
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_NE(f.out.find("374,728"), std::string::npos);
}

TEST(InspectCli, JsonForMachines) {
  const CliResult r = inspect("--json " + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layout"], "Hugging Face");
  EXPECT_EQ(j["tensors"], 72);
  EXPECT_EQ(j["size_on_disk"], 758200);
  EXPECT_EQ(j["config"]["text"]["hidden_size"], 64);
  EXPECT_EQ(j["config"]["text"]["layer_types"][3], "full_attention");
  EXPECT_EQ(j["summary"]["total"]["params"], 374728);
  EXPECT_EQ(j["summary"]["roles"]["routed_experts"]["params"], 4 * (8 * 64 * 64 + 8 * 64 * 32));
  EXPECT_EQ(j["summary"]["roles"]["embed"]["formats"]["BF16"], 512 * 64);
  EXPECT_DOUBLE_EQ(j["summary"]["bits_per_weight"].get<double>(), 8.0 * 749456 / 374704);
  EXPECT_FALSE(j["summary"]["roles"].contains("vision"));
}

TEST(InspectCli, VisionFixture) {
  const CliResult r = inspect("--json " + kTinyVl);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layout"], "Hugging Face");
  EXPECT_EQ(j["tensors"], 105);
  EXPECT_EQ(j["config"]["vision"]["depth"], 2);
  // patch embed 32·3·2·16·16 + 32, pos embed 64·32, 2 blocks × 8544, merger 64 + 16512 + 8256
  EXPECT_EQ(j["summary"]["roles"]["vision"]["params"], 49184 + 2048 + 2 * 8544 + 64 + 16512 + 8256);
  EXPECT_EQ(j["summary"]["roles"]["vision"]["tensors"], 33);
  const CliResult t = inspect(kTinyVl);
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("depth 2, hidden 32, 2 heads"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("\nvision "), std::string::npos) << t.out;
}

// A hand-built mlx-vlm checkpoint: quantized embed (4-bit g64), lm_head (8-bit g32, an override
// that shapes alone cannot tell from 4-bit g64), experts (2-bit g64), dense GDN tensors and a
// vision tensor. Expected numbers worked out by hand.
TEST(InspectCli, MlxVlmQuantizedCheckpoint) {
  const std::string dir = fresh_dir("mlxvlm");
  std::vector<OwnedTensor> t;
  auto add = [&](const std::string& name, DType d, std::vector<int64_t> shape) {
    OwnedTensor o{{name, d, shape}, {}};
    o.data.resize(o.spec.nbytes());
    t.push_back(std::move(o));
  };
  auto add_q = [&](const std::string& m, std::vector<int64_t> lead, int64_t n, int64_t k, int bits, int g) {
    auto dims = [&](int64_t last) {
      auto d = lead;
      d.push_back(n);
      d.push_back(last);
      return d;
    };
    add(m + ".weight", DType::U32, dims(k * bits / 32));
    add(m + ".scales", DType::BF16, dims(k / g));
    add(m + ".biases", DType::BF16, dims(k / g));
  };
  const std::string L = "language_model.model.layers.0.";
  add_q("language_model.model.embed_tokens", {}, 512, 64, 4, 64);  // 18,432 B, 32,768 params
  add_q("language_model.lm_head", {}, 512, 64, 8, 32);             // 36,864 B, 32,768 params
  add_q(L + "mlp.switch_mlp.up_proj", {8}, 32, 64, 2, 64);         // 5,120 B, 16,384 params
  add(L + "linear_attn.dt_bias", DType::F32, {4});                 // 16 B, no MLX params
  add(L + "linear_attn.A_log", DType::F32, {4});                   // 16 B, no MLX params
  add(L + "linear_attn.in_proj_qkv.weight", DType::BF16, {128, 64});  // 16,384 B, 8,192
  add(L + "linear_attn.conv1d.weight", DType::BF16, {128, 4, 1});     // 1,024 B, 512
  add(L + "input_layernorm.weight", DType::BF16, {64});                // 128 B, 64
  add("vision_tower.blocks.0.attn.qkv.weight", DType::BF16, {96, 32});  // 6,144 B, 3,072
  add("vision_tower.blocks.0.attn.qkv.bias", DType::BF16, {96});        // 192 B, 96
  write_safetensors_file(dir + "/model.safetensors", t, {{"format", "mlx"}});

  nlohmann::json config;
  {
    std::ifstream in(kTiny + "/config.json");
    config = nlohmann::json::parse(in);
  }
  config["quantization"] = {{"group_size", 64},
                            {"bits", 4},
                            {"mode", "affine"},
                            {"language_model.lm_head", {{"group_size", 32}, {"bits", 8}}},
                            {L + "mlp.switch_mlp.up_proj", {{"group_size", 64}, {"bits", 2}}}};
  config["quantization_config"] = config["quantization"];
  std::ofstream(dir + "/config.json") << config.dump(2);

  const CliResult r = inspect("--json " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layout"], "mlx-vlm");
  EXPECT_EQ(j["metadata_format"], "mlx");
  EXPECT_EQ(j["conv1d_shape"], "[128, 4, 1]");
  const auto& s = j["summary"];
  EXPECT_TRUE(s["warnings"].empty()) << s["warnings"].dump();
  EXPECT_EQ(s["roles"]["lm_head"]["formats"]["8-bit g32"], 512 * 64);
  EXPECT_EQ(s["roles"]["embed"]["formats"]["4-bit g64"], 512 * 64);
  EXPECT_EQ(s["roles"]["routed_experts"]["formats"]["2-bit g64"], 8 * 32 * 64);
  EXPECT_DOUBLE_EQ(s["roles"]["routed_experts"]["bits_per_param"].get<double>(), 2.5);
  EXPECT_EQ(s["quantized_modules"].size(), 3u);
  EXPECT_EQ(s["mlx_bytes"], 84320);
  EXPECT_EQ(s["mlx_params"], 93856);
  EXPECT_DOUBLE_EQ(s["bits_per_weight"].get<double>(), 8.0 * 84320 / 93856);

  const CliResult text = inspect(dir);
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("config defaults 4-bit g64 affine, 2 per-module entries; 3 quantized modules "
                          "(2-bit g64 × 1, 4-bit g64 × 1, 8-bit g32 × 1)"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("bits per weight (as MLX counts): 7.187"), std::string::npos) << text.out;
}

TEST(InspectCli, BrokenInputIsOneLineError) {
  const std::string bytes = test::read_file(kTiny + "/model.safetensors");
  const std::string dir = fresh_dir("broken");
  const std::string file = dir + "/model.safetensors";
  std::ofstream(file, std::ios::binary) << bytes.substr(0, bytes.size() - 1000);
  expect_one_line_error(inspect(dir), {file, "tensor \"", "truncated"});
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes.substr(0, 4000);
  expect_one_line_error(inspect(file), {file, "header length"});
  // Corrupt header JSON: flip the opening brace.
  std::string corrupt = bytes;
  corrupt[8] = '[';
  std::ofstream(file, std::ios::binary | std::ios::trunc) << corrupt;
  expect_one_line_error(inspect(dir), {file, "JSON"});
  // Broken config.json next to valid weights.
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  std::ofstream(dir + "/config.json") << "{\"text_config\": {\"hidden_size\": \"big\"}}";
  expect_one_line_error(inspect(dir), {dir + "/config.json", "hidden_size"});

  expect_one_line_error(inspect(fresh_dir("empty")), {"no model*.safetensors"});
  const CliResult missing = inspect(dir + "/nothing-here");  // bad input: exit code 2
  test::expect_one_line_error(missing, 2, "no such folder");
  const CliResult usage = inspect("");
  EXPECT_EQ(usage.code, 2) << usage.err;
}

}  // namespace
}  // namespace tf
