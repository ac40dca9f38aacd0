// `tightfit serve`: the OpenAI-compatible (and Anthropic messages) HTTP server.
//   tightfit serve --model M [--host 127.0.0.1] [--port 8080] [--api-key K] [--parallel N]
//                  [--temp T --top-p P --top-k K ...] [--chat-template-args JSON] [--system S]
// The flags of mlx_vlm.server and llama-server are accepted under their names, so the model
// card's `mlx_vlm.server --model M --port 8888 --chat-template-args '{"enable_thinking": false}'
// --temp 0.7 --top-p 0.8 --top-k 20` works with `tightfit serve` in place of `mlx_vlm.server`.
// The socket is bound before the model loads (/health says 503 until it is ready).
// SIGINT/SIGTERM: stop accepting, cancel the requests in flight, exit 0.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <thread>

#include "base/json_read.h"
#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/memory_limit_flag.h"
#include "cli/model_flag.h"
#include "cli/threads_flag.h"
#include "server/server.h"
#include "tightfit/plan.h"
#include "tightfit/tightfit.h"

namespace tf::cli {
namespace {

struct ServeFlags {
  tightfit::EngineOptions engine;
  server::ServerOptions server;
  std::string chat_template_args;
  std::optional<int> reasoning_budget;
  bool no_vision = false;
  // As llama-server's --cache-ram default: several conversations' states at 35B-A3B shapes
  // (each ~70 MB of DeltaNet state plus its KV rows, saved twice per turn). The cache is
  // elastic: it only uses what the memory budget leaves after the running sequences.
  uint64_t prompt_cache_mb = 8192;
  std::string memory_limit;  // --memory-limit: "" = this machine's memory − a reserve
  bool ignored = false;
};

template <typename T>
CLI::Option* optional_option(CLI::App* cmd, const std::string& name, std::optional<T>& target,
                             const std::string& description) {
  return cmd->add_option_function<T>(
      name, [&target](const T& value) { target = value; }, description);
}

void add_flags(CLI::App* cmd, ServeFlags& f) {
  cmd->add_option("--model,-m", f.engine.model, kModelFlagHelp)->required();
  cmd->add_option("--host", f.server.host, "Address to listen on (0.0.0.0: every interface)")
      ->capture_default_str();
  cmd->add_option("--port", f.server.port, "Port to listen on")->capture_default_str();
  cmd->add_option("--api-key", f.server.api_key,
                  "Require 'Authorization: Bearer KEY' (or 'x-api-key: KEY') on every route but /health");
  cmd->add_option("--served-model-name,--alias,-a", f.server.served_model_name,
                  "The model name /v1/models and answers report (default: the model's)");
  cmd->add_option("--parallel", f.engine.parallel, "Sequences decoded together")->capture_default_str();
  cmd->add_option("--max-queue", f.engine.max_queue,
                  "Requests waiting beyond --parallel; more are answered 503 with Retry-After")
      ->capture_default_str();
  cmd->add_option("--max-body", f.server.max_body_bytes, "Largest request body in bytes (413 beyond)")
      ->capture_default_str();
  cmd->add_option("--ctx-size,-c,--context", f.engine.context,
                  "Tokens a sequence may hold (0 = the model's context length, or what fits "
                  "--memory-limit when less)");
  cmd->add_option("--prompt-cache-mb", f.prompt_cache_mb,
                  "Most memory for saved conversation prefixes, used only while the memory limit leaves "
                  "room (0 = no prompt cache)")
      ->capture_default_str();
  cmd->add_option("--kv-bits", f.engine.kv_bits, "KV cache of the attention layers: 16, 32, 8, 4 or 2")
      ->check(CLI::IsMember({32, 16, 8, 4, 2}))
      ->capture_default_str();
  cmd->add_option("--kv-group-size", f.engine.kv_group_size,
                  "Elements per scale and bias of a quantized KV cache (32, 64 or 128)")
      ->check(CLI::IsMember({32, 64, 128}))
      ->capture_default_str();
  cmd->add_option("--memory-limit", f.memory_limit,
                  "Memory the server may take, e.g. 12GB (default: this machine's memory or cgroup "
                  "limit minus 3.5 GB, at most a quarter); requests that cannot fit are answered 400");
  add_mlock_flag(cmd, f.engine.mlock);
  cmd->add_option("--draft", f.engine.draft_tokens,
                  "Speculative decoding: tokens the model's MTP head drafts per step for requests "
                  "that do not set draft_tokens (0 = off, the default)");
  cmd->add_option("--draft-vocab", f.engine.draft_vocab,
                  "Draft over the N most frequent tokens of the model's draft_vocab.txt only "
                  "(made by `tightfit draft-vocab`)");
  cmd->add_flag("--no-vision", f.no_vision, "Skip the vision tower of a VL model (text only)");
  cmd->add_flag("--offline", f.engine.offline, "Never contact the Hugging Face Hub");
  add_threads_flag(cmd, f.engine.threads);
  cmd->add_flag("--allow-local-images", f.server.allow_local_images,
                "Accept image_url values naming files on this machine");
  cmd->add_flag("--allow-remote-images", f.server.allow_remote_images,
                "Download image_url values that are http(s) URLs");

  server::RequestDefaults& d = f.server.defaults;
  tightfit::SamplingParams& s = d.sampling;
  optional_option(cmd, "--temp,--temperature", s.temperature, "Default sampling temperature (0 = greedy)");
  optional_option(cmd, "--top-p", s.top_p, "Default nucleus sampling mass");
  optional_option(cmd, "--top-k", s.top_k, "Default top-k (0 = off)");
  optional_option(cmd, "--min-p", s.min_p, "Default min-p");
  optional_option(cmd, "--presence-penalty", s.presence_penalty, "Default presence penalty");
  optional_option(cmd, "--frequency-penalty", s.frequency_penalty, "Default frequency penalty");
  optional_option(cmd, "--repetition-penalty,--repeat-penalty", s.repetition_penalty,
                  "Default repetition penalty (1 = off)");
  optional_option(cmd, "--seed,-s", s.seed, "Default random seed");
  optional_option(cmd, "--max-tokens,-n,--n-predict", d.max_tokens, "Default most tokens per answer");
  cmd->add_option("--chat-template-args,--chat-template-kwargs", f.chat_template_args,
                  "Default chat template variables, a JSON object (e.g. '{\"enable_thinking\": false}')");
  cmd->add_option("--system,--system-prompt", d.system,
                  "System message for requests that bring none");
  optional_option(cmd, "--reasoning-budget", f.reasoning_budget,
                  "Close the thinking after this many tokens (-1 = unlimited); per request: thinking_budget");
  // llama-server flags that have no meaning here, accepted so its command lines work.
  cmd->add_flag("--jinja", f.ignored, "Accepted for llama-server compatibility (templates are always Jinja)");
}

void apply_flags(ServeFlags& f) {
  if (f.server.port < 0 || f.server.port > 65535) throw UsageError("--port must be 0..65535");
  if (f.engine.parallel < 1) throw UsageError("--parallel must be at least 1");
  if (f.engine.max_queue < 0) throw UsageError("--max-queue must be 0 or more");
  // Unset it stays -1 (the engine's default: off).
  if (f.engine.draft_tokens < -1) throw UsageError("--draft must be 0 or more");
  if (f.engine.draft_vocab < 0) throw UsageError("--draft-vocab must be 0 or more");
  if (!f.chat_template_args.empty()) {
    nlohmann::json args;
    try {
      args = tf::parse_json(f.chat_template_args, "--chat-template-args");
    } catch (const std::exception& e) {
      throw UsageError(e.what());
    }
    if (!args.is_object()) throw UsageError("--chat-template-args must be a JSON object");
    f.server.defaults.template_kwargs = args;
  }
  if (f.reasoning_budget && *f.reasoning_budget >= 0) f.server.defaults.thinking_budget = *f.reasoning_budget;
  f.engine.vision = !f.no_vision;
  f.engine.prompt_cache_bytes = f.prompt_cache_mb << 20;
  if (!f.memory_limit.empty()) {
    try {
      f.engine.memory_limit = tightfit::parse_byte_size(f.memory_limit, "--memory-limit");
    } catch (const tightfit::InvalidRequest& e) {
      throw UsageError(e.what());
    }
  }
  f.server.parallel = f.engine.parallel;
  f.server.max_queue = f.engine.max_queue;
}

// SIGINT and SIGTERM are blocked in every thread (set before any is started) and taken by one
// watcher with sigtimedwait, which asks the server to stop; a library thread never sees them.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void()> on_signal) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
    thread_ = std::thread([this, on_signal = std::move(on_signal)] {
      const timespec tick{0, 200 * 1000 * 1000};
      while (!finished_) {
        const int signal = sigtimedwait(&set_, nullptr, &tick);
        if (signal == SIGINT || signal == SIGTERM) {
          std::fprintf(stderr, "tightfit serve: %s, stopping\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
          on_signal();
          return;
        }
      }
    });
  }
  ~SignalWatcher() {
    finished_ = true;
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

 private:
  sigset_t set_, previous_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

void run_serve(ServeFlags& f) {
  apply_flags(f);
  signal(SIGPIPE, SIG_IGN);  // a client that left is a failed write, not a dead server
  server::Server http(f.server, [options = f.engine]() -> std::shared_ptr<tightfit::Engine> {
    std::fprintf(stderr, "tightfit serve: loading %s\n", options.model.c_str());
    std::shared_ptr<tightfit::Engine> engine = tightfit::Engine::load(options);
    const tightfit::ModelInfo& info = engine->info();
    std::fprintf(stderr, "tightfit serve: ready: %s (%lld layers, context %lld, %s)\n",
                 info.name.c_str(), static_cast<long long>(info.layers),
                 static_cast<long long>(info.context_length), info.activations.c_str());
    std::fprintf(stderr, "tightfit serve: %s\n", memory_line(info).c_str());
    return engine;
  });
  SignalWatcher signals([&http] { http.stop(); });
  const int port = http.bind();
  std::fprintf(stderr, "tightfit serve: listening on http://%s:%d\n", f.server.host.c_str(), port);
  try {
    http.serve();
  } catch (const tightfit::ModelNotFound& e) {
    throw BadInputError(e.what());
  } catch (const tightfit::InvalidRequest& e) {
    if (e.param == "model") throw std::runtime_error(e.what());  // unreadable model: exit 1
    throw BadInputError(e.what());
  } catch (const tightfit::OutOfMemory& e) {  // the model alone exceeds --memory-limit
    throw BadInputError(e.what());
  }
  std::fprintf(stderr, "tightfit serve: stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "OpenAI-compatible (and Anthropic messages) HTTP server: /v1/chat/completions, "
               "/v1/completions, /v1/messages, /v1/models, /health, /metrics");
  add_flags(cmd, *flags);
  cmd->callback([flags] { run_serve(*flags); });
}

}  // namespace tf::cli
