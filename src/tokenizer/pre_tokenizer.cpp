#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <stdexcept>

#include "tokenizer/byte_level.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode_normalize.h"
#include "tokenizer/utf8.h"

#include <unicode/uchar.h>

namespace tf::tokenizer {
namespace {

// GPT-2's pattern, used by ByteLevel when "use_regex" is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Delimiter spans where a per-character predicate holds (each character its own span).
template <typename Pred>
std::vector<Span> char_spans(std::string_view s, Pred pred) {
  std::vector<Span> spans;
  for (size_t i = 0; i < s.size();) {
    size_t n = 0;
    const char32_t c = utf8_decode_at(s, i, &n);
    if (pred(c)) spans.emplace_back(i, i + n);
    i += n;
  }
  return spans;
}

std::vector<Span> regex_spans(const Regex& re, std::string_view s) {
  std::vector<Span> spans;
  re.for_each_match(s, [&](size_t b, size_t e) { spans.emplace_back(b, e); });
  return spans;
}

std::vector<Span> literal_spans(std::string_view literal, std::string_view s) {
  std::vector<Span> spans;
  if (literal.empty()) return spans;
  for (size_t pos = s.find(literal); pos != std::string_view::npos; pos = s.find(literal, pos + literal.size()))
    spans.emplace_back(pos, pos + literal.size());
  return spans;
}

bool is_numeric(char32_t c) {
  const int8_t t = u_charType(static_cast<UChar32>(c));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

// Rust's char::is_ascii_punctuation || Unicode punctuation (P*), as the Punctuation step.
bool is_punctuation(char32_t c) {
  if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  const int8_t t = u_charType(static_cast<UChar32>(c));
  return t == U_CONNECTOR_PUNCTUATION || t == U_DASH_PUNCTUATION || t == U_START_PUNCTUATION ||
         t == U_END_PUNCTUATION || t == U_INITIAL_PUNCTUATION || t == U_FINAL_PUNCTUATION ||
         t == U_OTHER_PUNCTUATION;
}

}  // namespace

SplitBehavior parse_split_behavior(const std::string& name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  throw std::runtime_error("unknown split behavior '" + name +
                           "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

std::vector<Span> split_at(size_t text_size, const std::vector<Span>& delimiters, SplitBehavior behavior, bool invert) {
  // Segments covering the whole text, each flagged as delimiter or not.
  struct Segment { size_t begin, end; bool delim; };
  std::vector<Segment> segs;
  segs.reserve(delimiters.size() * 2 + 1);
  size_t pos = 0;
  for (auto [b, e] : delimiters) {
    if (b > pos) segs.push_back({pos, b, invert});
    segs.push_back({b, e, !invert});
    pos = e;
  }
  if (pos < text_size) segs.push_back({pos, text_size, invert});

  std::vector<Span> parts;
  parts.reserve(segs.size());
  bool previous_delim = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& s : segs) parts.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kRemoved:
      for (const auto& s : segs)
        if (!s.delim) parts.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kContiguous:
      for (const auto& s : segs) {
        if (s.delim && previous_delim && !parts.empty()) parts.back().second = s.end;
        else parts.emplace_back(s.begin, s.end);
        previous_delim = s.delim;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const auto& s : segs) {
        if (s.delim && !previous_delim && !parts.empty()) parts.back().second = s.end;
        else parts.emplace_back(s.begin, s.end);
        previous_delim = s.delim;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
        if (it->delim && !previous_delim && !parts.empty()) parts.back().first = it->begin;
        else parts.emplace_back(it->begin, it->end);
        previous_delim = it->delim;
      }
      std::reverse(parts.begin(), parts.end());
      break;
  }
  parts.erase(std::remove_if(parts.begin(), parts.end(), [](const Span& p) { return p.second <= p.first; }), parts.end());
  return parts;
}

void PreTokenizer::add_steps(const nlohmann::json& spec, std::vector<Step>& steps) {
  const std::string type = json_string(spec, "type", "pre_tokenizer");
  if (type == "Sequence") {
    for (const auto& child : json_array(spec, "pretokenizers", "pre_tokenizer Sequence"))
      add_steps(child, steps);
    return;
  }
  Step step{};
  if (type == "Split") {
    step.kind = Kind::kSplit;
    const auto pattern = json_pattern(spec, "Split pre_tokenizer");
    if (pattern.is_regex) step.regex = std::make_shared<Regex>(pattern.text);
    else step.literal = pattern.text;
    step.behavior = parse_split_behavior(json_string(spec, "behavior", "Split pre_tokenizer"));
    step.invert = json_bool_or(spec, "invert", false, "Split pre_tokenizer");
  } else if (type == "ByteLevel") {
    step.kind = Kind::kByteLevel;
    step.add_prefix_space = json_bool_or(spec, "add_prefix_space", true, "ByteLevel pre_tokenizer");
    if (json_bool_or(spec, "use_regex", true, "ByteLevel pre_tokenizer"))
      step.regex = std::make_shared<Regex>(kGpt2Pattern);
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    step.replacement = spec.value("replacement", std::string("\xE2\x96\x81"));  // U+2581
    step.prepend_scheme = spec.value("prepend_scheme", std::string(
        json_bool_or(spec, "add_prefix_space", true, "Metaspace pre_tokenizer") ? "always" : "never"));
    step.split = json_bool_or(spec, "split", true, "Metaspace pre_tokenizer");
  } else if (type == "Digits") {
    step.kind = Kind::kDigits;
    step.individual_digits = json_bool_or(spec, "individual_digits", false, "Digits pre_tokenizer");
  } else if (type == "Whitespace") {
    step.kind = Kind::kWhitespace;
    step.regex = std::make_shared<Regex>(R"(\w+|[^\w\s]+)");
  } else if (type == "WhitespaceSplit") {
    step.kind = Kind::kWhitespaceSplit;
  } else if (type == "Punctuation") {
    step.kind = Kind::kPunctuation;
    step.behavior = parse_split_behavior(spec.value("behavior", std::string("Isolated")));
  } else {
    throw std::runtime_error("unsupported pre_tokenizer type '" + type +
                             "' (supported: Split, ByteLevel, Metaspace, Digits, Whitespace, "
                             "WhitespaceSplit, Punctuation, Sequence)");
  }
  steps.push_back(std::move(step));
}

PreTokenizer PreTokenizer::from_json(const nlohmann::json& spec) {
  PreTokenizer p;
  if (!spec.is_null()) add_steps(spec, p.steps_);
  for (const auto& s : p.steps_)
    if (s.kind == Kind::kByteLevel) p.byte_level_ = true;
  return p;
}

void PreTokenizer::apply_from(size_t index, std::string_view piece, bool first_piece,
                              const std::function<void(std::string_view)>& on_piece) const {
  if (piece.empty()) return;
  if (index == steps_.size()) {
    on_piece(piece);
    return;
  }
  const Step& step = steps_[index];
  auto each = [&](std::string_view text, const std::vector<Span>& parts) {
    for (size_t i = 0; i < parts.size(); ++i)
      apply_from(index + 1, text.substr(parts[i].first, parts[i].second - parts[i].first), first_piece && i == 0, on_piece);
  };
  switch (step.kind) {
    case Kind::kSplit:
      each(piece, split_at(piece.size(), step.regex ? regex_spans(*step.regex, piece) : literal_spans(step.literal, piece),
                           step.behavior, step.invert));
      return;
    case Kind::kByteLevel: {
      // Hugging Face prepends the space to every piece that lacks one, then splits, then maps
      // each piece's bytes to the GPT-2 alphabet.
      std::string with_space;
      std::string_view text = piece;
      if (step.add_prefix_space && piece[0] != ' ') {
        with_space = " " + std::string(piece);
        text = with_space;
      }
      if (!step.regex) {
        const std::string mapped = byte_level_map().encode(text);
        apply_from(index + 1, mapped, first_piece, on_piece);
        return;
      }
      const std::vector<Span> parts = split_at(text.size(), regex_spans(*step.regex, text), SplitBehavior::kIsolated, false);
      for (size_t i = 0; i < parts.size(); ++i) {
        const std::string mapped = byte_level_map().encode(text.substr(parts[i].first, parts[i].second - parts[i].first));
        apply_from(index + 1, mapped, first_piece && i == 0, on_piece);
      }
      return;
    }
    case Kind::kMetaspace: {
      std::string text = replace_all(piece, " ", step.replacement);
      const bool prepend = step.prepend_scheme == "always" || (step.prepend_scheme == "first" && first_piece);
      if (prepend && text.compare(0, step.replacement.size(), step.replacement) != 0) text = step.replacement + text;
      if (step.split) each(text, split_at(text.size(), literal_spans(step.replacement, text), SplitBehavior::kMergedWithNext, false));
      else apply_from(index + 1, text, first_piece, on_piece);
      return;
    }
    case Kind::kDigits:
      each(piece, split_at(piece.size(), char_spans(piece, is_numeric),
                           step.individual_digits ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false));
      return;
    case Kind::kWhitespace:
      each(piece, split_at(piece.size(), regex_spans(*step.regex, piece), SplitBehavior::kRemoved, true));
      return;
    case Kind::kWhitespaceSplit:
      each(piece, split_at(piece.size(), char_spans(piece, unicode_is_whitespace), SplitBehavior::kRemoved, false));
      return;
    case Kind::kPunctuation:
      each(piece, split_at(piece.size(), char_spans(piece, is_punctuation), step.behavior, false));
      return;
  }
}

void PreTokenizer::apply(std::string_view text, bool at_text_start,
                         const std::function<void(std::string_view)>& on_piece) const {
  apply_from(0, text, at_text_start, on_piece);
}

std::vector<std::string> PreTokenizer::apply(std::string_view text, bool at_text_start) const {
  std::vector<std::string> pieces;
  apply(text, at_text_start, [&](std::string_view p) { pieces.emplace_back(p); });
  return pieces;
}

}  // namespace tf::tokenizer
