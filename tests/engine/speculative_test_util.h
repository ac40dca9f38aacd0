// Model folders for the speculative-decoding engine tests, made from the MTP fixture
// (tests/data/tiny-qwen35moe-mtp): its "copy" weights, whose head agrees with the main model
// most of the time (53-82 % of drafts accepted), with the tiny 512-id tokenizer of
// models/tiny-random; and the same with the tiny vision tower of tests/data/tiny-qwen35moe-vl
// beside it, for image prompts.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "engine_test_util.h"
#include "storage/safetensors.h"
#include "storage/safetensors_writer.h"

namespace tightfit::test {

inline std::filesystem::path fresh_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("tightfit-engine-spec-" + name + "-" +
                                                    std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The "copy" weights with the tiny tokenizer, plus `extra_files` (name → text), in a folder of
// its own.
inline std::string copy_model(const std::string& name,
                              const std::vector<std::pair<std::string, std::string>>& extra_files = {}) {
  namespace fs = std::filesystem;
  const std::string data = TIGHTFIT_TEST_DATA;
  const fs::path dir = fresh_dir(name);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(data + "/tiny-qwen35moe-mtp/copy/" + f, dir / f);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    fs::copy_file(fs::canonical(tiny_random_dir() + "/" + f), dir / f);
  for (const auto& [file, text] : extra_files) std::ofstream(dir / file) << text;
  return dir.string();
}

// The "copy" text model and MTP head with models/tiny-random-vl's vision tower, config (the
// image token ids of the tiny tokenizer) and processor: the checkpoint is two files, the copy
// model's and one with the vision tensors (`model.visual.*`) of the VL fixture.
inline std::string copy_vl_model(const std::string& name) {
  namespace fs = std::filesystem;
  const std::string data = TIGHTFIT_TEST_DATA;
  const std::string vl = data + "/../../models/tiny-random-vl";
  const fs::path dir = fresh_dir(name);
  fs::copy_file(data + "/tiny-qwen35moe-mtp/copy/model.safetensors", dir / "model-text.safetensors");
  const auto vision = tf::SafetensorsFile::open(data + "/tiny-qwen35moe-vl/model.safetensors");
  std::vector<tf::OwnedTensor> tensors;
  for (const tf::TensorView& t : vision->tensors())
    if (t.name.rfind("model.visual.", 0) == 0)
      tensors.push_back({tf::spec_of(t), std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  tf::write_safetensors_file((dir / "model-vision.safetensors").string(), tensors);
  nlohmann::json config = tf::read_json_file(fs::canonical(vl + "/config.json").string());
  config["text_config"]["mtp_num_hidden_layers"] = 1;
  std::ofstream(dir / "config.json") << config.dump(2);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json",
                        "preprocessor_config.json"})
    fs::copy_file(fs::canonical(vl + "/" + f), dir / f);
  return dir.string();
}

}  // namespace tightfit::test
