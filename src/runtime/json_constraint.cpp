#include "runtime/json_constraint.h"

#include <stdexcept>

namespace tf {

namespace {

bool digit(uint8_t b) { return b >= '0' && b <= '9'; }
bool hex(uint8_t b) { return digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); }

// Number grammar states (RFC 8259 §6): the accepting ones end a number.
constexpr uint8_t kMinus = 1, kZero = 2, kInt = 3, kDot = 4, kFrac = 5, kExp = 6, kExpSign = 7,
                  kExpDigits = 8;
bool number_accepting(uint8_t sub) { return sub == kZero || sub == kInt || sub == kFrac || sub == kExpDigits; }

// String states: plain content, after '\', the four hex digits of \uXXXX (after a 'D' first
// digit the second must be 0-7: escaped surrogates are refused, so that every strict parser
// reads the text; characters beyond the BMP come as raw UTF-8).
constexpr uint8_t kPlain = 0, kEscape = 1, kHex1 = 2, kHex2 = 3, kHex2AfterD = 4, kHex3 = 5, kHex4 = 6;

}  // namespace

JsonConstraint::JsonConstraint(std::shared_ptr<const JsonSchemaGraph> graph) : graph_(std::move(graph)) {
  if (!graph_ || graph_->nodes.empty()) throw std::invalid_argument("JsonConstraint: empty schema graph");
  paths_.emplace_back();
  live_ = 1;
}

JsonConstraint::Path& JsonConstraint::emit(JsonConstraint& out, const Path& from) {
  if (out.live_ < out.paths_.size())
    out.paths_[out.live_] = from;
  else
    out.paths_.push_back(from);
  return out.paths_[out.live_++];
}

bool JsonConstraint::step(uint8_t byte, JsonConstraint& out) const {
  if (out.graph_ != graph_) out.graph_ = graph_;
  out.live_ = 0;
  for (size_t i = 0; i < live_; ++i) step_path(paths_[i], byte, out);
  return out.live_ > 0;
}

bool JsonConstraint::advance(uint8_t byte) {
  JsonConstraint next(graph_);
  if (!step(byte, next)) return false;
  paths_.swap(next.paths_);
  live_ = next.live_;
  return true;
}

bool JsonConstraint::advance(std::string_view bytes) {
  JsonConstraint a(*this), b(graph_);
  for (char c : bytes) {
    if (!a.step(static_cast<uint8_t>(c), b)) return false;
    std::swap(a, b);
  }
  *this = std::move(a);
  return true;
}

bool JsonConstraint::literal_exact(const Path& p) const {
  const auto& values = graph_->literal_sets[p.set].values;
  return p.lo < p.hi && values[p.lo].size() == p.pos;
}

bool JsonConstraint::literal_final(const Path& p) const {
  return literal_exact(p) && p.hi == p.lo + 1;
}

bool JsonConstraint::path_accepting(const Path& p) const {
  if (p.done) return true;
  if (!p.stack.empty()) return false;
  if (p.lex == Lex::number) return number_accepting(p.sub);
  if (p.lex == Lex::literal) return literal_exact(p);
  return false;
}

bool JsonConstraint::accepting() const {
  for (size_t i = 0; i < live_; ++i)
    if (path_accepting(paths_[i])) return true;
  return false;
}

bool JsonConstraint::complete() const {
  for (size_t i = 0; i < live_; ++i)
    if (paths_[i].done) return true;
  return false;
}

bool JsonConstraint::in_free_string() const {
  for (size_t i = 0; i < live_; ++i) {
    const Path& p = paths_[i];
    if (p.sub != kPlain || p.utf8 != 0) continue;
    if (p.lex == Lex::string) return true;
    if (p.lex == Lex::key && graph_->nodes[p.stack.back().node].additional != SchemaNode::kNone) return true;
  }
  return false;
}

bool JsonConstraint::narrow(Path& p, uint8_t byte) const {
  const auto& values = graph_->literal_sets[p.set].values;
  uint16_t lo = p.hi, hi = p.hi;
  for (uint16_t i = p.lo; i < p.hi; ++i) {
    if (values[i].size() > p.pos && static_cast<uint8_t>(values[i][p.pos]) == byte) {
      if (lo == p.hi) lo = i;
      hi = static_cast<uint16_t>(i + 1);
    }
  }
  if (lo == p.hi) return false;
  p.lo = lo;
  p.hi = hi;
  ++p.pos;
  return true;
}

bool JsonConstraint::may_close(const Frame& f) const {
  const SchemaNode& node = graph_->nodes[f.node];
  if (f.object) return (f.seen & node.required) == node.required;
  return f.count >= node.min_items;
}

bool JsonConstraint::key_available(const Frame& f) const {
  const SchemaNode& node = graph_->nodes[f.node];
  if (node.additional != SchemaNode::kNone) return true;
  const size_t n = node.property_nodes.size();
  const uint64_t all = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
  return (f.seen & all) != all;
}

bool JsonConstraint::expects_value(const Path& p) const {
  if (p.stack.empty()) return !p.done;
  const Frame& f = p.stack.back();
  return f.object ? f.phase == kObjValue : (f.phase == kArrOpen || f.phase == kArrValue);
}

int JsonConstraint::value_node(const Path& p) const {
  if (p.stack.empty()) return graph_->root;
  const Frame& f = p.stack.back();
  const SchemaNode& node = graph_->nodes[f.node];
  if (!f.object) return node.items;
  return f.key >= 0 ? node.property_nodes[static_cast<size_t>(f.key)] : node.additional;
}

bool JsonConstraint::begin_value(Path& p) const {
  p.whitespace = 0;
  if (p.stack.empty() || p.stack.back().object) return true;
  Frame& f = p.stack.back();
  if (f.count >= graph_->nodes[f.node].max_items) return false;
  ++f.count;
  return true;
}

void JsonConstraint::value_done(Path& p) const {
  p.lex = Lex::none;
  p.whitespace = 0;
  if (p.stack.empty()) {
    p.done = true;
    return;
  }
  Frame& f = p.stack.back();
  f.phase = f.object ? kObjAfter : kArrAfter;
}

bool JsonConstraint::key_done(Path& p) const {
  Frame& f = p.stack.back();
  const SchemaNode& node = graph_->nodes[f.node];
  if (p.set >= 0 && literal_exact(p)) {
    const uint64_t bit = uint64_t{1} << p.lo;
    if (f.seen & bit) return false;  // a property given twice
    f.seen |= bit;
    f.key = static_cast<int16_t>(p.lo);
  } else {
    if (node.additional == SchemaNode::kNone) return false;
    f.key = -1;
  }
  p.lex = Lex::none;
  f.phase = kObjColon;
  return true;
}

bool JsonConstraint::in_string(Path& p, uint8_t byte, bool& closed) const {
  switch (p.sub) {
    case kPlain:
      if (p.utf8 > 0) {
        if ((byte & 0xC0) != 0x80) return false;
        --p.utf8;
        return true;
      }
      if (byte == '"') {
        closed = true;
        return true;
      }
      if (byte == '\\') {
        p.sub = kEscape;
        return true;
      }
      if (byte < 0x20) return false;
      if (byte < 0x80) return true;
      if (byte >= 0xC2 && byte <= 0xDF) p.utf8 = 1;
      else if (byte >= 0xE0 && byte <= 0xEF) p.utf8 = 2;
      else if (byte >= 0xF0 && byte <= 0xF4) p.utf8 = 3;
      else return false;
      return true;
    case kEscape:
      if (byte == 'u') {
        p.sub = kHex1;
        return true;
      }
      if (byte == '"' || byte == '\\' || byte == '/' || byte == 'b' || byte == 'f' ||
          byte == 'n' || byte == 'r' || byte == 't') {
        p.sub = kPlain;
        return true;
      }
      return false;
    case kHex1:
      if (!hex(byte)) return false;
      p.sub = (byte == 'd' || byte == 'D') ? kHex2AfterD : kHex2;
      return true;
    case kHex2AfterD:
      if (!(byte >= '0' && byte <= '7')) return false;
      p.sub = kHex3;
      return true;
    case kHex2:
    case kHex3:
    case kHex4:
      if (!hex(byte)) return false;
      p.sub = p.sub == kHex2 ? kHex3 : p.sub == kHex3 ? kHex4 : kPlain;
      return true;
    default:
      return false;
  }
}

bool JsonConstraint::in_number(Path& p, uint8_t byte, bool& ended) {
  const bool d = digit(byte);
  const bool dot = byte == '.' && !p.integer;
  const bool exp = (byte == 'e' || byte == 'E') && !p.integer;
  switch (p.sub) {
    case kMinus:
      if (!d) return false;
      p.sub = byte == '0' ? kZero : kInt;
      return true;
    case kZero:
    case kInt:
      if (d && p.sub == kInt) return true;
      if (dot) p.sub = kDot;
      else if (exp) p.sub = kExp;
      else ended = true;
      return true;
    case kDot:
      if (!d) return false;
      p.sub = kFrac;
      return true;
    case kFrac:
      if (d) return true;
      if (exp) p.sub = kExp;
      else ended = true;
      return true;
    case kExp:
      if (byte == '+' || byte == '-') p.sub = kExpSign;
      else if (d) p.sub = kExpDigits;
      else return false;
      return true;
    case kExpSign:
      if (!d) return false;
      p.sub = kExpDigits;
      return true;
    case kExpDigits:
      if (!d) ended = true;
      return true;
    default:
      return false;
  }
}

bool JsonConstraint::punctuation(Path& p, uint8_t byte) const {
  if (p.stack.empty()) return false;  // the top-level value is complete: nothing may follow
  if (whitespace(byte)) {
    if (p.whitespace >= kMaxWhitespace) return false;
    ++p.whitespace;
    return true;
  }
  p.whitespace = 0;
  Frame& f = p.stack.back();
  auto close = [&] {
    if (!may_close(f)) return false;
    p.stack.pop_back();
    value_done(p);
    return true;
  };
  auto start_key = [&] {
    if (!key_available(f)) return false;
    const SchemaNode& node = graph_->nodes[f.node];
    p.lex = Lex::key;
    p.sub = kPlain;
    p.utf8 = 0;
    p.set = static_cast<int16_t>(node.property_names);
    p.lo = 0;
    p.hi = node.property_names >= 0
               ? static_cast<uint16_t>(graph_->literal_sets[node.property_names].values.size())
               : 0;
    p.pos = 0;
    return true;
  };
  if (f.object) {
    switch (f.phase) {
      case kObjOpen: return byte == '"' ? start_key() : byte == '}' && close();
      case kObjKey: return byte == '"' && start_key();
      case kObjColon:
        if (byte != ':') return false;
        f.phase = kObjValue;
        return true;
      case kObjAfter:
        if (byte == '}') return close();
        if (byte != ',' || !key_available(f)) return false;
        f.phase = kObjKey;
        return true;
      default: return false;
    }
  }
  if (byte == ']' && (f.phase == kArrOpen || f.phase == kArrAfter)) return close();
  if (f.phase != kArrAfter) return false;
  if (byte != ',' || f.count >= graph_->nodes[f.node].max_items) return false;
  f.phase = kArrValue;
  return true;
}

void JsonConstraint::value_start(const Path& base, int node_id, uint8_t byte, JsonConstraint& out,
                                 int depth) const {
  const SchemaNode& node = graph_->nodes[static_cast<size_t>(node_id)];
  if (!node.any_of.empty()) {
    if (depth >= kMaxDepth) return;  // a reference cycle that never reaches a value
    for (int alternative : node.any_of) {
      if (out.live_ >= kMaxPaths) return;
      value_start(base, alternative, byte, out, depth + 1);
    }
    return;
  }
  auto start_literal = [&](int set) {
    Path& p = emit(out, base);
    p.lex = Lex::literal;
    p.set = static_cast<int16_t>(set);
    p.lo = 0;
    p.hi = static_cast<uint16_t>(graph_->literal_sets[static_cast<size_t>(set)].values.size());
    p.pos = 0;
    p.node = static_cast<uint16_t>(node_id);
    if (!begin_value(p) || !narrow(p, byte)) return retract(out);
    if (literal_final(p)) value_done(p);
  };
  if (node.literals >= 0) return start_literal(node.literals);
  const bool number = byte == '-' || digit(byte);
  if (byte == '{' || byte == '[') {
    const uint8_t type = byte == '{' ? kJsonObject : kJsonArray;
    if (!(node.types & type) || base.stack.size() >= static_cast<size_t>(kMaxDepth)) return;
    Path& p = emit(out, base);
    if (!begin_value(p)) return retract(out);
    Frame frame;
    frame.node = static_cast<uint16_t>(node_id);
    frame.object = type == kJsonObject;
    frame.phase = frame.object ? kObjOpen : kArrOpen;
    p.stack.push_back(frame);
  } else if (byte == '"' && (node.types & kJsonString)) {
    Path& p = emit(out, base);
    if (!begin_value(p)) return retract(out);
    p.lex = Lex::string;
    p.sub = kPlain;
    p.utf8 = 0;
  } else if (number && (node.types & (kJsonNumber | kJsonInteger))) {
    Path& p = emit(out, base);
    if (!begin_value(p)) return retract(out);
    p.lex = Lex::number;
    p.integer = !(node.types & kJsonNumber);
    p.node = static_cast<uint16_t>(node_id);
    p.sub = byte == '-' ? kMinus : byte == '0' ? kZero : kInt;
  } else if (node.keywords >= 0 && (byte == 't' || byte == 'f' || byte == 'n')) {
    start_literal(node.keywords);
  }
}

void JsonConstraint::between(const Path& base, uint8_t byte, JsonConstraint& out) const {
  if (expects_value(base)) {
    if (whitespace(byte)) {
      const bool allowed = !base.stack.empty() || graph_->leading_whitespace;
      if (!allowed || base.whitespace >= kMaxWhitespace) return;
      ++emit(out, base).whitespace;
      return;
    }
    if (byte == ']' && !base.stack.empty() && base.stack.back().phase == kArrOpen &&
        !base.stack.back().object) {
      Path& p = emit(out, base);
      if (!punctuation(p, byte)) retract(out);
      return;
    }
    value_start(base, value_node(base), byte, out, 0);
    return;
  }
  Path& p = emit(out, base);
  if (!punctuation(p, byte)) retract(out);
}

void JsonConstraint::step_path(const Path& base, uint8_t byte, JsonConstraint& out) const {
  switch (base.lex) {
    case Lex::none:
      return between(base, byte, out);
    case Lex::string:
    case Lex::key: {
      Path& p = emit(out, base);
      bool closed = false;
      if (!in_string(p, byte, closed)) return retract(out);
      if (p.lex == Lex::string) {
        if (closed) value_done(p);
        return;
      }
      if (closed) {
        if (!key_done(p)) retract(out);
        return;
      }
      // A key's bytes narrow the declared names it may still be; with no other key allowed,
      // a key that can no longer be one of them is refused.
      if (p.set >= 0 && !narrow(p, byte)) {
        if (graph_->nodes[p.stack.back().node].additional == SchemaNode::kNone) return retract(out);
        p.set = -1;
      } else if (p.set < 0 && graph_->nodes[p.stack.back().node].additional == SchemaNode::kNone) {
        return retract(out);
      }
      return;
    }
    case Lex::number: {
      Path& p = emit(out, base);
      bool ended = false;
      if (!in_number(p, byte, ended)) return retract(out);
      if (ended) {
        value_done(p);
        if (!punctuation(p, byte)) retract(out);
      }
      return;
    }
    case Lex::literal: {
      Path& p = emit(out, base);
      if (narrow(p, byte)) {
        if (literal_final(p)) value_done(p);
        return;
      }
      if (!literal_exact(p)) return retract(out);
      value_done(p);  // a value that is a prefix of a longer one (1 of 1, 12) ends here
      if (!punctuation(p, byte)) retract(out);
      return;
    }
  }
}

}  // namespace tf
