// A JSON Schema turned into the graph the JSON constraint (runtime/json_constraint.h) walks.
// Only a documented subset is enforced; a schema using any other keyword is refused
// (std::invalid_argument naming the keyword), never silently ignored. The subset:
//   type (one name or a list), properties, required, additionalProperties (false, true or a
//   schema), items (one schema), minItems, maxItems, enum, const, anyOf, oneOf (enforced as
//   anyOf: exclusivity is not checked), $ref to "#", "#/$defs/NAME" or "#/definitions/NAME",
//   and the annotations title, description, default, examples, $schema, $id, $comment.
// enum / const values are produced in their compact form (nlohmann::json::dump()). Integers
// are written without fraction or exponent. Keywords of JSON Schema:
// https://json-schema.org/understanding-json-schema/reference
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tf {

// The value kinds a node admits (bits of SchemaNode::types).
enum JsonType : uint8_t {
  kJsonObject = 1,
  kJsonArray = 2,
  kJsonString = 4,
  kJsonNumber = 8,   // any number
  kJsonInteger = 16, // digits only
  kJsonBoolean = 32,
  kJsonNull = 64,
  kJsonAnyType = 127,
};

// Sorted, distinct byte strings a value (or a key) must be one of. Matching keeps the range of
// entries that start with the bytes read so far; since shorter prefixes sort first, an exact
// match is the first entry of the range.
struct LiteralSet {
  std::vector<std::string> values;
};

struct SchemaNode {
  static constexpr int kNone = -1;
  uint8_t types = kJsonAnyType;
  std::vector<int> any_of;   // non-empty: the value matches one of these nodes (nothing else set)
  int literals = kNone;      // enum / const: a LiteralSet of compact JSON texts
  int keywords = kNone;      // a LiteralSet of the words true / false / null `types` admits
  // Objects: properties by name (a LiteralSet of the names as they appear between the quotes,
  // i.e. JSON-escaped), their nodes in the same order, the required ones as bits.
  int property_names = kNone;
  std::vector<int> property_nodes;
  uint64_t required = 0;
  int additional = 0;        // node for other keys; kNone: no other key
  // Arrays.
  int items = 0;
  uint32_t min_items = 0;
  uint32_t max_items = std::numeric_limits<uint32_t>::max();
};

struct JsonSchemaGraph {
  static constexpr int kAnyValue = 0;  // node 0 admits any JSON value
  std::vector<SchemaNode> nodes;
  std::vector<LiteralSet> literal_sets;
  int root = kAnyValue;
  // Whitespace may come before the value (JSON allows it; a raw literal root does not).
  bool leading_whitespace = true;
};

// Any JSON object (response_format {"type": "json_object"}).
JsonSchemaGraph json_object_graph();
// The subset above; throws std::invalid_argument naming the unsupported keyword or bad value.
JsonSchemaGraph compile_json_schema(const nlohmann::json& schema);
// A root that is one of `texts`, byte for byte, no JSON (the forced start of a tool call).
JsonSchemaGraph literal_graph(std::vector<std::string> texts);

}  // namespace tf
