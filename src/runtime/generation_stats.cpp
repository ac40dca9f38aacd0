#include "runtime/generation_stats.h"

#include <cstdio>

#include "runtime/peak_memory.h"

namespace tf {

double GenerationStats::prompt_tokens_per_second() const {
  return prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0.0;
}

double GenerationStats::generation_tokens_per_second() const {
  return generation_seconds > 0 ? generated_tokens / generation_seconds : 0.0;
}

std::string format_stats(const GenerationStats& s) {
  char line[256];
  std::snprintf(line, sizeof line,
                "prompt: %lld tokens, %.1f tok/s | generation: %lld tokens, %.1f tok/s | "
                "peak memory: %s",
                static_cast<long long>(s.prompt_tokens), s.prompt_tokens_per_second(),
                static_cast<long long>(s.generated_tokens), s.generation_tokens_per_second(),
                format_bytes(s.peak_rss_bytes).c_str());
  std::string out = line;
  if (s.images > 0) {
    std::snprintf(line, sizeof line, "vision: %lld image%s, %.2f s | ",
                  static_cast<long long>(s.images), s.images == 1 ? "" : "s", s.vision_seconds);
    out = line + out;
  }
  if (s.reused_tokens > 0)
    out += " | reused: " + std::to_string(s.reused_tokens) + " tokens";
  if (s.speculative.steps > 0) out += " | " + s.speculative.summary();
  return out;
}

}  // namespace tf
