#include "cli/eval_common.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "quant/cancelled.h"

namespace tf::cli {

void add_eval_output_flags(CLI::App* cmd, EvalModelFlags& flags) {
  cmd->add_option("--threads,-t", flags.threads, "Worker threads (0 = every core)");
  cmd->add_option("--label", flags.label, "The result's name in `eval compare` (default: the model folder's name)");
  cmd->add_option("--json", flags.json, "Write the result as JSON to this file");
}

std::unique_ptr<tightfit::Engine> load_eval_engine(const std::string& model, int threads, int64_t context,
                                                   const KVCacheFlags& kv) {
  tightfit::EngineOptions o;
  set_kv_cache_options(kv, o);
  o.model = model;
  o.threads = threads;
  o.vision = false;
  o.parallel = 1;
  o.context = context;
  o.prompt_cache_bytes = 0;
  o.draft_tokens = 0;
  std::unique_ptr<tightfit::Engine> engine;
  try {
    engine = tightfit::Engine::load(std::move(o));
  } catch (const tightfit::InvalidRequest& e) {
    throw_load_refusal(e);  // a model that cannot be read is a runtime failure, as in generate
  } catch (const tightfit::ModelNotFound& e) {
    throw BadInputError(e.what());
  }
  return engine;
}

std::string read_data_file(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path))
    throw BadInputError(flag + ": cannot read " + path + (errno ? std::string(": ") + std::strerror(errno) : ""));
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void check_result_path(const std::string& path, const std::string& flag) {
  if (path.empty()) return;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent))
    throw BadInputError(flag + ": the folder " + parent.string() + " does not exist");
}

void write_result_file(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
}

tightfit::eval::RunInfo run_info(const std::string& eval, const tightfit::Engine& engine, const EvalModelFlags& flags,
                                 const std::string& data_file, const std::string& data_sha256) {
  tightfit::eval::RunInfo run;
  run.eval = eval;
  run.model = engine.info();
  run.label = flags.label;
  run.data_file = data_file;
  run.data_sha256 = data_sha256;
  return run;
}

void with_cli_errors(const std::function<void()>& body) {
  try {
    body();
  } catch (const tightfit::InvalidRequest& e) {
    throw BadInputError(e.what());
  } catch (const tightfit::ModelNotFound& e) {
    throw BadInputError(e.what());
  }
}

void stop_interrupted(const std::string& what_was_done) {
  throw tf::Cancelled("interrupted: " + what_was_done);
}

}  // namespace tf::cli
