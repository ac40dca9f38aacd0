#include "fuzz/fuzz_targets.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <string_view>

#include "base/json_read.h"
#include "quant/hf_shape_plan.h"
#include "quant/recipe.h"
#include "runtime/image_file.h"
#include "server/parsed_request.h"
#include "server/tool_call_parser.h"
#include "storage/model_config.h"
#include "storage/safetensors.h"
#include "tokenizer/jinja_template.h"
#include "tokenizer/tokenizer.h"

namespace tf::fuzz {
namespace {

std::string_view text_of(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// Runs `body`; a std::exception is the expected outcome for bad input.
template <class F>
void guarded(F body) {
  try {
    body();
  } catch (const std::exception&) {
  }
}

}  // namespace

void safetensors_header(const uint8_t* data, size_t size) {
  // The reader opens and maps a file by path: one in memory per process (memfd, opened again
  // through /proc), rewritten for every input — no disk writes, several times faster than /tmp.
  static const int fd = memfd_create("tightfit-fuzz.safetensors", MFD_CLOEXEC);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
  guarded([&] { SafetensorsFile::open(path); });
}

void model_config(const uint8_t* data, size_t size) {
  guarded([&] {
    const ModelConfig config = ModelConfig::from_json(parse_json(text_of(data, size), "config.json"), "config.json");
    HfShapePlanOptions options;
    hf_tensor_specs(config, options);
  });
}

void tokenizer_json(const uint8_t* data, size_t size) {
  guarded([&] {
    const tokenizer::Tokenizer t = tokenizer::Tokenizer::from_json_text(text_of(data, size), "tokenizer.json");
    const auto ids = t.encode("Hello, world! 123 \xE4\xBD\xA0\xE5\xA5\xBD <|im_end|>\n\n  x");
    t.decode(ids);
    const tokenizer::TokenId odd[] = {0, 1, 255, 256, 151643, -1, 2147483647};
    t.decode(odd);
  });
}

void chat_template(const uint8_t* data, size_t size) {
  const std::string_view all = text_of(data, size);
  const size_t split = all.find('\0');
  guarded([&] {
    const jinja::Template t(all.substr(0, split));
    nlohmann::ordered_json vars = nlohmann::ordered_json::object();
    if (split != std::string_view::npos) {
      try {
        vars = parse_ordered_json(all.substr(split + 1), "variables");
      } catch (const std::exception&) {
      }
      if (!vars.is_object()) vars = nlohmann::ordered_json::object();
    }
    t.render(vars);
  });
}

void recipe(const uint8_t* data, size_t size) {
  guarded([&] {
    const Recipe r = Recipe::from_json(parse_json(text_of(data, size), "recipe.json"), "recipe.json");
    ModuleInfo m;
    m.path = "language_model.model.layers.3.mlp.switch_mlp.down_proj";
    m.hf_path = "model.language_model.layers.3.mlp.experts.down_proj";
    m.role = TensorRole::RoutedExperts;
    m.layer = 3;
    r.first_match(m, 40);
  });
}

void image(const uint8_t* data, size_t size) {
  guarded([&] { decode_image(std::span<const uint8_t>(data, size), "fuzz"); });
}

void server_request(const uint8_t* data, size_t size) {
  if (size == 0) return;
  guarded([&] {
    // The first byte picks the API; no image is fetched or read (both off by default).
    const nlohmann::json body = parse_json(text_of(data + 1, size - 1), "request body");
    const server::ServerOptions options;
    switch (data[0] % 3) {
      case 0: server::parse_chat_request(body, options); break;
      case 1: server::parse_completion_request(body, options); break;
      default: server::parse_anthropic_request(body, options); break;
    }
  });
}

// What a parser makes of `output` fed `chunk` bytes at a time: text pieces merged, each call as
// name and arguments, in order.
std::vector<std::string> tool_call_outcome(std::string_view output, size_t chunk) {
  static const nlohmann::json tools = nlohmann::json::parse(R"([{"type": "function", "function": {
    "name": "f", "parameters": {"type": "object", "properties": {"n": {"type": "integer"},
    "o": {"type": "object"}, "b": {"type": "boolean"}, "s": {"type": "string"}}}}}])");
  server::ToolCallParser parser(tools);
  std::vector<std::string> outcome;
  bool last_is_text = false;
  auto take = [&](const std::vector<server::AnswerPiece>& pieces) {
    for (const server::AnswerPiece& piece : pieces) {
      if (piece.is_tool_call) {
        outcome.push_back("call " + piece.call.name + " " + piece.call.arguments);
      } else if (last_is_text) {
        outcome.back() += piece.text;
      } else {
        outcome.push_back("text " + piece.text);
      }
      last_is_text = !piece.is_tool_call;
    }
  };
  for (size_t at = 0; at < output.size(); at += chunk) take(parser.feed(output.substr(at, chunk)));
  take(parser.finish());
  return outcome;
}

void tool_calls(const uint8_t* data, size_t size) {
  if (size == 0) return;
  // The first byte is the chunk length the output arrives in (1..256 bytes): the outcome must
  // not depend on it, and text only ever comes from the output.
  const size_t chunk = static_cast<size_t>(data[0]) + 1;
  const std::string_view output = text_of(data + 1, size - 1);
  const std::vector<std::string> streamed = tool_call_outcome(output, chunk);
  if (streamed != tool_call_outcome(output, output.size() + 1)) std::abort();
  size_t text = 0;
  for (const std::string& piece : streamed)
    if (piece.starts_with("text ")) text += piece.size() - 5;
  if (text > output.size()) std::abort();
}

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"safetensors_header", safetensors_header}, {"model_config", model_config}, {"tokenizer_json", tokenizer_json},
      {"chat_template", chat_template},           {"recipe", recipe},             {"image", image},
      {"server_request", server_request},         {"tool_calls", tool_calls}};
  return all;
}

}  // namespace tf::fuzz
