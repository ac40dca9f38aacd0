// `tightfit plan`: what a model takes in memory at a context, per KV cache width, against a
// memory limit (include/tightfit/plan.h) — before downloading or converting it, from a
// config.json and a recipe, or from a model folder's headers.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "tightfit/plan.h"

namespace tf::cli {
namespace {

struct PlanArgs {
  std::string model, recipe = "dynamic", memory, reserve;
  int kv_bits = 16, kv_group_size = 64, parallel = 1, prefill_chunk = 256, draft = 0;
  int64_t context = 0;
  std::string prompt_cache = "0";
  bool no_vision = false, json = false;
};

void run_plan_command(const PlanArgs& a) {
  if (a.model.empty()) throw UsageError("--model DIR|config.json is required");
  tightfit::PlanOptions o;
  o.model = a.model;
  o.recipe = a.recipe;
  o.kv_bits = a.kv_bits;
  o.kv_group_size = a.kv_group_size;
  o.context = a.context;
  o.parallel = a.parallel;
  o.prefill_chunk = a.prefill_chunk;
  o.vision = !a.no_vision;
  o.draft_tokens = a.draft;
  try {
    if (!a.memory.empty()) o.memory = tightfit::parse_byte_size(a.memory, "--memory");
    if (!a.reserve.empty())
      o.reserve = static_cast<int64_t>(tightfit::parse_byte_size(a.reserve, "--reserve"));
    o.prompt_cache_bytes = tightfit::parse_byte_size(a.prompt_cache, "--prompt-cache");
    const tightfit::MemoryPlan plan = tightfit::plan_memory(o);
    std::printf("%s\n", a.json ? plan.to_json().c_str() : plan.to_text().c_str());
  } catch (const tightfit::InvalidRequest& e) {
    throw_load_refusal(e);  // unreadable model files: exit 1; a flag's value: usage error
  } catch (const tightfit::Error& e) {  // no such model: bad input
    throw BadInputError(e.what());
  }
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "plan", "Memory budget of a model: weights, buffers, KV cache per width, largest context "
              "that fits");
  auto a = std::make_shared<PlanArgs>();
  cmd->add_option("--model,-m", a->model,
                  "model folder (sizes from its headers) or config.json (sizes from --recipe)");
  cmd->add_option("--recipe", a->recipe,
                  "quantization recipe when planning from a config (see convert --list-recipes)")
      ->capture_default_str();
  cmd->add_option("--memory", a->memory, "memory to plan for, e.g. 16GB (default: this machine)");
  cmd->add_option("--reserve", a->reserve,
                  "memory left to the OS and other programs (default 3.5GB, at most a quarter)");
  cmd->add_option("--kv-bits", a->kv_bits, "KV cache width: 16, 8, 4, 2 (or 32)")
      ->check(CLI::IsMember({32, 16, 8, 4, 2}))
      ->capture_default_str();
  cmd->add_option("--kv-group-size", a->kv_group_size, "quantized KV group size (32, 64, 128)")
      ->check(CLI::IsMember({32, 64, 128}))
      ->capture_default_str();
  cmd->add_option("--context,-c", a->context,
                  "tokens per sequence (default: the model's context length)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--parallel", a->parallel, "sequences held at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--prefill-chunk", a->prefill_chunk, "prompt tokens per forward batch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--prompt-cache", a->prompt_cache, "prompt-cache budget, e.g. 512MiB")
      ->capture_default_str();
  cmd->add_option("--draft", a->draft,
                  "speculative decoding's drafts per step: counts the MTP head's KV cache and "
                  "buffers (model folders with an MTP head)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--no-vision", a->no_vision, "text only: do not count the vision tower");
  cmd->add_flag("--json", a->json, "print the plan as JSON");
  cmd->callback([a] { run_plan_command(*a); });
}

}  // namespace tf::cli
