#include "runtime/json_constraint.h"

#include <stdexcept>

#include "runtime/json_lexer.h"

namespace tf {

namespace {

using json_lexer::kPlain;
using json_lexer::number_accepting;
using json_lexer::number_byte;
using json_lexer::number_start;
using json_lexer::string_byte;

bool digit(uint8_t b) { return b >= '0' && b <= '9'; }

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

bool JsonConstraint::names_unseen(const Path& p) const {
  const uint64_t seen = p.stack.back().seen;
  for (uint16_t i = p.lo; i < p.hi; ++i)
    if (!(seen & (uint64_t{1} << i))) return true;
  return false;
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
    p.sub = number_start(byte);
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
      if (!string_byte(p.sub, p.utf8, byte, closed)) return retract(out);
      if (p.lex == Lex::string) {
        if (closed) value_done(p);
        return;
      }
      if (closed) {
        if (!key_done(p)) retract(out);
        return;
      }
      // A key's bytes narrow the declared names it may still be. With no other key allowed,
      // it must stay the prefix of a name not given yet (else the text would end in a dead
      // end: a name given twice is refused at its closing quote).
      const bool closed_set = graph_->nodes[p.stack.back().node].additional == SchemaNode::kNone;
      if (p.set >= 0 && narrow(p, byte)) {
        if (closed_set && !names_unseen(p)) return retract(out);
      } else if (closed_set) {
        return retract(out);
      } else {
        p.set = -1;  // another key
      }
      return;
    }
    case Lex::number: {
      Path& p = emit(out, base);
      bool ended = false;
      if (!number_byte(p.sub, p.integer, byte, ended)) return retract(out);
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
