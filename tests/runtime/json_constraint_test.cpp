// JsonConstraint and the JSON Schema subset: whole texts accepted or refused, prefixes, the
// end of a value, and schema keywords outside the subset refused by name.
#include "runtime/json_constraint.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tf {
namespace {

std::shared_ptr<const JsonSchemaGraph> schema(const std::string& text) {
  return std::make_shared<const JsonSchemaGraph>(compile_json_schema(nlohmann::json::parse(text)));
}
std::shared_ptr<const JsonSchemaGraph> any_object() {
  return std::make_shared<const JsonSchemaGraph>(json_object_graph());
}

// The longest prefix of `text` the constraint takes, byte by byte.
size_t accepted_prefix(std::shared_ptr<const JsonSchemaGraph> graph, const std::string& text) {
  JsonConstraint c(std::move(graph));
  for (size_t i = 0; i < text.size(); ++i)
    if (!c.advance(static_cast<uint8_t>(text[i]))) return i;
  return text.size();
}

bool complete(std::shared_ptr<const JsonSchemaGraph> graph, const std::string& text) {
  JsonConstraint c(std::move(graph));
  return c.advance(text) && c.complete();
}

TEST(JsonConstraint, AcceptsValidObjects) {
  for (const char* text : {
           R"({})", R"( {"a": 1})", "{\n  \"a\" : [1, 2.5, -0.5e+10, 3E-2, 0],\n  \"b\": {\"c\": null}\n}",
           R"({"s": "esc \" \\ \/ \b \f \n \r \t \u00e9 \uABCD"})", R"({"u": "héllo ✓ 😀"})",
           R"({"t": true, "f": false, "n": null, "nested": [[[]], {}, [{"x": []}]]})"}) {
    EXPECT_TRUE(complete(any_object(), text)) << text;
  }
}

TEST(JsonConstraint, RefusesInvalidBytesWhereTheyOccur) {
  struct Case {
    const char* text;
    size_t valid;  // bytes accepted before the refused one
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"([1])", 0},                 // json_object: the top level must be an object
           {R"({"a" 1})", 5},             // missing colon
           {R"({"a": 01})", 7},           // leading zero
           {R"({"a": 1.})", 8},           // digit needed after the dot
           {R"({"a": 1e})", 8},
           {R"({"a": -})", 7},
           {R"({"a": tru})", 9},
           {R"({"a": nul1})", 9},
           {R"({"a": "\x"})", 8},          // bad escape
           {R"({"a": "\u12G4"})", 11},     // bad hex digit
           {R"({"a": "\uD83D"})", 10},      // escaped surrogates are refused
           {"{\"a\": \"\x01\"}", 7},       // control character in a string
           {"{\"a\": \"\xC3(\"}", 8},      // broken UTF-8
           {"{\"a\": \"\xFF\"}", 7},
           {"{\"a\": \"\xE0\x80\x80\"}", 8},  // overlong
           {"{\"a\": \"\xED\xA0\x80\"}", 8},  // a surrogate
           {"{\"a\": \"\xF4\x90\x80\x80\"}", 8},  // above U+10FFFF
           {R"({"a": 1,})", 8},            // trailing comma
           {R"({"a": 1}})", 8},            // nothing after the value
           {R"({"a": [1 2]})", 9},
           {R"({,})", 1},
           {R"({"a": ]})", 6}}) {
    EXPECT_EQ(accepted_prefix(any_object(), c.text), c.valid) << c.text;
  }
}

TEST(JsonConstraint, PartialTextIsAPrefixNotAValue) {
  JsonConstraint c(any_object());
  ASSERT_TRUE(c.advance(R"({"a": "unfinished \u00)"));
  EXPECT_FALSE(c.accepting());
  EXPECT_FALSE(c.complete());
  ASSERT_TRUE(c.advance(R"(e9"})"));
  EXPECT_TRUE(c.complete());
  EXPECT_FALSE(c.advance(' '));  // nothing may follow a complete value
}

TEST(JsonConstraint, TopLevelNumberIsAcceptingButNotComplete) {
  auto graph = schema(R"({"type": "number"})");
  JsonConstraint c(graph);
  ASSERT_TRUE(c.advance("-12.5e3"));
  EXPECT_TRUE(c.accepting());
  EXPECT_FALSE(c.complete());  // more digits could follow; only an end of text ends it
  EXPECT_TRUE(c.advance('4'));
  EXPECT_EQ(accepted_prefix(schema(R"({"type": "integer"})"), "12.5"), 2u);
}

TEST(JsonConstraint, WhitespaceRunsAreCapped) {
  JsonConstraint c(any_object());
  ASSERT_TRUE(c.advance('{'));
  for (int i = 0; i < JsonConstraint::kMaxWhitespace; ++i) ASSERT_TRUE(c.advance(' '));
  EXPECT_FALSE(c.advance('\n'));
  EXPECT_TRUE(c.advance('}'));
}

TEST(JsonConstraint, NestingIsCapped) {
  JsonConstraint c(schema("{}"));
  for (int i = 0; i < JsonConstraint::kMaxDepth; ++i) ASSERT_TRUE(c.advance('['));
  EXPECT_FALSE(c.advance('['));
  EXPECT_TRUE(c.advance(']'));
}

TEST(JsonConstraint, FreeStringIsReported) {
  JsonConstraint c(any_object());
  ASSERT_TRUE(c.advance(R"({"k": "v)"));
  EXPECT_TRUE(c.in_free_string());
  ASSERT_TRUE(c.advance('\\'));
  EXPECT_FALSE(c.in_free_string());
}

constexpr const char* kPerson = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "color": {"enum": ["red", "green", 7]},
    "age": {"type": ["integer", "null"]},
    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
    "pet": {"anyOf": [{"const": "none"}, {"$ref": "#/$defs/pet"}]}
  },
  "required": ["name", "color"],
  "additionalProperties": false,
  "$defs": {"pet": {"type": "object", "properties": {"kind": {"type": "string"}},
                    "required": ["kind"]}}
})";

TEST(JsonSchemaConstraint, ConformingTextsComplete) {
  auto graph = schema(kPerson);
  for (const char* text : {
           R"({"name": "Ann", "color": "red"})", R"({"color": 7, "name": ""})",
           R"({"name": "x", "color": "green", "age": null, "tags": ["a", "b"]})",
           R"({"name": "x", "color": "red", "age": -3, "pet": "none"})",
           R"({"name": "x", "color": "red", "pet": {"kind": "cat", "extra": [1]}})"}) {
    EXPECT_TRUE(complete(graph, text)) << text;
  }
}

TEST(JsonSchemaConstraint, NonConformingTextsStopAtTheFirstBadByte) {
  auto graph = schema(kPerson);
  struct Case {
    const char* text;
    size_t valid;
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"({"name": "x"})", 12},                           // color is required
           {R"({"name": "x", "color": "blue"})", 24},          // not in the enum
           {R"({"name": "x", "colour": 1})", 19},              // no other key
           {R"({"name": "x", "name": "y"})", 15},              // given twice: no such key left
           {R"({"age": 1.5})", 9},                             // an integer
           {R"({"tags": []})", 10},                            // minItems 1
           {R"({"tags": ["a", "b", "c"]})", 18},               // maxItems 2
           {R"({"tags": [1]})", 10},
           {R"({"pet": {}})", 9},                              // kind is required
           {R"({"pet": "nothing"})", 11},
           {R"({"age": true})", 8}}) {
    EXPECT_EQ(accepted_prefix(graph, c.text), c.valid) << c.text;
  }
}

TEST(JsonSchemaConstraint, NoKeyCanStartWhenEveryPropertyIsGiven) {
  auto graph = schema(R"({"type": "object", "properties": {"a": {"const": 1}},
                          "additionalProperties": false})");
  EXPECT_EQ(accepted_prefix(graph, R"({"a": 1, )"), 7u);  // the comma would lead nowhere
  EXPECT_TRUE(complete(graph, R"({"a": 1})"));
  EXPECT_TRUE(complete(graph, R"({})"));
}

TEST(JsonSchemaConstraint, EnumValuesThatArePrefixesOfOthers) {
  auto graph = schema(R"({"type": "array", "items": {"enum": [1, 12]}})");
  EXPECT_TRUE(complete(graph, "[1, 12, 1]"));
  EXPECT_EQ(accepted_prefix(graph, "[13]"), 2u);
}

TEST(JsonSchemaConstraint, RecursiveReference) {
  auto graph = schema(R"({"$defs": {"node": {"type": "object", "properties": {
                            "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                            "additionalProperties": false}},
                          "$ref": "#/$defs/node"})");
  EXPECT_TRUE(complete(graph, R"({"children": [{"children": []}, {}]})"));
  EXPECT_EQ(accepted_prefix(graph, R"({"children": [{"x": 1}]})"), 16u);
}

TEST(JsonSchemaConstraint, KeywordsOutsideTheSubsetAreRefusedByName) {
  for (const char* keyword : {"pattern", "minLength", "format", "minimum", "allOf", "not",
                              "patternProperties", "prefixItems", "uniqueItems"}) {
    const std::string text = std::string(R"({"type": "object", "properties": {"a": {")") +
                             keyword + R"(": 1}}})";
    try {
      compile_json_schema(nlohmann::json::parse(text));
      ADD_FAILURE() << keyword << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + keyword + "'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("#/properties/a"), std::string::npos) << e.what();
    }
  }
}

TEST(JsonSchemaConstraint, MalformedSchemasAreRefused) {
  for (const char* text : {R"({"type": "text"})", R"({"required": ["a"]})", R"({"enum": []})",
                           R"({"items": [{}]})", R"({"minItems": 3, "maxItems": 2})",
                           R"({"$ref": "http://example.com/s"})", R"({"anyOf": []})",
                           R"({"type": "string", "anyOf": [{}]})", R"({"type": "string", "enum": [1]})",
                           R"(false)", R"([1])"}) {
    EXPECT_THROW(compile_json_schema(nlohmann::json::parse(text)), std::invalid_argument) << text;
  }
}

TEST(LiteralGraph, MatchesOneOfTheTextsExactly) {
  auto graph = std::make_shared<const JsonSchemaGraph>(
      literal_graph({"<tool_call>\n<function=get_weather>", "<tool_call>\n<function=get_time>"}));
  JsonConstraint c(graph);
  EXPECT_FALSE(c.advance(' '));  // no leading whitespace
  ASSERT_TRUE(c.advance("<tool_call>\n<function=get_"));
  EXPECT_FALSE(c.complete());
  EXPECT_FALSE(c.advance('x'));
  ASSERT_TRUE(c.advance("time>"));
  EXPECT_TRUE(c.complete());
}

}  // namespace
}  // namespace tf
