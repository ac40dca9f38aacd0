// Model: a loaded Engine for Python — load, submit (a RequestStream), the text tools and
// scoring into numpy arrays.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "interruptible.h"
#include "request_from_python.h"
#include "request_stream.h"

namespace tightfit::python {

namespace {

class Model {
 public:
  explicit Model(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}

  const Engine& engine() const { return *engine_; }

  RequestStream submit(Request request) {
    RequestHandle handle;
    {
      py::gil_scoped_release release;  // templating and image decoding happen here
      handle = engine_->submit(std::move(request));
    }
    return RequestStream(engine_, std::move(handle));
  }

  // Rows first_row.. of the logits (or the final hidden states) of `tokens` as a float32 array
  // [rows, width]. The score runs on a worker thread so that Ctrl-C can stop it.
  py::array_t<float> score(const std::vector<int32_t>& tokens, int64_t first_row, bool hidden) {
    const auto count = static_cast<int64_t>(tokens.size());
    if (tokens.empty()) throw InvalidRequest("token_ids is empty", "token_ids");
    if (first_row < 0 || first_row >= count)
      throw InvalidRequest("first_row " + std::to_string(first_row) + " is outside 0.." +
                               std::to_string(count - 1),
                           "first_row");
    const ModelInfo& info = engine_->info();
    const int64_t width = hidden ? info.hidden_size : info.vocab_size;
    py::array_t<float> out({count - first_row, width});
    float* data = out.mutable_data();
    // Runs on the engine's worker thread (no GIL needed: it only writes the array's buffer).
    auto copy_row = [&](int64_t row, std::span<const float> values) {
      const size_t n = std::min(values.size(), static_cast<size_t>(width));
      std::memcpy(data + (row - first_row) * width, values.data(), n * sizeof(float));
    };
    auto ignore = [](int64_t, std::span<const float>) {};
    const bool done = run_interruptible([&](const std::atomic<bool>& cancel) {
      if (hidden) return engine_->score(tokens, first_row, ignore, copy_row, &cancel);
      return engine_->score(tokens, first_row, copy_row, {}, &cancel);
    });
    if (!done) throw Error("scoring was cancelled");
    return out;
  }

 private:
  std::shared_ptr<Engine> engine_;
};

Request request_with_messages(py::handle messages, const RequestOptions& options) {
  Request request;
  request.messages = messages_from_python(messages);
  apply_options(options, request);
  return request;
}

// Model.submit's keywords (listed in its docstring); an unknown one is a TypeError, as for a
// Python function.
RequestOptions options_from_kwargs(const py::kwargs& kwargs) {
  RequestOptions o;
  for (auto [key, value] : kwargs) {
    const std::string name = py::str(key);
    if (value.is_none() && name != "tools") continue;  // None: unset
    try {
    if (name == "max_tokens") o.max_tokens = value.cast<int>();
    else if (name == "temperature") o.temperature = value.cast<float>();
    else if (name == "top_p") o.top_p = value.cast<float>();
    else if (name == "top_k") o.top_k = value.cast<int>();
    else if (name == "min_p") o.min_p = value.cast<float>();
    else if (name == "presence_penalty") o.presence_penalty = value.cast<float>();
    else if (name == "frequency_penalty") o.frequency_penalty = value.cast<float>();
    else if (name == "repetition_penalty") o.repetition_penalty = value.cast<float>();
    else if (name == "repetition_context_size") o.repetition_context_size = value.cast<int>();
    else if (name == "seed") o.seed = value.cast<uint64_t>();
    else if (name == "stop") o.stop = value.cast<std::vector<std::string>>();
    else if (name == "enable_thinking") o.enable_thinking = value.cast<bool>();
    else if (name == "tools") o.tools = py::reinterpret_borrow<py::object>(value);
    else if (name == "thinking_budget") o.thinking_budget = value.cast<int>();
    else if (name == "draft_tokens") o.draft_tokens = value.cast<int>();
    else if (name == "logprobs") o.logprobs = value.cast<int>();
    else if (name == "ignore_eos") o.ignore_eos = value.cast<bool>();
    else if (name == "use_prompt_cache") o.use_prompt_cache = value.cast<bool>();
    else if (name == "loop_guard") o.loop_guard = value.cast<bool>();
    else throw py::type_error("submit() got an unexpected keyword argument '" + name + "'");
    } catch (const py::cast_error&) {
      throw py::type_error(name + "=" + py::repr(value).cast<std::string>() + " has the wrong type");
    }
  }
  return o;
}

std::unique_ptr<Model> load(const std::string& model, std::optional<int> threads,
                            std::optional<int> kv_bits, std::optional<int> kv_group_size,
                            py::object memory_limit, bool vision, std::optional<int64_t> context,
                            std::optional<int> parallel, std::optional<int> max_queue,
                            py::object prompt_cache, std::optional<int> prefill_chunk,
                            std::optional<int> draft_tokens, std::optional<int64_t> draft_vocab,
                            bool offline, bool mlock) {
  EngineOptions options;
  options.model = model;
  if (threads) options.threads = *threads;
  if (kv_bits) options.kv_bits = *kv_bits;
  if (kv_group_size) options.kv_group_size = *kv_group_size;
  if (!memory_limit.is_none()) options.memory_limit = byte_size(memory_limit, "memory_limit");
  if (!prompt_cache.is_none()) options.prompt_cache_bytes = byte_size(prompt_cache, "prompt_cache");
  if (prefill_chunk) options.prefill_chunk = *prefill_chunk;
  options.vision = vision;
  if (context) options.context = *context;
  if (parallel) options.parallel = *parallel;
  if (max_queue) options.max_queue = *max_queue;
  if (draft_tokens) options.draft_tokens = *draft_tokens;
  if (draft_vocab) options.draft_vocab = *draft_vocab;
  options.offline = offline;
  options.mlock = mlock;
  py::gil_scoped_release release;  // reading (or downloading) the weights takes a while
  return std::make_unique<Model>(Engine::load(std::move(options)));
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<Model>(m, "Model",
                    "A loaded model (tightfit::Engine). Every method may be called from any "
                    "thread; requests submitted together are decoded together.")
      .def_static("load", &load, py::arg("model"), py::kw_only(), py::arg("threads") = py::none(),
                  py::arg("kv_bits") = py::none(), py::arg("kv_group_size") = py::none(),
                  py::arg("memory_limit") = py::none(), py::arg("vision") = true,
                  py::arg("context") = py::none(), py::arg("parallel") = py::none(),
                  py::arg("max_queue") = py::none(), py::arg("prompt_cache") = py::none(),
                  py::arg("prefill_chunk") = py::none(), py::arg("draft_tokens") = py::none(),
                  py::arg("draft_vocab") = py::none(), py::arg("offline") = false,
                  py::arg("mlock") = false,
                  "Load a model folder or Hugging Face repo id. threads: worker threads (None: "
                  "every core); kv_bits: KV cache precision 16, 32, 8, 4 or 2; kv_group_size: "
                  "elements per scale of a quantized (8/4/2-bit) KV cache, 32, 64 (default) or "
                  "128; memory_limit: bytes or a size such as \"16GB\" (None: physical memory "
                  "less a reserve); vision=False skips the vision tower; context: tokens per "
                  "sequence (None: the model's); parallel: sequences decoded together (default "
                  "4); max_queue: requests waiting beyond those (more raise BusyError); "
                  "prompt_cache: bytes (or \"512MiB\") of saved prompt prefixes (default 512 "
                  "MiB, 0: none); prefill_chunk: prompt tokens per forward batch (default 256); "
                  "draft_tokens: speculative decoding with the model's MTP head, tokens drafted "
                  "per step for requests that do not say (None or 0: off; a model without a "
                  "head raises InvalidRequestError); draft_vocab: draft over the N most "
                  "frequent tokens of the model's draft_vocab.txt only; "
                  "offline: never contact the Hub; mlock: lock the weights in memory (mlock(2)) "
                  "so the OS never drops their pages (info.weights_locked says whether it "
                  "took effect).")
      .def("__repr__",
           [](const Model& m) {
             const ModelInfo& info = m.engine().info();
             return "<tightfit.Model " + info.name + " (" + info.path + ")>";
           })
      .def_property_readonly("info", [](const Model& m) { return m.engine().info(); },
                             "What the model is (ModelInfo).")
      .def("stats", [](const Model& m) { return m.engine().stats(); }, "The engine's counters.")
      .def(
          "submit",
          [](Model& m, py::object messages, std::optional<std::string> prompt,
             std::optional<std::vector<int32_t>> prompt_tokens, py::object images,
             py::kwargs kwargs) {
            const int given = !messages.is_none() + prompt.has_value() + prompt_tokens.has_value();
            if (given != 1)
              throw py::value_error("give exactly one of messages, prompt= and prompt_tokens=");
            Request request;
            if (!messages.is_none()) request.messages = messages_from_python(messages);
            if (prompt) request.prompt = *prompt;
            if (prompt_tokens) request.prompt_tokens = *prompt_tokens;
            if (!images.is_none())
              for (py::handle image : images) request.images.push_back(image_from_python(image));
            apply_options(options_from_kwargs(kwargs), request);
            return m.submit(std::move(request));
          },
          py::arg("messages") = py::none(), py::kw_only(), py::arg("prompt") = py::none(),
          py::arg("prompt_tokens") = py::none(), py::arg("images") = py::none(),
          "submit(messages=None, *, prompt=None, prompt_tokens=None, images=None, max_tokens=None, "
          "temperature=None, top_p=None, top_k=None, min_p=None, presence_penalty=None, "
          "frequency_penalty=None, repetition_penalty=None, repetition_context_size=None, "
          "seed=None, stop=[], enable_thinking=None, tools=None, thinking_budget=None, "
          "logprobs=-1, ignore_eos=False, use_prompt_cache=True, loop_guard=True, "
          "draft_tokens=None)\n\n"
          "Queue a request and return its RequestStream. The prompt is chat `messages` (a list "
          "of {'role', 'content'} dicts; content may hold {'type': 'image', 'image': ...} "
          "parts), a raw `prompt` string (no template) or `prompt_tokens`; `images` go with a "
          "raw prompt, one <|image_pad|> placeholder each. Unset sampling parameters take the "
          "model's generation_config.json defaults. loop_guard=False lets an output that "
          "repeats itself run on. draft_tokens: speculative decoding with the model's MTP "
          "head, tokens drafted per step (None: the model's load setting; 0: off); the output "
          "is the same, usage.speculative counts the drafts.")
      .def(
          "apply_chat_template",
          [](const Model& m, py::object messages, bool add_generation_prompt,
             std::optional<bool> enable_thinking, py::object tools) {
            RequestOptions options;
            options.enable_thinking = enable_thinking;
            options.tools = std::move(tools);
            Request request = request_with_messages(messages, options);
            return m.engine().apply_chat_template(request, add_generation_prompt);
          },
          py::arg("messages"), py::arg("add_generation_prompt") = true, py::kw_only(),
          py::arg("enable_thinking") = py::none(), py::arg("tools") = py::none(),
          "The prompt text the model's chat template makes of `messages`.")
      .def(
          "encode", [](const Model& m, const std::string& text) { return m.engine().encode(text); },
          py::arg("text"), "Token ids of `text` (no special tokens added).")
      .def(
          "decode",
          [](const Model& m, const std::vector<int32_t>& tokens, bool skip_special_tokens) {
            return m.engine().decode(tokens, skip_special_tokens);
          },
          py::arg("token_ids"), py::arg("skip_special_tokens") = true, "Text of token ids.")
      .def(
          "token_text", [](const Model& m, int32_t token) { return m.engine().token_text(token); },
          py::arg("token_id"), "One token as text.")
      .def(
          "logits",
          [](Model& m, const std::vector<int32_t>& tokens, int64_t first_row) {
            return m.score(tokens, first_row, /*hidden=*/false);
          },
          py::arg("token_ids"), py::arg("first_row") = 0,
          "Logits of every position of `token_ids` from `first_row` on, as a float32 array "
          "[rows, vocab_size]: row i predicts the token after token_ids[first_row + i].")
      .def(
          "hidden_states",
          [](Model& m, const std::vector<int32_t>& tokens, int64_t first_row) {
            return m.score(tokens, first_row, /*hidden=*/true);
          },
          py::arg("token_ids"), py::arg("first_row") = 0,
          "The final hidden state (after the final norm) of every position from `first_row` on, "
          "as a float32 array [rows, hidden_size].");
}

}  // namespace tightfit::python
