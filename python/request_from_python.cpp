// Python values → Request (request_from_python.h).
#include "request_from_python.h"

#include <cstring>

#include <pybind11/numpy.h>
#include <nlohmann/json.hpp>

namespace tightfit::python {

namespace {

std::vector<uint8_t> bytes_of(py::handle object) {
  const std::string data = py::bytes(py::reinterpret_borrow<py::object>(object));
  return std::vector<uint8_t>(data.begin(), data.end());
}

Image image_from_array(py::handle object) {
  auto array = py::array::ensure(object);
  if (!array) throw py::type_error("image: not a numpy array");
  if (!array.dtype().is(py::dtype::of<uint8_t>()))
    throw py::value_error("image: a numpy array must have dtype uint8 (RGB pixels 0..255), not " +
                          py::str(array.dtype()).cast<std::string>());
  if (array.ndim() != 3 || array.shape(2) != 3)
    throw py::value_error("image: a numpy array must have shape (height, width, 3) (RGB), not " +
                          py::str(py::tuple(object.attr("shape"))).cast<std::string>());
  auto pixels = py::array_t<uint8_t, py::array::c_style>::ensure(array);
  const auto height = static_cast<int>(array.shape(0)), width = static_cast<int>(array.shape(1));
  std::vector<uint8_t> rgb(pixels.data(), pixels.data() + pixels.size());
  return Image::from_rgb(width, height, std::move(rgb));
}

Image image_from_pil(py::handle object) {
  py::object rgb = object.attr("convert")("RGB");
  py::tuple size = rgb.attr("size");
  const int width = size[0].cast<int>(), height = size[1].cast<int>();
  std::vector<uint8_t> pixels = bytes_of(rgb.attr("tobytes")());
  if (pixels.size() != static_cast<size_t>(width) * height * 3)
    throw py::value_error("image: .tobytes() of the RGB image is not width × height × 3 bytes");
  return Image::from_rgb(width, height, std::move(pixels));
}

std::string text_of(py::handle value, const char* what) {
  if (!py::isinstance<py::str>(value))
    throw py::type_error(std::string(what) + " must be a str, not " +
                         py::str(py::type::of(value).attr("__name__")).cast<std::string>());
  return value.cast<std::string>();
}

ContentPart part_from_python(py::handle part) {
  if (py::isinstance<py::str>(part)) return {ContentPart::Kind::text, part.cast<std::string>(), {}};
  if (!py::isinstance<py::dict>(part))
    throw py::type_error("a message's content parts must be dicts like {'type': 'text', 'text': ...}");
  py::dict d = py::reinterpret_borrow<py::dict>(part);
  const std::string type = d.contains("type") ? text_of(d["type"], "a content part's 'type'") : "";
  if (type == "text") return {ContentPart::Kind::text, text_of(d["text"], "'text'"), {}};
  if (type == "image" || type == "input_image") {
    for (const char* key : {"image", "path", "url"})
      if (d.contains(key)) return {ContentPart::Kind::image, {}, image_from_python(d[key])};
    // No pixels: a placeholder, as Hugging Face processors take it for templating (a request
    // needs the image itself; the engine says so).
    return {ContentPart::Kind::image, {}, {}};
  }
  throw py::value_error("unknown content part type '" + type + "' (expected 'text' or 'image')");
}

std::vector<ToolCall> tool_calls_from_python(py::handle calls) {
  py::object dumps = py::module_::import("json").attr("dumps");
  std::vector<ToolCall> out;
  for (py::handle call : calls) {
    py::dict d = py::reinterpret_borrow<py::dict>(call);
    py::dict function = d.contains("function") ? py::dict(d["function"]) : d;
    ToolCall tc;
    if (d.contains("id")) tc.id = py::str(d["id"]);
    tc.name = text_of(function["name"], "a tool call's name");
    py::object arguments = function.contains("arguments") ? py::object(function["arguments"])
                                                          : py::object(py::dict());
    tc.arguments = py::isinstance<py::str>(arguments) ? arguments.cast<std::string>()
                                                       : dumps(arguments).cast<std::string>();
    out.push_back(std::move(tc));
  }
  return out;
}

}  // namespace

Image image_from_python(py::handle image) {
  if (image.is_none()) throw py::value_error("image: None is not an image");
  if (py::isinstance<py::str>(image) || py::hasattr(image, "__fspath__"))
    return Image::from_file(py::str(py::module_::import("os").attr("fspath")(image)));
  if (py::isinstance<py::bytes>(image) || py::isinstance<py::bytearray>(image))
    return Image::from_encoded(bytes_of(py::bytes(py::reinterpret_borrow<py::object>(image))));
  if (py::hasattr(image, "__array_interface__") && !py::hasattr(image, "convert"))
    return image_from_array(image);
  if (py::hasattr(image, "convert") && py::hasattr(image, "tobytes") && py::hasattr(image, "size"))
    return image_from_pil(image);
  throw py::type_error("image: expected a path, encoded bytes, a numpy uint8 array (height, "
                       "width, 3) or a PIL image, not " +
                       py::str(py::type::of(image).attr("__name__")).cast<std::string>());
}

std::vector<Message> messages_from_python(py::handle messages) {
  if (py::isinstance<py::str>(messages) || !py::isinstance<py::sequence>(messages))
    throw py::type_error("messages must be a list of dicts like {'role': 'user', 'content': ...}");
  std::vector<Message> out;
  for (py::handle item : messages) {
    if (!py::isinstance<py::dict>(item))
      throw py::type_error("each message must be a dict like {'role': 'user', 'content': ...}");
    py::dict d = py::reinterpret_borrow<py::dict>(item);
    if (!d.contains("role")) throw py::value_error("a message has no 'role'");
    Message message;
    message.role = text_of(d["role"], "a message's 'role'");
    if (d.contains("content") && !d["content"].is_none()) {
      py::object content = d["content"];
      if (py::isinstance<py::str>(content)) {
        message.content.push_back({ContentPart::Kind::text, content.cast<std::string>(), {}});
      } else {
        for (py::handle part : content) message.content.push_back(part_from_python(part));
      }
    }
    for (const char* key : {"reasoning_content", "reasoning"})
      if (d.contains(key) && !d[key].is_none()) message.reasoning = text_of(d[key], key);
    if (d.contains("tool_calls") && !d["tool_calls"].is_none())
      message.tool_calls = tool_calls_from_python(d["tool_calls"]);
    if (d.contains("tool_call_id")) message.tool_call_id = text_of(d["tool_call_id"], "'tool_call_id'");
    if (d.contains("name")) message.name = text_of(d["name"], "'name'");
    out.push_back(std::move(message));
  }
  return out;
}

void apply_options(const RequestOptions& o, Request& request) {
  request.max_tokens = o.max_tokens;
  SamplingParams& s = request.sampling;
  s.temperature = o.temperature;
  s.top_p = o.top_p;
  s.top_k = o.top_k;
  s.min_p = o.min_p;
  s.presence_penalty = o.presence_penalty;
  s.frequency_penalty = o.frequency_penalty;
  s.repetition_penalty = o.repetition_penalty;
  s.repetition_context_size = o.repetition_context_size;
  s.seed = o.seed;
  request.stop = o.stop;
  request.enable_thinking = o.enable_thinking;
  if (!o.tools.is_none()) {
    request.tools = py::isinstance<py::str>(o.tools)
                        ? o.tools.cast<std::string>()
                        : py::module_::import("json").attr("dumps")(o.tools).cast<std::string>();
  }
  request.thinking_budget = o.thinking_budget;
  request.draft_tokens = o.draft_tokens;
  request.logprobs = o.logprobs;
  request.ignore_eos = o.ignore_eos;
  request.use_prompt_cache = o.use_prompt_cache;
  request.loop_guard = o.loop_guard;
}

}  // namespace tightfit::python
