// The generation flags (cli/generation_flags.h) on the public API (include/tightfit/tightfit.h):
// the Engine `--model` names, a Request from the sampling / stop / template flags, and the
// streamed answer printed as `generate` prints it (pieces, notices, the stats line).
#pragma once

#include <memory>
#include <string>

#include "cli/generation_flags.h"
#include "cli/text_output.h"
#include "tightfit/tightfit.h"

namespace tf::cli {

// Resolves --model (cli/model_flag.h: a Ctrl-C can stop a download) and loads it as an engine
// for one request at a time; the engine's threads start with SIGINT blocked (interrupt.h). A
// missing model or one without a tokenizer is a ModelNotFoundError (exit code 2).
// vision: bind the vision tower when the model has one (false for a text-only run);
// prompt_cache: keep prompt states for later requests (a chat's next turn).
std::unique_ptr<tightfit::Engine> load_engine(const GenerationFlags& flags, bool vision,
                                              bool prompt_cache);

// An engine's refusal to load (Engine::load, plan_memory) as the CLI reports it, the same in
// every subcommand: a model whose own files cannot be read (InvalidRequest::param "model":
// config.json, safetensors headers) is a runtime failure, exit code 1, as `inspect` and `logits`
// report it; any other field was set by a flag: a usage error ("(see --help)").
[[noreturn]] void throw_load_refusal(const tightfit::InvalidRequest& e);

// The request fields the flags set: sampling, max tokens, stops, loop guard, thinking and
// template arguments (the prompt is the caller's). Bad values are UsageErrors naming the flag,
// found before the model loads.
tightfit::Request request_from_flags(const GenerationFlags& flags);

// --verbose: the model (folder, layers, vocabulary, threads) and the sampling settings the
// request runs with (generation_config.json's, overridden by the flags), on stderr.
void print_engine_settings(const tightfit::Engine& engine, const GenerationFlags& flags);

// "memory: limit 12.5 GB, model and buffers 11.2 GB, KV 5.8 KB/token (q4): 225,694 tokens
// fit; context 225,694 tokens": the memory plan the engine checks requests against; the
// default context and --max-tokens are what fits (docs/engine.md "Memory").
std::string memory_line(const tightfit::ModelInfo& info);

// The message of a refused request with the request's field names replaced by the flags that
// set them (max_image_pixels → --max-pixels).
std::string flag_message(const tightfit::InvalidRequest& e);

// Submits `request` and prints its answer as it streams (reasoning only without
// --hide-thinking); Ctrl-C cancels it. A request the engine refuses is a BadInputError.
tightfit::Result stream_answer(tightfit::Engine& engine, tightfit::Request request,
                               PieceWriter& writer, const GenerationFlags& flags);

// After the answer, on stderr: the loop guard's notice, and with --hide-thinking an answer that
// ended inside the reasoning (nothing was printed: say why instead of leaving silence).
void print_answer_notices(const tightfit::Result& result, const GenerationFlags& flags);

// "prompt: N tokens, R tok/s | generation: ... | peak memory: ..." (runtime/generation_stats.h).
std::string stats_line(const tightfit::Result& result);

// "eos", "max tokens", "stop string", "repetition loop", "context full", "interrupted", "error".
std::string stop_name(tightfit::StopReason reason);

}  // namespace tf::cli
