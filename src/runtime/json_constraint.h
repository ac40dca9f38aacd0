// A byte-level pushdown automaton that accepts exactly the JSON texts a JsonSchemaGraph admits
// (RFC 8259 grammar: https://www.rfc-editor.org/rfc/rfc8259), fed one byte at a time, so that
// constrained sampling (runtime/token_mask.h) can ask of every token "do these bytes extend a
// valid prefix?". The state is a few small vectors: copying it costs one allocation-free
// assignment once the copies have grown, which the vocabulary walk relies on.
//
// anyOf makes the grammar nondeterministic: the state holds every reading (a "path") still
// possible and a byte advances each of them; a path that cannot take the byte is dropped.
// Whitespace runs are capped (kMaxWhitespace) and nesting is capped (kMaxDepth), so a model
// cannot stall the answer in blank lines or brackets.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "runtime/json_schema_graph.h"

namespace tf {

class JsonConstraint {
 public:
  static constexpr int kMaxDepth = 64;
  static constexpr int kMaxWhitespace = 64;
  static constexpr size_t kMaxPaths = 64;

  explicit JsonConstraint(std::shared_ptr<const JsonSchemaGraph> graph);

  // Advances by one byte; false (and the state unchanged) when no valid text continues so.
  bool advance(uint8_t byte);
  bool advance(std::string_view bytes);  // all or nothing
  // `out` becomes this state advanced by `byte`; false when the byte is refused (out is then
  // unspecified). The allocation-free form of advance for the vocabulary walk.
  bool step(uint8_t byte, JsonConstraint& out) const;

  // The bytes read so far are a whole value (an end of text may come now).
  bool accepting() const;
  // A whole value that nothing can extend (objects, arrays, strings, keywords; not a bare
  // number): generation can stop here.
  bool complete() const;
  // Inside a string whose content is free (no enum), between characters: any run of printable
  // bytes without '"', '\\' or control characters that is whole UTF-8 is accepted.
  bool in_free_string() const;

 private:
  enum class Lex : uint8_t { none, string, key, number, literal };
  struct Frame {
    uint16_t node = 0;
    uint8_t object = 0;   // 1: object, 0: array
    uint8_t phase = 0;
    int16_t key = -1;     // object: the property the current key names, -1 for another key
    uint32_t count = 0;   // array: items begun
    uint64_t seen = 0;    // object: properties given
  };
  struct Path {
    std::vector<Frame> stack;
    Lex lex = Lex::none;
    uint8_t sub = 0;         // string: escape state; number: grammar state
    uint8_t utf8 = 0;        // string: continuation bytes still expected
    uint8_t whitespace = 0;  // length of the current whitespace run
    bool integer = false;    // number: no fraction or exponent
    bool done = false;       // the top-level value is complete
    uint16_t node = 0;       // number: its node; literal: the value's node
    int16_t set = -1;        // literal / key: the LiteralSet matched (-1: none)
    uint16_t lo = 0, hi = 0; // literal / key: the entries still matching
    uint32_t pos = 0;        // literal / key: bytes matched
  };

  // The phases of a container frame.
  static constexpr uint8_t kObjOpen = 0, kObjKey = 1, kObjColon = 2, kObjValue = 3, kObjAfter = 4;
  static constexpr uint8_t kArrOpen = 0, kArrValue = 1, kArrAfter = 2;

  // Appends a copy of `from` to out's paths (reusing an old slot's storage) / takes it back.
  static Path& emit(JsonConstraint& out, const Path& from);
  static void retract(JsonConstraint& out) { --out.live_; }

  // Each of these reads `path` advanced by `byte` into `out` (none, one or several paths).
  void step_path(const Path& path, uint8_t byte, JsonConstraint& out) const;
  void between(const Path& path, uint8_t byte, JsonConstraint& out) const;
  void value_start(const Path& path, int node, uint8_t byte, JsonConstraint& out, int depth) const;
  // In place, one path: punctuation and whitespace outside values.
  bool punctuation(Path& p, uint8_t byte) const;
  bool narrow(Path& p, uint8_t byte) const;  // literal matching; false (p unchanged) on no match
  bool literal_exact(const Path& p) const;
  bool literal_final(const Path& p) const;   // exact and no longer entry left
  bool begin_value(Path& p) const;            // counts an array item; false past maxItems
  void value_done(Path& p) const;
  bool key_done(Path& p) const;
  bool names_unseen(const Path& p) const;     // a key's matching names include one not given
  bool may_close(const Frame& frame) const;
  bool key_available(const Frame& frame) const;
  bool expects_value(const Path& p) const;
  int value_node(const Path& p) const;
  bool path_accepting(const Path& p) const;
  static bool whitespace(uint8_t byte) {
    return byte == ' ' || byte == '\n' || byte == '\r' || byte == '\t';
  }

  std::shared_ptr<const JsonSchemaGraph> graph_;
  std::vector<Path> paths_;  // [0, live_) are the live paths; the rest keep their storage
  size_t live_ = 0;
};

}  // namespace tf
