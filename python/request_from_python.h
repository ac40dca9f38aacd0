// Python values → the API's request types: chat messages given as dicts in the OpenAI /
// Hugging Face shape, images given as paths, bytes, numpy arrays or PIL images, and the
// sampling keywords. Errors in what the caller passed are ValueError / TypeError naming it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>

#include "tightfit/tightfit.h"

namespace tightfit::python {

namespace py = pybind11;

// A path (str or os.PathLike), encoded bytes (PNG / JPEG), a numpy uint8 array [height, width,
// 3], or an object with PIL's Image interface (.convert("RGB"), .size, .tobytes()).
Image image_from_python(py::handle image);

// [{"role": "user", "content": "text" | [{"type": "text", "text": ...},
//                                        {"type": "image", "image": <image>}]}, ...]
// plus, for assistant turns, "reasoning_content" and "tool_calls", and for tool results
// "tool_call_id" and "name".
std::vector<Message> messages_from_python(py::handle messages);

// The keywords every request takes (Model.submit's and apply_chat_template's).
struct RequestOptions {
  std::optional<int> max_tokens;
  std::optional<float> temperature, top_p, min_p, presence_penalty, frequency_penalty,
      repetition_penalty;
  std::optional<int> top_k;
  std::optional<int> repetition_context_size;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  std::optional<bool> enable_thinking;
  py::object tools = py::none();  // a list of OpenAI tool definitions, or a JSON string
  std::optional<int> thinking_budget;
  std::optional<int> draft_tokens;
  int logprobs = -1;
  bool ignore_eos = false;
  bool use_prompt_cache = true;
  bool loop_guard = true;
};

// Fills everything but the prompt.
void apply_options(const RequestOptions& options, Request& request);

}  // namespace tightfit::python
