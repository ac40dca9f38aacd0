// Issue 20's "done when", through the CLI: every hostile input it lists — the regression corpus
// of tests/fuzz/corpus — fed to the command that reads such files ends with a clear error (exit
// 1 or 2, one line on stderr) or a correct result, within seconds and bounded memory. Each run is
// killed after 60 s and limited to 4 GiB of address space, so a hang or a runaway allocation
// fails the test instead of the machine.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli_test_support.h"

namespace tf {
namespace {

namespace fs = std::filesystem;

const std::string kCorpus = std::string(TIGHTFIT_TEST_DATA) + "/../fuzz/corpus/";
const std::string kData = TIGHTFIT_TEST_DATA;

struct Bounded {
  int code = -1;  // tightfit's exit code; 124 / 137 when the time limit killed it
  std::string out, err;
};

// `tightfit ARGS` under `timeout 60` and `ulimit -v` 4 GiB.
Bounded run_bounded(const std::vector<std::string>& args) {
  std::string line = "ulimit -v 4194304; exec timeout -s KILL 60 '" + std::string(TIGHTFIT_BINARY) + "'";
  for (const std::string& a : args) line += " '" + a + "'";
  test::ChildProcess child("/bin/sh", {"sh", "-c", line});
  const int code = child.finish();
  return {code, child.out(), child.err()};
}

// Exit 1 or 2 with one line on stderr that contains `needle`.
void expect_clear_error(const std::vector<std::string>& args, const std::string& needle) {
  const Bounded r = run_bounded(args);
  SCOPED_TRACE(args.back());
  EXPECT_TRUE(r.code == 1 || r.code == 2) << "exit " << r.code << ": " << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "'" << needle << "' not in " << r.err;
}

// The corpus file's bytes up to its first NUL (a chat_template input is template '\0' variables).
std::string template_part(const std::string& corpus_file) {
  const std::string all = test::read_file(corpus_file);
  return all.substr(0, all.find('\0'));
}

TEST(HostileInputCli, ChatTemplatesEndInAnErrorOrAResult) {
  const std::string messages = test::write_file(test::scratch("m.json"), R"([{"role": "user", "content": "hi"}])");
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(kCorpus + "chat_template")) {
    const std::string name = entry.path().filename().string();
    if (name == "deep_json_in_message_content") continue;  // its variables are the input: below
    const std::string jinja = test::write_file(test::scratch(name + ".jinja"), template_part(entry.path().string()));
    const Bounded r = run_bounded({"template", "--chat-template", jinja, "--messages", messages});
    SCOPED_TRACE(name);
    // Inputs that Python's Jinja2 renders: the same result (Python's integers are unbounded, but
    // these stay within 64 bits).
    const std::map<std::string, std::string> rendered = {
        {"min_int_mod_minus_one", "0"},
        {"slice_huge_step", "[2]"},
        {"range_step_overflow", "[9223372036854775800, 9223372036854775805]"},
        // Found by CI's fuzz smoke run: n copies of nothing once looped n times.
        {"empty_string_repeat", ""},
        {"empty_list_repeat", "[]"}};
    if (const auto it = rendered.find(name); it != rendered.end()) {
      EXPECT_EQ(r.code, 0) << r.err;
      EXPECT_EQ(r.out, it->second);
    } else if (name == "nested_ifs_2000") {  // valid Jinja: rendered or refused for its depth, quickly
      EXPECT_TRUE(r.code == 0 || r.code == 1 || r.code == 2) << "exit " << r.code << ": " << r.err;
    } else {
      EXPECT_TRUE(r.code == 1 || r.code == 2) << "exit " << r.code << ": " << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
    }
    ++checked;
  }
  EXPECT_GE(checked, 21);
}

TEST(HostileInputCli, DeeplyNestedMessageContentIsRefused) {
  const std::string all = test::read_file(kCorpus + "chat_template/deep_json_in_message_content");
  const std::string messages = test::write_file(test::scratch("deep.json"), all.substr(all.find('\0') + 1));
  expect_clear_error({"template", "--chat-template", kData + "/chat-template/chat_template.jinja", "--messages", messages},
                     "nested deeper than");
  // The same through --kwargs and --jsonl, the command's other JSON readers.
  const std::string deep = std::string(1000, '[') + std::string(1000, ']');
  expect_clear_error({"template", "--chat-template", kData + "/chat-template/chat_template.jinja", "--messages",
                      messages, "--kwargs", "{\"x\": " + deep + "}"},
                     "nested deeper than");
}

TEST(HostileInputCli, EveryJsonReaderOfTheCliRefusesDeepNesting) {
  // 1000 levels (a command line argument holds at most 128 KiB), far past the limit of 128.
  const std::string deep = std::string(1000, '[') + std::string(1000, ']');
  const std::string deep_file = test::write_file(test::scratch("deep.json"), deep);
  expect_clear_error({"generate", "-m", kData + "/tiny-qwen35moe-a", "--prompt", "x", "--chat-template-args",
                      "{\"x\": " + deep + "}"},
                     "--chat-template-args: JSON nested deeper than");
  expect_clear_error({"sensitivity", "-m", kData + "/tiny-qwen35moe-a", "--calib", deep_file}, "deep.json: JSON nested deeper than");
  const std::string jsonl = test::write_file(test::scratch("deep.jsonl"), "{\"text\": " + deep + "}\n");
  expect_clear_error({"tokenize", "--tokenizer", kData + "/tokenizer/qwen3.5-tokenizer.reconstructed.json", "--jsonl", jsonl},
                     "JSON nested deeper than");
  // template --jsonl answers each line, errors included, as a JSON line.
  const Bounded r = run_bounded({"template", "--chat-template", kData + "/chat-template/chat_template.jinja", "--jsonl", jsonl});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("{\"error\": \"--jsonl line: JSON nested deeper than"), std::string::npos) << r.out;
}

// A model folder with a hostile config.json (and the tiny model's weights, which are never read).
std::string config_folder(const std::string& name, const std::string& config_file) {
  const std::string dir = test::fresh_dir(name);
  fs::copy_file(config_file, fs::path(dir) / "config.json");
  fs::create_symlink(kData + "/tiny-qwen35moe-a/model.safetensors", fs::path(dir) / "model.safetensors");
  return dir;
}

TEST(HostileInputCli, HostileConfigsAreRefusedByInspectAndConvert) {
  for (const std::string name : {"deep_nesting", "layers_int32_max_no_layer_types", "vision_dims_overflow"}) {
    const std::string dir = config_folder(name, kCorpus + "model_config/" + name);
    expect_clear_error({"inspect", dir}, "config.json");
    expect_clear_error({"convert", "--hf", dir, "--dry-run"}, "config.json");
  }
}

TEST(HostileInputCli, HostileSafetensorsHeadersAreRefusedByInspect) {
  for (const std::string name : {"deep_header", "header_len_overflow", "shape_product_overflow"}) {
    const std::string file = test::scratch(name + ".safetensors");
    fs::copy_file(kCorpus + "safetensors_header/" + name, file, fs::copy_options::overwrite_existing);
    expect_clear_error({"inspect", file}, name + ".safetensors");
  }
}

TEST(HostileInputCli, HostileTokenizersAreRefusedByTokenize) {
  const std::map<std::string, std::string> needles = {{"deep_nesting", "nested deeper than"},
                                                       {"id_2e9", "tokenizer_json/id_2e9"},
                                                       {"id_int32_max", "tokenizer_json/id_int32_max"},
                                                       {"catastrophic_split_regex", "too much backtracking"}};
  for (const auto& [name, needle] : needles) {
    expect_clear_error({"tokenize", "--tokenizer", kCorpus + "tokenizer_json/" + name,
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"},
                       needle);
  }
}

TEST(HostileInputCli, HostileRecipesAreRefusedByConvert) {
  const std::string model = kData + "/tiny-qwen35moe-a";
  // The regex with a required literal fails fast (PCRE2 looks for the "X" first): the rule then
  // matches nothing, which is an error of its own.
  const std::map<std::string, std::string> needles = {{"bits_4294967300", "bits_4294967300"},
                                                       {"group_size_4294967328", "group_size_4294967328"},
                                                       {"catastrophic_regex", "matches no module"},
                                                       {"catastrophic_regex_no_literal", "too much backtracking"},
                                                       {"nested_groups_50000", "nested_groups_50000"}};
  for (const auto& [name, needle] : needles) {
    const std::string recipe = test::scratch(name + ".json");
    fs::copy_file(kCorpus + "recipe/" + name, recipe, fs::copy_options::overwrite_existing);
    expect_clear_error({"convert", "--hf", model, "--recipe", recipe, "--dry-run"}, needle);
  }
}

TEST(HostileInputCli, HostileImagesAreRefusedByGenerate) {
  const std::string model = std::string(TIGHTFIT_TEST_DATA) + "/../../models/tiny-random-vl";
  for (const std::string name : {"ppm_16bit_21_bytes", "tga_26_bytes_3083x3597", "png_header_lies_4000x4000",
                                 "jpeg_huffman_counts_sum_2040"}) {
    const std::string image = test::scratch(name);
    fs::copy_file(kCorpus + "image/" + name, image, fs::copy_options::overwrite_existing);
    expect_clear_error({"generate", "-m", model, "--prompt", "x", "--image", image, "--max-tokens", "1"}, name);
  }
}

}  // namespace
}  // namespace tf
