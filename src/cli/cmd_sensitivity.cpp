// `tightfit sensitivity`: run the model over calibration text and measure, for every linear
// module, the relative output error of quantizing that module alone (quant/sensitivity.h).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "cli/cli_io.h"
#include "cli/commands.h"
#include "cli/model_flag.h"
#include "cli/threads_flag.h"
#include "storage/model_config.h"
#include "tightfit/sensitivity.h"
#include "tokenizer/tokenizer.h"

namespace tf::cli {

namespace {

namespace fs = std::filesystem;

struct SensitivityArgs {
  std::string model;
  std::vector<std::string> calib;
  std::string json_out, csv_out;
  int bits = 2, group_size = 64, threads = 0, edge_layers = 0;
  int64_t tokens = 512;
};

using Sequence = tightfit::CalibrationSequence;

// Token ids from JSON: [ids], [[ids], …] or {"name": [ids], …} (in an object, entries that are
// not lists — e.g. a "generator" note — are skipped).
std::vector<Sequence> sequences_from_json(const std::string& path) {
  nlohmann::json j;
  try {
    j = read_json_file(path);
  } catch (const std::runtime_error& e) {
    throw BadInputError(e.what());
  }
  std::vector<Sequence> out;
  auto add = [&](const std::string& name, const nlohmann::json& v) {
    if (!v.is_array() || v.empty() || !std::all_of(v.begin(), v.end(), [](const auto& x) {
          return x.is_number_integer() && x.template get<int64_t>() >= 0;
        }))
      throw BadInputError(path + ": " + name + " is not a non-empty list of token ids");
    out.push_back({path + ":" + name, v.get<std::vector<int32_t>>()});
  };
  if (j.is_array() && !j.empty() && j[0].is_array()) {
    for (size_t i = 0; i < j.size(); ++i) add(std::to_string(i), j[i]);
  } else if (j.is_array()) {
    add("ids", j);
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items())
      if (v.is_array()) add(k, v);
    if (out.empty()) throw BadInputError(path + ": no list of token ids in it");
  } else {
    throw BadInputError(path + ": expected a list of token ids, a list of lists, or an object of lists");
  }
  return out;
}

// model_dir: the resolved --model folder, whose tokenizer.json encodes text files.
std::vector<Sequence> load_calibration(const SensitivityArgs& a, const fs::path& model_dir) {
  std::vector<std::string> files;
  for (const auto& p : a.calib) {
    if (fs::is_directory(p)) {
      std::vector<std::string> in_dir;
      for (const auto& e : fs::directory_iterator(p)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".txt" || ext == ".json")) in_dir.push_back(e.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty()) throw BadInputError(p + ": no .txt or .json calibration files");
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(p)) {
      files.push_back(p);
    } else {
      throw BadInputError("--calib " + p + ": no such file or folder");
    }
  }
  std::unique_ptr<tokenizer::Tokenizer> tok;
  std::vector<Sequence> seqs;
  for (const auto& f : files) {
    if (fs::path(f).extension() == ".json") {
      for (auto& s : sequences_from_json(f)) seqs.push_back(std::move(s));
      continue;
    }
    if (!tok) {
      const fs::path tj = model_dir / "tokenizer.json";
      if (!fs::exists(tj))
        throw BadInputError(f + " is text but " + tj.string() +
                                 " does not exist; pass token ids as JSON instead ([1, 2, 3])");
      tok = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_file(tj));
    }
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<int32_t> ids;
    for (auto id : tok->encode(text.str())) ids.push_back(static_cast<int32_t>(id));
    if (ids.empty()) throw BadInputError(f + ": no tokens");
    seqs.push_back({f, std::move(ids)});
  }
  for (auto& s : seqs)
    if (static_cast<int64_t>(s.tokens.size()) > a.tokens) s.tokens.resize(a.tokens);
  return seqs;
}

void run_sensitivity(const SensitivityArgs& a) {
  if (a.model.empty()) throw UsageError("--model DIR is required");
  if (a.calib.empty()) throw UsageError("--calib FILE is required (text, token-id JSON, or a folder of them)");
  if (!is_valid_affine_bits(a.bits)) throw UsageError("--bits must be 2, 3, 4, 5, 6 or 8");
  if (!is_valid_group_size(a.group_size)) throw UsageError("--group-size must be 32, 64 or 128");
  if (a.tokens <= 0) throw UsageError("--tokens must be positive");
  if (!a.json_out.empty()) check_output_file(a.json_out, "--json");
  if (!a.csv_out.empty()) check_output_file(a.csv_out, "--csv");

  const ResolvedModel source = resolve_model_flag(a.model);
  const std::vector<Sequence> seqs = load_calibration(a, source.dir);
  tightfit::SensitivityOptions options;
  options.model = source.dir.string();
  options.bits = a.bits;
  options.group_size = a.group_size;
  options.edge_layers = a.edge_layers;
  options.threads = a.threads;
  options.on_warning = [&](const std::string& warning) {
    std::fprintf(stderr, "tightfit: warning: %s\n", warning.c_str());
  };
  options.on_sequence = [](const std::string& name, int64_t tokens) {
    std::fprintf(stderr, "sensitivity: %s (%lld tokens)\n", name.c_str(), static_cast<long long>(tokens));
  };
  tightfit::SensitivityResult r;
  try {
    r = tightfit::measure_sensitivity(options, seqs);
  } catch (const tightfit::ModelNotFound& e) {
    throw ModelNotFoundError("--model " + a.model + ": " + e.what());
  } catch (const tightfit::InvalidRequest& e) {
    throw BadInputError(e.param == "model" ? "--model " + a.model + ": " + e.what() : e.what());
  }
  std::printf("%s", r.table.c_str());
  if (!a.json_out.empty()) {
    std::ofstream out(a.json_out);
    out << r.json << "\n";
    if (!out) throw std::runtime_error(a.json_out + ": cannot write");
  }
  if (!a.csv_out.empty()) {
    std::ofstream out(a.csv_out);
    out << r.csv;
    if (!out) throw std::runtime_error(a.csv_out + ": cannot write");
  }
}

}  // namespace

void add_sensitivity_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("sensitivity", "Measure per-module quantization error on calibration text");
  auto a = std::make_shared<SensitivityArgs>();
  cmd->add_option("--model,-m", a->model,
                  std::string(kModelFlagHelp) + " (bf16 Hugging Face or MLX layout)");
  cmd->add_option("--calib", a->calib,
                  "calibration text (.txt, tokenized with the model's tokenizer.json), token ids "
                  "(.json), or a folder of them; repeatable")
      ->take_all();
  cmd->add_option("--bits", a->bits, "bits of the quantization measured")->capture_default_str();
  cmd->add_option("--group-size", a->group_size, "group size of the quantization measured")->capture_default_str();
  cmd->add_option("--tokens", a->tokens, "at most this many tokens per calibration sequence")->capture_default_str();
  cmd->add_option("--edge-layers", a->edge_layers, "layers at each end counted as edge (default: an eighth, at least 1)");
  cmd->add_option("--json", a->json_out, "also write the report as JSON");
  cmd->add_option("--csv", a->csv_out, "also write one CSV line per module");
  add_threads_flag(cmd, a->threads);
  cmd->callback([a] { run_sensitivity(*a); });
}

}  // namespace tf::cli
