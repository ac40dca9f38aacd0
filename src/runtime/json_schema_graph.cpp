#include "runtime/json_schema_graph.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace tf {

namespace {

using Json = nlohmann::json;

constexpr int kMaxSchemaDepth = 64;
constexpr size_t kMaxProperties = 64;  // SchemaNode::required is a 64-bit set

const std::set<std::string>& annotations() {
  static const std::set<std::string> words = {"title",  "description", "default", "examples",
                                              "$schema", "$id",        "$comment", "$defs",
                                              "definitions"};
  return words;
}

const std::set<std::string>& constraint_keywords() {
  static const std::set<std::string> words = {
      "type",     "properties", "required", "additionalProperties", "items", "minItems",
      "maxItems", "enum",       "const",    "anyOf",                "oneOf", "$ref"};
  return words;
}

uint8_t type_bit(const std::string& name, const std::string& where) {
  if (name == "object") return kJsonObject;
  if (name == "array") return kJsonArray;
  if (name == "string") return kJsonString;
  if (name == "number") return kJsonNumber | kJsonInteger;
  if (name == "integer") return kJsonInteger;
  if (name == "boolean") return kJsonBoolean;
  if (name == "null") return kJsonNull;
  throw std::invalid_argument("schema: unknown type '" + name + "' at " + where);
}

bool admits(uint8_t types, const Json& value) {
  if (value.is_object()) return types & kJsonObject;
  if (value.is_array()) return types & kJsonArray;
  if (value.is_string()) return types & kJsonString;
  if (value.is_boolean()) return types & kJsonBoolean;
  if (value.is_null()) return types & kJsonNull;
  if (value.is_number_integer() || value.is_number_unsigned()) return types & kJsonInteger;
  return types & kJsonNumber;
}

// A JSON string's text between its quotes, as the constraint reads it.
std::string escaped_name(const std::string& name) {
  const std::string quoted = Json(name).dump();
  return quoted.substr(1, quoted.size() - 2);
}

// A graph holding node 0, any value, and its keywords.
JsonSchemaGraph any_value_graph() {
  JsonSchemaGraph graph;
  graph.literal_sets.push_back({{"false", "null", "true"}});
  graph.nodes.emplace_back();
  graph.nodes[0].keywords = 0;
  return graph;
}

class SchemaCompiler {
 public:
  explicit SchemaCompiler(const Json& root) : root_(root), graph_(any_value_graph()) {}

  JsonSchemaGraph finish(int root) {
    graph_.root = root;
    return std::move(graph_);
  }

  int literal_set(std::vector<std::string> values) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    graph_.literal_sets.push_back({std::move(values)});
    return static_cast<int>(graph_.literal_sets.size() - 1);
  }

  int compile(const Json& schema, const std::string& where, int depth) {
    if (depth > kMaxSchemaDepth)
      throw std::invalid_argument("schema: nested deeper than " + std::to_string(kMaxSchemaDepth) +
                                  " levels at " + where);
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return JsonSchemaGraph::kAnyValue;
      throw std::invalid_argument("schema: the schema 'false' at " + where +
                                  " admits no value; remove it");
    }
    if (!schema.is_object())
      throw std::invalid_argument("schema: expected an object at " + where);
    bool constrains = false;
    for (const auto& [key, value] : schema.items()) {
      if (annotations().count(key)) continue;
      if (!constraint_keywords().count(key))
        throw std::invalid_argument(
            "schema: keyword '" + key + "' at " + where +
            " is not supported; the enforced subset is type, properties, required, "
            "additionalProperties, items, minItems, maxItems, enum, const, anyOf, oneOf, $ref");
      constrains = true;
    }
    if (!constrains) return JsonSchemaGraph::kAnyValue;
    if (schema.contains("$ref")) return reference(schema, where, depth);
    if (schema.contains("anyOf") || schema.contains("oneOf")) return alternatives(schema, where, depth);
    return value_node(schema, where, depth);
  }

 private:
  void only(const Json& schema, const std::string& keyword, const std::string& where) {
    for (const auto& [key, value] : schema.items())
      if (key != keyword && constraint_keywords().count(key))
        throw std::invalid_argument("schema: '" + key + "' beside '" + keyword + "' at " + where +
                                    " is not supported; move it into the alternatives or the "
                                    "referenced schema");
  }

  int reference(const Json& schema, const std::string& where, int depth) {
    only(schema, "$ref", where);
    const Json& ref = schema["$ref"];
    if (!ref.is_string()) throw std::invalid_argument("schema: '$ref' at " + where + " must be a string");
    const std::string target = ref.get<std::string>();
    if (auto it = refs_.find(target); it != refs_.end()) return it->second;
    const Json* resolved = nullptr;
    for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
      const std::string p = prefix;
      if (target.rfind(p, 0) == 0) {
        const std::string container = p.substr(2, p.size() - 3);
        const std::string name = target.substr(p.size());
        if (root_.contains(container) && root_[container].is_object() && root_[container].contains(name))
          resolved = &root_[container][name];
      }
    }
    if (target == "#") resolved = &root_;
    if (!resolved)
      throw std::invalid_argument("schema: '$ref' '" + target + "' at " + where +
                                  " is not supported; only '#', '#/$defs/NAME' and "
                                  "'#/definitions/NAME' in the same schema are");
    // A placeholder first, so that recursive references resolve to it.
    const int id = static_cast<int>(graph_.nodes.size());
    graph_.nodes.emplace_back();
    graph_.nodes[id].any_of = {JsonSchemaGraph::kAnyValue};
    refs_[target] = id;
    const int target_id = compile(*resolved, target, depth + 1);
    graph_.nodes[id].any_of = {target_id};
    return id;
  }

  int alternatives(const Json& schema, const std::string& where, int depth) {
    const char* keyword = schema.contains("anyOf") ? "anyOf" : "oneOf";
    only(schema, keyword, where);
    const Json& list = schema[keyword];
    if (!list.is_array() || list.empty())
      throw std::invalid_argument(std::string("schema: '") + keyword + "' at " + where +
                                  " must be a non-empty array of schemas");
    SchemaNode node;
    node.types = 0;
    for (size_t i = 0; i < list.size(); ++i)
      node.any_of.push_back(compile(list[i], where + "/" + keyword + "/" + std::to_string(i), depth + 1));
    graph_.nodes.push_back(std::move(node));
    return static_cast<int>(graph_.nodes.size() - 1);
  }

  int value_node(const Json& schema, const std::string& where, int depth) {
    SchemaNode node;
    if (const auto it = schema.find("type"); it != schema.end()) {
      node.types = 0;
      if (it->is_string()) {
        node.types = type_bit(it->get<std::string>(), where);
      } else if (it->is_array() && !it->empty()) {
        for (const Json& name : *it) {
          if (!name.is_string()) throw std::invalid_argument("schema: 'type' at " + where + " must hold type names");
          node.types |= type_bit(name.get<std::string>(), where);
        }
      } else {
        throw std::invalid_argument("schema: 'type' at " + where + " must be a name or a list of names");
      }
    }
    std::vector<Json> allowed;
    if (schema.contains("const")) allowed.push_back(schema["const"]);
    if (const auto it = schema.find("enum"); it != schema.end()) {
      if (!it->is_array() || it->empty())
        throw std::invalid_argument("schema: 'enum' at " + where + " must be a non-empty array");
      for (const Json& value : *it)
        if (!schema.contains("const") || value == schema["const"]) allowed.push_back(value);
    }
    if (schema.contains("const") || schema.contains("enum")) {
      std::vector<std::string> texts;
      for (const Json& value : allowed)
        if (admits(node.types, value)) texts.push_back(value.dump());
      if (texts.empty())
        throw std::invalid_argument("schema: no value of 'enum'/'const' at " + where + " fits its 'type'");
      node.literals = literal_set(std::move(texts));
    }
    std::vector<std::string> words;
    if (node.types & kJsonBoolean) words = {"false", "true"};
    if (node.types & kJsonNull) words.push_back("null");
    if (!words.empty()) node.keywords = literal_set(std::move(words));
    read_object(schema, where, depth, node);
    read_array(schema, where, depth, node);
    graph_.nodes.push_back(std::move(node));
    return static_cast<int>(graph_.nodes.size() - 1);
  }

  void read_object(const Json& schema, const std::string& where, int depth, SchemaNode& node) {
    std::map<std::string, std::string> names;  // escaped → name, in the LiteralSet's order
    if (const auto it = schema.find("properties"); it != schema.end()) {
      if (!it->is_object()) throw std::invalid_argument("schema: 'properties' at " + where + " must be an object");
      if (it->size() > kMaxProperties)
        throw std::invalid_argument("schema: more than " + std::to_string(kMaxProperties) +
                                    " properties at " + where + " are not supported");
      for (const auto& [name, sub] : it->items()) names[escaped_name(name)] = name;
      std::vector<std::string> escaped;
      for (const auto& [text, name] : names) {
        escaped.push_back(text);
        node.property_nodes.push_back(compile((*it)[name], where + "/properties/" + name, depth + 1));
      }
      node.property_names = literal_set(std::move(escaped));
    }
    if (const auto it = schema.find("required"); it != schema.end()) {
      if (!it->is_array()) throw std::invalid_argument("schema: 'required' at " + where + " must be an array");
      for (const Json& name : *it) {
        if (!name.is_string()) throw std::invalid_argument("schema: 'required' at " + where + " must hold names");
        const auto found = names.find(escaped_name(name.get<std::string>()));
        if (found == names.end())
          throw std::invalid_argument("schema: 'required' names '" + name.get<std::string>() + "' at " +
                                      where + ", which 'properties' does not declare; declare it");
        node.required |= uint64_t{1} << std::distance(names.begin(), found);
      }
    }
    if (const auto it = schema.find("additionalProperties"); it != schema.end()) {
      if (it->is_boolean())
        node.additional = it->get<bool>() ? JsonSchemaGraph::kAnyValue : SchemaNode::kNone;
      else
        node.additional = compile(*it, where + "/additionalProperties", depth + 1);
    }
  }

  void read_array(const Json& schema, const std::string& where, int depth, SchemaNode& node) {
    if (const auto it = schema.find("items"); it != schema.end()) {
      if (it->is_array())
        throw std::invalid_argument("schema: 'items' as an array (a tuple) at " + where +
                                    " is not supported; give one schema");
      node.items = compile(*it, where + "/items", depth + 1);
    }
    auto count = [&](const char* key, uint32_t fallback) {
      const auto it = schema.find(key);
      if (it == schema.end()) return fallback;
      if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
        throw std::invalid_argument(std::string("schema: '") + key + "' at " + where +
                                    " must be a non-negative integer");
      return static_cast<uint32_t>(
          std::min<uint64_t>(it->get<uint64_t>(), std::numeric_limits<uint32_t>::max()));
    };
    node.min_items = count("minItems", 0);
    node.max_items = count("maxItems", node.max_items);
    if (node.min_items > node.max_items)
      throw std::invalid_argument("schema: 'minItems' exceeds 'maxItems' at " + where);
  }

  const Json& root_;
  JsonSchemaGraph graph_;
  std::map<std::string, int> refs_;
};

}  // namespace

JsonSchemaGraph json_object_graph() {
  JsonSchemaGraph graph = any_value_graph();
  graph.nodes.emplace_back();
  graph.nodes[1].types = kJsonObject;
  graph.root = 1;
  return graph;
}

JsonSchemaGraph compile_json_schema(const nlohmann::json& schema) {
  SchemaCompiler compiler(schema);
  const int root = compiler.compile(schema, "#", 0);
  return compiler.finish(root);
}

JsonSchemaGraph literal_graph(std::vector<std::string> texts) {
  JsonSchemaGraph graph = any_value_graph();
  graph.nodes.emplace_back();
  std::sort(texts.begin(), texts.end());
  texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
  graph.literal_sets.push_back({std::move(texts)});
  graph.nodes[1].types = 0;
  graph.nodes[1].literals = 1;
  graph.root = 1;
  graph.leading_whitespace = false;
  return graph;
}

}  // namespace tf
