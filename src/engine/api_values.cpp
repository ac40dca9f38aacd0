// The small value types of the public API (include/tightfit/tightfit.h): constructors,
// names and rates. The engine itself is in engine.cpp.
#include <utility>

#include "tightfit/tightfit.h"

namespace tightfit {

Image Image::from_file(std::string path) {
  Image image;
  image.path = std::move(path);
  return image;
}

Image Image::from_encoded(std::vector<uint8_t> bytes) {
  Image image;
  image.encoded = std::move(bytes);
  return image;
}

Image Image::from_rgb(int width, int height, std::vector<uint8_t> rgb) {
  Image image;
  image.width = width;
  image.height = height;
  image.rgb = std::move(rgb);
  return image;
}

Message Message::text(std::string role, std::string content) {
  Message message;
  message.role = std::move(role);
  message.content.push_back({ContentPart::Kind::text, std::move(content), {}});
  return message;
}

std::string Message::text_content() const {
  std::string text;
  for (const ContentPart& part : content) {
    if (part.kind == ContentPart::Kind::text) text += part.text;
  }
  return text;
}

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::eos: return "eos";
    case StopReason::stop_string: return "stop_string";
    case StopReason::max_tokens: return "max_tokens";
    case StopReason::repetition_loop: return "repetition_loop";
    case StopReason::context_full: return "context_full";
    case StopReason::cancelled: return "cancelled";
    case StopReason::error: return "error";
  }
  return "unknown";
}

double prompt_tokens_per_second(const Usage& usage, const Timing& timing) {
  const int64_t processed = usage.prompt_tokens - usage.cached_tokens;
  return timing.prompt_seconds > 0 ? static_cast<double>(processed) / timing.prompt_seconds : 0;
}

double generation_tokens_per_second(const Usage& usage, const Timing& timing) {
  // The first token comes out of the prefill; the rate is over the ones after it.
  const int64_t after_first = usage.completion_tokens - 1;
  return timing.generation_seconds > 0 && after_first > 0
             ? static_cast<double>(after_first) / timing.generation_seconds
             : 0;
}

Result Engine::generate(Request request) { return submit(std::move(request)).wait(); }

bool Engine::score_continuations(std::span<const int32_t> prefix,
                                 std::span<const std::vector<int32_t>> continuations,
                                 const ContinuationRow& on_row, const std::atomic<bool>* cancel) {
  std::vector<int32_t> tokens;
  for (size_t c = 0; c < continuations.size(); ++c) {
    if (continuations[c].empty())
      throw InvalidRequest("score_continuations: continuation " + std::to_string(c) + " is empty",
                           "continuations");
    tokens.assign(prefix.begin(), prefix.end());
    tokens.insert(tokens.end(), continuations[c].begin(), continuations[c].end());
    const auto first = static_cast<int64_t>(prefix.size());
    const bool done = score(tokens, first, [&](int64_t row, std::span<const float> logits) {
      on_row(c, row - first, logits);
    }, {}, cancel);
    if (!done) return false;
  }
  return true;
}

}  // namespace tightfit
