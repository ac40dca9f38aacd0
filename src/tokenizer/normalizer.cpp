#include "tokenizer/normalizer.h"

#include <stdexcept>

#include "tokenizer/json_fields.h"
#include "tokenizer/utf8.h"

namespace tf::tokenizer {

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

namespace {

std::string strip_whitespace(std::string_view s, bool left, bool right) {
  size_t begin = 0, end = s.size();
  if (left) {
    while (begin < end) {
      size_t n = 0;
      if (!unicode_is_whitespace(utf8_decode_at(s, begin, &n))) break;
      begin += n;
    }
  }
  if (right) {
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
      size_t n = 0;
      if (!unicode_is_whitespace(utf8_decode_at(s, start, &n))) break;
      end = start;
    }
  }
  return std::string(s.substr(begin, end - begin));
}

}  // namespace

void Normalizer::add_steps(const nlohmann::json& spec, std::vector<Step>& steps) {
  const std::string type = json_string(spec, "type", "normalizer");
  if (type == "Sequence") {
    for (const auto& child : json_array(spec, "normalizers", "normalizer Sequence"))
      add_steps(child, steps);
    return;
  }
  Step step{};
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    step.kind = Kind::kUnicode;
    step.form = type == "NFC"    ? NormalForm::kNFC
                : type == "NFD"  ? NormalForm::kNFD
                : type == "NFKC" ? NormalForm::kNFKC
                                 : NormalForm::kNFKD;
  } else if (type == "Lowercase") {
    step.kind = Kind::kLowercase;
  } else if (type == "StripAccents") {
    step.kind = Kind::kStripAccents;
  } else if (type == "Strip") {
    step.kind = Kind::kStrip;
    step.strip_left = spec.value("strip_left", true);
    step.strip_right = spec.value("strip_right", true);
  } else if (type == "Prepend") {
    step.kind = Kind::kPrepend;
    step.literal = json_string(spec, "prepend", "Prepend normalizer");
  } else if (type == "Replace") {
    step.kind = Kind::kReplace;
    const auto pattern = json_pattern(spec, "Replace normalizer");
    if (pattern.is_regex) step.regex = std::make_shared<Regex>(pattern.text);
    else step.literal = pattern.text;
    if (!pattern.is_regex && step.literal.empty())
      throw std::runtime_error("Replace normalizer: empty pattern");
    step.content = json_string(spec, "content", "Replace normalizer");
  } else {
    throw std::runtime_error("unsupported normalizer type '" + type +
                             "' (supported: NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, "
                             "Strip, Prepend, Replace, Sequence)");
  }
  steps.push_back(std::move(step));
}

Normalizer Normalizer::from_json(const nlohmann::json& spec) {
  Normalizer n;
  if (!spec.is_null()) add_steps(spec, n.steps_);
  return n;
}

std::string Normalizer::apply(std::string_view text) const {
  std::string s(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kUnicode: s = unicode_normalize(s, step.form); break;
      case Kind::kLowercase: s = unicode_lowercase(s); break;
      case Kind::kStripAccents: s = unicode_strip_marks(s); break;
      case Kind::kStrip: s = strip_whitespace(s, step.strip_left, step.strip_right); break;
      case Kind::kPrepend:
        if (!s.empty()) s = step.literal + s;
        break;
      case Kind::kReplace:
        if (step.regex) {
          std::string out;
          size_t last = 0;
          step.regex->for_each_match(s, [&](size_t b, size_t e) {
            out.append(s, last, b - last);
            out += step.content;
            last = e;
          });
          out.append(s, last, std::string::npos);
          s = std::move(out);
        } else {
          s = replace_all(s, step.literal, step.content);
        }
        break;
    }
  }
  return s;
}

}  // namespace tf::tokenizer
