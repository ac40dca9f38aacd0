#include "tokenizer/decoder.h"

#include <stdexcept>

#include "tokenizer/byte_level.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"

namespace tf::tokenizer {
namespace {

// "<0x41>" -> 0x41; -1 for anything else.
int byte_token_value(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  int v = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = t[k];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// Removes up to `n` copies of `c` (a whole UTF-8 character) from the front or back.
void strip_chars(std::string& s, const std::string& c, size_t start, size_t stop) {
  if (c.empty()) return;
  size_t front = 0;
  for (size_t k = 0; k < start && s.compare(front, c.size(), c) == 0; ++k) front += c.size();
  size_t back = s.size();
  for (size_t k = 0; k < stop && back >= front + c.size() && s.compare(back - c.size(), c.size(), c) == 0; ++k)
    back -= c.size();
  s = s.substr(front, back - front);
}

}  // namespace

void Decoder::add_steps(const nlohmann::json& spec, std::vector<Step>& steps) {
  const std::string type = json_string(spec, "type", "decoder");
  if (type == "Sequence") {
    for (const auto& child : json_array(spec, "decoders", "decoder Sequence")) add_steps(child, steps);
    return;
  }
  Step step{};
  if (type == "ByteLevel") {
    step.kind = Kind::kByteLevel;
  } else if (type == "ByteFallback") {
    step.kind = Kind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = Kind::kFuse;
  } else if (type == "Strip") {
    step.kind = Kind::kStrip;
    step.pattern = json_string(spec, "content", "Strip decoder");
    step.start = static_cast<size_t>(std::max<int64_t>(0, json_int(spec, "start", "Strip decoder")));
    step.stop = static_cast<size_t>(std::max<int64_t>(0, json_int(spec, "stop", "Strip decoder")));
  } else if (type == "Replace") {
    step.kind = Kind::kReplace;
    const auto pattern = json_pattern(spec, "Replace decoder");
    if (pattern.is_regex) step.regex = std::make_shared<Regex>(pattern.text);
    else step.pattern = pattern.text;
    step.content = json_string(spec, "content", "Replace decoder");
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    step.pattern = spec.value("replacement", std::string("\xE2\x96\x81"));
    if (auto it = spec.find("prepend_scheme"); it != spec.end() && it->is_string())
      step.prepend = it->get<std::string>() != "never";
    else
      step.prepend = json_bool_or(spec, "add_prefix_space", true, "Metaspace decoder");
  } else if (type == "BPEDecoder") {
    step.kind = Kind::kBpeSuffix;
    step.pattern = spec.value("suffix", std::string("</w>"));
  } else {
    throw std::runtime_error("unsupported decoder type '" + type +
                             "' (supported: ByteLevel, ByteFallback, Fuse, Strip, Replace, "
                             "Metaspace, BPEDecoder, Sequence)");
  }
  steps.push_back(std::move(step));
}

Decoder Decoder::from_json(const nlohmann::json& spec) {
  Decoder d;
  if (spec.is_null()) d.join_with_spaces_ = true;
  else add_steps(spec, d.steps_);
  return d;
}

void Decoder::apply(const Step& step, std::vector<std::string>& tokens) {
  switch (step.kind) {
    case Kind::kByteLevel: {
      // Per token: its characters back to bytes if all are in the alphabet, else its own
      // UTF-8 (added tokens such as "\n"); then one lossy UTF-8 pass over everything.
      std::string bytes;
      for (const auto& t : tokens) {
        if (auto b = byte_level_map().decode(t)) bytes += *b;
        else bytes += t;
      }
      tokens.assign(1, utf8_lossy(bytes));
      return;
    }
    case Kind::kByteFallback: {
      std::vector<std::string> out;
      std::string pending;  // bytes of consecutive <0xXX> tokens
      size_t pending_tokens = 0;
      auto flush = [&] {
        if (pending_tokens == 0) return;
        if (utf8_is_valid(pending)) {
          out.push_back(pending);
        } else {
          for (size_t k = 0; k < pending_tokens; ++k) out.push_back(utf8_encode(kReplacementChar));
        }
        pending.clear();
        pending_tokens = 0;
      };
      for (auto& t : tokens) {
        const int b = byte_token_value(t);
        if (b >= 0) {
          pending += static_cast<char>(b);
          ++pending_tokens;
        } else {
          flush();
          out.push_back(std::move(t));
        }
      }
      flush();
      tokens = std::move(out);
      return;
    }
    case Kind::kFuse: {
      std::string all;
      for (const auto& t : tokens) all += t;
      tokens.assign(1, std::move(all));
      return;
    }
    case Kind::kStrip:
      for (auto& t : tokens) strip_chars(t, step.pattern, step.start, step.stop);
      return;
    case Kind::kReplace:
      for (auto& t : tokens) {
        if (step.regex) {
          std::string out;
          size_t last = 0;
          const std::string valid = utf8_lossy(t);
          step.regex->for_each_match(valid, [&](size_t b, size_t e) {
            out.append(valid, last, b - last);
            out += step.content;
            last = e;
          });
          out.append(valid, last, std::string::npos);
          t = std::move(out);
        } else if (!step.pattern.empty()) {
          t = replace_all(t, step.pattern, step.content);
        }
      }
      return;
    case Kind::kMetaspace:
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = replace_all(tokens[i], step.pattern, " ");
        if (i == 0 && step.prepend && !tokens[i].empty() && tokens[i][0] == ' ') tokens[i].erase(0, 1);
      }
      return;
    case Kind::kBpeSuffix:
      for (size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = replace_all(tokens[i], step.pattern, i + 1 == tokens.size() ? "" : " ");
      return;
  }
}

std::string Decoder::decode(std::vector<std::string> tokens) const {
  std::string out;
  if (join_with_spaces_) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out += ' ';
      out += tokens[i];
    }
    return utf8_lossy(out);
  }
  for (const Step& step : steps_) apply(step, tokens);
  for (const auto& t : tokens) out += t;
  return utf8_lossy(out);
}

}  // namespace tf::tokenizer
