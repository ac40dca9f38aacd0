#include "runtime/sampler_config.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/json_read.h"

namespace tf {

namespace {

std::string fmt(float v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

void validate(const SamplerConfig& c) {
  require(std::isfinite(c.temperature) && c.temperature >= 0.0f,
          "--temp must be a number >= 0 (0 = greedy), got " + fmt(c.temperature));
  require(c.top_k >= 0, "--top-k must be >= 0 (0 = off), got " + std::to_string(c.top_k));
  require(c.top_p > 0.0f && c.top_p <= 1.0f,
          "--top-p must be in (0, 1] (1 = off), got " + fmt(c.top_p));
  require(c.min_p >= 0.0f && c.min_p <= 1.0f,
          "--min-p must be in [0, 1] (0 = off), got " + fmt(c.min_p));
  require(std::isfinite(c.repetition_penalty) && c.repetition_penalty > 0.0f,
          "--repetition-penalty must be > 0 (1 = off), got " + fmt(c.repetition_penalty));
  require(c.repetition_context_size >= 0,
          "--repetition-context-size must be >= 0 (0 = whole history), got " +
              std::to_string(c.repetition_context_size));
  require(std::isfinite(c.presence_penalty),
          "--presence-penalty must be a finite number, got " + fmt(c.presence_penalty));
  require(std::isfinite(c.frequency_penalty),
          "--frequency-penalty must be a finite number, got " + fmt(c.frequency_penalty));
  require(c.penalty_context_size >= 0,
          "--penalty-context-size must be >= 0 (0 = whole history), got " +
              std::to_string(c.penalty_context_size));
  for (const auto& [id, bias] : c.logit_bias) {
    require(id >= 0, "--logit-bias: token id must be >= 0, got " + std::to_string(id));
    // -inf is allowed: it bans a token outright.
    require(!std::isnan(bias) && bias != INFINITY,
            "--logit-bias: bias for token " + std::to_string(id) + " must be a number or -inf");
  }
}

GenerationDefaults parse_generation_config(std::string_view json_text, const std::string& source) {
  const nlohmann::json j = parse_json(json_text, source);
  if (!j.is_object()) throw std::runtime_error(source + ": expected a JSON object");

  auto bad = [&](const char* key, const char* want) {
    return std::runtime_error(source + ": field \"" + key + "\" must be " + want);
  };
  auto get_number = [&](const char* key) -> std::optional<double> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number()) throw bad(key, "a number");
    return it->get<double>();
  };
  auto get_int = [&](const char* key) -> std::optional<int64_t> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) throw bad(key, "an integer");
    return it->get<int64_t>();
  };

  GenerationDefaults g;
  g.from_file = true;
  SamplerConfig& s = g.sampler;

  bool do_sample = false;  // transformers' default
  if (auto it = j.find("do_sample"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) throw bad("do_sample", "true or false");
    do_sample = it->get<bool>();
  }
  if (do_sample) {
    s.temperature = static_cast<float>(get_number("temperature").value_or(1.0));
  } else {
    s.temperature = 0.0f;
  }
  if (auto v = get_int("top_k")) s.top_k = static_cast<int>(*v);
  if (auto v = get_number("top_p")) s.top_p = static_cast<float>(*v);
  if (auto v = get_number("min_p")) s.min_p = static_cast<float>(*v);
  if (auto v = get_number("repetition_penalty")) s.repetition_penalty = static_cast<float>(*v);
  if (auto v = get_number("presence_penalty")) s.presence_penalty = static_cast<float>(*v);
  if (auto v = get_number("frequency_penalty")) s.frequency_penalty = static_cast<float>(*v);

  if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null()) {
    if (it->is_number_integer()) {
      g.eos_token_ids.push_back(it->get<int32_t>());
    } else if (it->is_array()) {
      for (const auto& e : *it) {
        if (!e.is_number_integer()) throw bad("eos_token_id", "an integer or a list of integers");
        g.eos_token_ids.push_back(e.get<int32_t>());
      }
    } else {
      throw bad("eos_token_id", "an integer or a list of integers");
    }
  }
  if (auto v = get_int("bos_token_id")) g.bos_token_id = static_cast<int32_t>(*v);
  if (auto v = get_int("pad_token_id")) g.pad_token_id = static_cast<int32_t>(*v);
  if (auto v = get_int("max_new_tokens")) {
    if (*v <= 0) throw bad("max_new_tokens", "a positive integer");
    g.max_new_tokens = static_cast<int>(*v);
  }

  try {
    validate(s);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(source + ": " + e.what());
  }
  return g;
}

GenerationDefaults load_generation_defaults(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return GenerationDefaults{};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open for reading");
  std::stringstream text;
  text << in.rdbuf();
  return parse_generation_config(text.str(), path.string());
}

SamplerConfig apply_overrides(SamplerConfig base, const SamplerOverrides& o) {
  if (o.temperature) base.temperature = *o.temperature;
  if (o.top_k) base.top_k = *o.top_k;
  if (o.top_p) base.top_p = *o.top_p;
  if (o.min_p) base.min_p = *o.min_p;
  if (o.repetition_penalty) base.repetition_penalty = *o.repetition_penalty;
  if (o.repetition_context_size) base.repetition_context_size = *o.repetition_context_size;
  if (o.presence_penalty) base.presence_penalty = *o.presence_penalty;
  if (o.frequency_penalty) base.frequency_penalty = *o.frequency_penalty;
  if (o.penalty_context_size) base.penalty_context_size = *o.penalty_context_size;
  if (o.seed) base.seed = *o.seed;
  base.logit_bias.insert(base.logit_bias.end(), o.logit_bias.begin(), o.logit_bias.end());
  return base;
}

std::vector<std::pair<int32_t, float>> parse_logit_bias(std::string_view text) {
  std::vector<std::pair<int32_t, float>> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string entry(text.substr(start, end - start));
    const auto error = [&] {
      return std::invalid_argument("--logit-bias: expected ID:BIAS (e.g. 13:-2.5), got \"" +
                                   entry + "\"");
    };
    const size_t colon = entry.find(':');
    if (colon == std::string::npos) throw error();
    int32_t id = 0;
    const char* id_begin = entry.data();
    const char* id_end = entry.data() + colon;
    auto [p, ec] = std::from_chars(id_begin, id_end, id);
    if (ec != std::errc() || p != id_end || id < 0) throw error();
    const std::string bias_text = entry.substr(colon + 1);
    float bias = 0.0f;
    try {
      size_t used = 0;
      bias = std::stof(bias_text, &used);
      if (used != bias_text.size()) throw error();
    } catch (const std::logic_error&) {
      throw error();
    }
    out.emplace_back(id, bias);
    start = end + 1;
  }
  return out;
}

}  // namespace tf
