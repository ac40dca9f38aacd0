// tightfit's public C++ API: load a Qwen3.5 model once, submit generation requests from any
// thread, read their output as a stream of events. The CLI (`generate`, `chat`, `eval`), the
// OpenAI-compatible server and the Python module are built on this header alone.
//
//   #include <tightfit/tightfit.h>
//
//   auto engine = tightfit::Engine::load({.model = "models/tiny-qwen35"});
//   tightfit::Request request;
//   request.messages = {tightfit::Message::text("user", "Name three colours.")};
//   request.max_tokens = 64;
//   tightfit::RequestHandle handle = engine->submit(std::move(request));
//   while (std::optional<tightfit::Event> event = handle.next()) {
//     if (event->kind == tightfit::EventKind::answer) std::cout << event->text << std::flush;
//   }
//
// Requests submitted at the same time are decoded together (continuous batching): one forward
// pass reads each weight once for every active sequence. A request whose prompt extends an
// earlier one (the next turn of a conversation) starts from the saved state of the longest shared
// prefix (the prompt cache), so it only processes its new tokens.
//
// Thread safety: every Engine method may be called from any thread. A RequestHandle is used by
// one consumer thread, except cancel(), which any thread may call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tightfit {

// ---------------------------------------------------------------------------------------------
// Errors. Everything the API throws derives from tightfit::Error; the message tells the user
// what to do. Front ends map the kinds: InvalidRequest → HTTP 400 / ValueError / exit code 2,
// ModelNotFound → 404 / FileNotFoundError, OutOfMemory → 400 / MemoryError, Busy → 503.

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The request or an input it names is unusable (bad parameter, unreadable image, prompt longer
// than the context, unknown role, ...). `param` names the offending field when known.
struct InvalidRequest : Error {
  InvalidRequest(const std::string& message, std::string param_name = {})
      : Error(message), param(std::move(param_name)) {}
  std::string param;
};
// The model folder or Hugging Face repo does not exist or lacks a required file.
struct ModelNotFound : Error {
  using Error::Error;
};
// The memory plan says the request (or the model) does not fit the memory limit; the message
// carries the plan's numbers.
struct OutOfMemory : Error {
  using Error::Error;
};
// The queue is full (EngineOptions::max_queue): try again later.
struct Busy : Error {
  using Error::Error;
};

// ---------------------------------------------------------------------------------------------
// Loading.

struct EngineOptions {
  // A model folder (config.json, *.safetensors, tokenizer.json) or a Hugging Face repo id
  // ("owner/name", downloaded to the Hub cache unless `offline`).
  std::string model;
  int threads = 0;              // worker threads; 0 = every core
  bool vision = true;           // false: skip the vision tower of a VL model (text only)
  int parallel = 4;             // sequences decoded together at most; more requests queue
  int max_queue = 64;           // requests waiting beyond `parallel`; more → Busy
  // Tokens a sequence may hold; 0 = the model's context length, or fewer when the memory limit
  // holds fewer (ModelInfo::memory_tokens).
  int64_t context = 0;
  int kv_bits = 16;             // KV cache of the attention layers: 16 (f16), 32 (f32), 8, 4, 2
  int kv_group_size = 64;       // group size of the quantized KV cache
  // The KV element type by name ("f16", "bf16", "f32", "q8", "q4", "q2"); overrides kv_bits
  // when not empty.
  std::string kv_type;
  uint64_t memory_limit = 0;    // bytes; 0 = physical memory (or the cgroup limit) − a reserve
  // Lock the mmapped weights in memory (mlock(2)) so the OS never drops their pages; load
  // throws OutOfMemory naming RLIMIT_MEMLOCK (`ulimit -l`) when the system refuses.
  bool mlock = false;
  uint64_t prompt_cache_bytes = 512ull << 20;  // saved prefix states kept (LRU); 0 = no cache
  int prefill_chunk = 256;      // prompt tokens per forward batch (bounds activation memory)
  // Speculative decoding with the model's MTP head (docs/engine.md "Speculative decoding"):
  // tokens drafted per step for requests that leave Request::draft_tokens unset; -1 = the
  // default (off: on a 2-core CPU it does not pay yet, bench/RESULTS.md), 0 = off. > 0 needs a
  // model with an MTP head (ModelInfo::has_mtp; load throws InvalidRequest otherwise); the
  // memory plan then counts the head's KV cache and each sequence's verify buffers.
  int draft_tokens = -1;
  // > 0: draft over the N most frequent tokens of the model folder's draft_vocab.txt (made by
  // `tightfit draft-vocab`) instead of the whole vocabulary; verification is unchanged, so the
  // output is too. 0 = the whole vocabulary.
  int64_t draft_vocab = 0;
  bool offline = false;         // never contact the Hugging Face Hub
  // "f32" forces float activations (the reference path); empty = fastest for this CPU.
  std::string activations;
};

// The KV element type (EngineOptions::kv_type) a width in bits stands for: 32 "f32", 16 "f16",
// 8 "q8", 4 "q4", 2 "q2"; throws InvalidRequest for any other width.
std::string kv_type_for_bits(int bits);

struct ModelInfo {
  std::string name;             // the folder name or repo id
  std::string path;             // the resolved local folder
  std::string model_type;       // config.json's model_type
  std::string layout;           // tensor names of the files: "Hugging Face", "mlx-vlm" or "mlx-lm"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t layers = 0;
  int64_t context_length = 0;   // tokens a sequence may hold (EngineOptions::context or model's)
  bool has_vision = false;      // a vision tower is loaded: images can be given
  bool has_mtp = false;         // an MTP head is loaded (see Request::draft_tokens)
  double bits_per_weight = 0;   // of the text weights as stored
  uint64_t weight_bytes = 0;
  std::vector<int32_t> eos_token_ids;
  std::string activations;      // "int8 (avx512-vnni)", "f32", ...
  int threads = 0;              // worker threads of the thread pool
  std::string kv_type;          // "f16", "bf16", "f32", ...
  // The memory plan requests are checked against (include/tightfit/plan.h, docs/engine.md).
  uint64_t memory_limit = 0;        // bytes the engine may take
  uint64_t memory_fixed = 0;        // of which weights, buffers, sequence state, process
  uint64_t kv_bytes_per_token = 0;  // KV cache one held token takes
  int64_t memory_tokens = 0;        // KV tokens the rest holds, over all sequences
  bool weights_locked = false;      // EngineOptions::mlock took effect
};

// ---------------------------------------------------------------------------------------------
// Requests.

// An image: a file, encoded bytes (PNG or JPEG), or 8-bit RGB pixels (height × width × 3).
struct Image {
  std::string path;
  std::vector<uint8_t> encoded;
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;

  static Image from_file(std::string path);
  static Image from_encoded(std::vector<uint8_t> bytes);
  static Image from_rgb(int width, int height, std::vector<uint8_t> rgb);
};

struct ContentPart {
  enum class Kind { text, image } kind = Kind::text;
  std::string text;
  Image image;
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, as text (OpenAI's shape)
};

struct Message {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::vector<ContentPart> content;
  std::string reasoning;              // assistant: its thinking (templates may drop it)
  std::vector<ToolCall> tool_calls;   // assistant
  std::string tool_call_id;           // tool: the call this answers
  std::string name;                   // tool: the function's name

  static Message text(std::string role, std::string content);
  // The concatenated text parts.
  std::string text_content() const;
};

// Unset fields take the model's generation_config.json defaults (then the engine's defaults).
struct SamplingParams {
  std::optional<float> temperature;         // 0 = greedy
  std::optional<float> top_p;
  std::optional<int> top_k;                 // 0 = off
  std::optional<float> min_p;
  std::optional<float> presence_penalty;
  std::optional<float> frequency_penalty;
  std::optional<float> repetition_penalty;  // 1 = off
  std::optional<int> repetition_context_size;  // last tokens it looks at (default 20; 0 = all)
  std::optional<uint64_t> seed;             // unset: random
  std::vector<std::pair<int32_t, float>> logit_bias;
};

// Structured output (OpenAI's response_format): the answer (after any <think> block) is
// sampled so that it is JSON of the given shape, token by token, and ends when the value is
// complete. json_schema enforces the subset of JSON Schema in README.md ("Structured output");
// a schema using another keyword is refused (InvalidRequest naming the keyword).
struct ResponseFormat {
  enum class Type { text, json_object, json_schema } type = Type::text;
  std::string schema;  // json_schema: the schema, as JSON text
};

// Whether the answer calls a tool (OpenAI's and Anthropic's tool_choice). required / function
// make the answer start with the Qwen3.5 tool-call block `<tool_call>\n<function=NAME>` (any
// of Request::tools' names / this one), then generation is free; none bans <tool_call>.
struct ToolChoice {
  enum class Mode { automatic, none, required, function } mode = Mode::automatic;
  std::string function;  // Mode::function: one of Request::tools' function names
};

struct Request {
  // The prompt: exactly one of these three.
  std::vector<Message> messages;         // rendered with the model's chat template
  std::string prompt;                    // raw text, tokenized as is (no template)
  std::vector<int32_t> prompt_tokens;    // token ids
  // Images of a `prompt` or `prompt_tokens` request, in order: the prompt holds one image
  // placeholder (<|image_pad|>) per image. (With messages, images are content parts.)
  std::vector<Image> images;

  // Chat-template inputs (messages only).
  std::string tools;                     // JSON array of OpenAI tool definitions; empty = none
  std::optional<bool> enable_thinking;   // unset: the template's default
  std::string template_kwargs;           // JSON object of more template variables; empty = none
  ToolChoice tool_choice;                // enforced by constrained sampling (see ToolChoice)

  ResponseFormat response_format;        // constrained sampling (see ResponseFormat)

  SamplingParams sampling;
  std::optional<int> max_tokens;         // unset: what fits (model default, capped)
  std::vector<std::string> stop;         // stop strings (never part of the output)
  bool ignore_eos = false;
  std::optional<int> thinking_budget;    // close the thought after this many tokens
  int logprobs = -1;                     // -1: none; 0: the chosen token's; n: also the top n
  // Speculative decoding: tokens the MTP head drafts per step (unset = EngineOptions::
  // draft_tokens, 0 = off; > 0 needs ModelInfo::has_mtp). The output is the same either way
  // (greedy token for token, sampling in distribution), also with images, response_format, a
  // tool_choice that constrains, or a thinking_budget (docs/engine.md "Speculative decoding").
  std::optional<int> draft_tokens;
  bool use_prompt_cache = true;
  // Stop when the output becomes one n-gram repeated over and over (low-bit models can loop).
  bool loop_guard = true;
  // Images are resized to at most this many pixels (0 = the model's preprocessor limit).
  int64_t max_image_pixels = 0;
};

// ---------------------------------------------------------------------------------------------
// Output.

enum class EventKind {
  reasoning,  // text inside the model's <think> block
  answer,     // text of the answer
  done,       // the last event: stop reason, usage, timing
};

enum class StopReason {
  eos,             // the model ended its turn
  stop_string,     // a Request::stop string was produced
  max_tokens,      // the token budget ran out
  repetition_loop, // the loop guard stopped a repetition
  context_full,    // the sequence reached the context length
  cancelled,       // RequestHandle::cancel or engine shutdown
  error,           // see Event::error
};
const char* to_string(StopReason reason);  // "eos", "stop_string", ...

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;                              // log p under the model (before sampling)
  std::vector<std::pair<int32_t, float>> top;     // the most likely tokens, best first
};

// Speculative decoding's counters for one request (all 0 when it did not speculate).
struct SpeculativeUsage {
  int64_t steps = 0;              // draft + verify steps (each emits 1 + its accepted drafts)
  int64_t drafts_proposed = 0;
  int64_t drafts_accepted = 0;
  // Per draft position (index 0 = the first draft of a step): proposed and accepted.
  std::vector<int64_t> proposed_at, accepted_at;
};

struct Usage {
  int64_t prompt_tokens = 0;      // the whole prompt
  int64_t cached_tokens = 0;      // of which restored from the prompt cache
  int64_t completion_tokens = 0;  // generated tokens (an EOS included)
  int64_t reasoning_tokens = 0;   // of which inside the <think> block
  int64_t images = 0;
  SpeculativeUsage speculative;
};

struct Timing {
  double queued_seconds = 0;      // submitted → started
  double vision_seconds = 0;
  double prompt_seconds = 0;      // prefill of the uncached prompt tokens
  double generation_seconds = 0;  // first → last generated token
  double time_to_first_token = 0; // submitted → first generated token
  uint64_t peak_memory_bytes = 0; // the process's peak RSS so far
};

// Rates: uncached prompt tokens over prompt_seconds, generated tokens over generation_seconds
// (0 when nothing was timed).
double prompt_tokens_per_second(const Usage& usage, const Timing& timing);
double generation_tokens_per_second(const Usage& usage, const Timing& timing);

struct Event {
  EventKind kind = EventKind::answer;
  std::string text;                    // reasoning / answer: whole UTF-8 characters
  // The tokens this text came from (a token whose text is held back — an unfinished character,
  // a possible stop string — comes with a later event); done: the tokens not reported yet.
  std::vector<int32_t> tokens;
  std::vector<TokenLogprob> logprobs;  // one per token when Request::logprobs >= 0
  // done only:
  StopReason stop = StopReason::eos;
  std::string stop_string;             // which stop string, for StopReason::stop_string
  std::string error;                   // for StopReason::error
  std::string notice;                  // a line for the user about the stop (the loop guard's)
  int max_tokens = 0;                  // the token budget the request had
  Usage usage;
  Timing timing;
};

// Everything a request produced (RequestHandle::wait, Engine::generate).
struct Result {
  std::string text;       // the answer
  std::string reasoning;  // the thinking
  std::vector<int32_t> tokens;
  std::vector<TokenLogprob> logprobs;
  StopReason stop = StopReason::eos;
  std::string stop_string;
  std::string error;
  std::string notice;
  int max_tokens = 0;
  Usage usage;
  Timing timing;
};

class RequestState;  // the engine's side of a request

class RequestHandle {
 public:
  RequestHandle() = default;
  explicit RequestHandle(std::shared_ptr<RequestState> state);
  RequestHandle(RequestHandle&&) noexcept = default;
  RequestHandle& operator=(RequestHandle&&) noexcept = default;
  ~RequestHandle();  // cancels the request if it is still running

  // The next event, waiting for it; std::nullopt once the done event was returned.
  std::optional<Event> next();
  // The same, waiting at most `timeout`; std::nullopt also when nothing came in time (check
  // finished() to tell the two apart). Servers use it to notice a client that went away.
  std::optional<Event> next_for(std::chrono::milliseconds timeout);
  bool finished() const;  // the done event was returned by next()
  // Asks the engine to stop this request at its next token; safe from any thread and any
  // number of times. The stream then ends with a done event whose stop is `cancelled`.
  void cancel();
  // Reads every remaining event and returns them combined.
  Result wait();

 private:
  std::shared_ptr<RequestState> state_;
};

// Counters for monitoring (/metrics).
struct EngineStats {
  int64_t requests_total = 0;
  int64_t requests_active = 0;     // being decoded now
  int64_t requests_queued = 0;     // waiting for a free slot
  int64_t requests_refused = 0;    // Busy
  int64_t prompt_tokens_total = 0;
  int64_t cached_tokens_total = 0;
  int64_t generated_tokens_total = 0;
  int64_t prompt_cache_hits = 0;
  uint64_t prompt_cache_bytes = 0;
  int64_t kv_reserved_tokens = 0;  // KV tokens the running requests hold room for (memory plan)
  uint64_t resident_memory_bytes = 0;
  double busy_seconds = 0;         // time spent in forward passes
};

class Engine {
 public:
  // Resolves and loads the model. Throws ModelNotFound, OutOfMemory, Error.
  static std::unique_ptr<Engine> load(EngineOptions options);
  virtual ~Engine() = default;  // cancels running requests and waits for the worker

  // Queues a request; its events stream through the handle. Throws InvalidRequest for a
  // request that cannot run (checked before queueing: prompt, template, images, parameters,
  // context), Busy when the queue is full.
  virtual RequestHandle submit(Request request) = 0;
  // submit(request).wait()
  Result generate(Request request);

  virtual const ModelInfo& info() const = 0;
  virtual EngineStats stats() const = 0;

  // Text tools.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  virtual std::string decode(std::span<const int32_t> tokens,
                             bool skip_special_tokens = true) const = 0;
  virtual std::string token_text(int32_t token) const = 0;  // the token as text (byte-level BPE decoded)
  // The prompt the chat template makes of `messages` (Request's template fields apply; images
  // become the model's vision placeholders).
  virtual std::string apply_chat_template(const Request& request,
                                          bool add_generation_prompt = true) const = 0;
  // The tokens the request's prompt takes (each image expanded to its tokens), checked as
  // submit checks it (throws InvalidRequest) but not queued.
  virtual int64_t count_prompt_tokens(const Request& request) const = 0;

  // Scoring, for evaluation and the Python API: runs `tokens` through a fresh sequence (shared
  // with running requests' forward passes, never changing them) and calls on_row(i, logits of
  // row i) for each row i >= first_row, in order; `hidden` (optional) likewise receives the final
  // hidden state (after the final norm) of each such row. Returns false when cancelled. The
  // callbacks run on the engine's worker thread while score() waits (a Python binding releases
  // its lock around the call); an exception they throw ends the scoring and is rethrown here.
  virtual bool score(std::span<const int32_t> tokens, int64_t first_row,
                     const std::function<void(int64_t row, std::span<const float> logits)>& on_row,
                     const std::function<void(int64_t row, std::span<const float> hidden)>& hidden = {},
                     const std::atomic<bool>* cancel = nullptr) = 0;

  // Scoring several continuations of one shared prefix (multiple-choice evaluation): for each
  // c, the logits of every row of continuations[c] as score(prefix + continuations[c],
  // prefix.size(), ...) gives them, as on_row(c, row, logits) with row 0 the continuation's
  // first token (it predicts the continuation's second token). The prefix runs once; each
  // continuation starts from its state. Returns false when cancelled. This default runs one
  // score() per continuation (the prefix recomputed each time); the engine shares it.
  using ContinuationRow = std::function<void(size_t continuation, int64_t row, std::span<const float> logits)>;
  virtual bool score_continuations(std::span<const int32_t> prefix,
                                   std::span<const std::vector<int32_t>> continuations,
                                   const ContinuationRow& on_row,
                                   const std::atomic<bool>* cancel = nullptr);
};

}  // namespace tightfit
