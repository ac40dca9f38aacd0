// Recipe rules: matching and the JSON format (see recipe.h).
#include "quant/recipe.h"

#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "base/input_error.h"
#include "storage/model_config.h"  // is_valid_affine_bits, is_valid_group_size

namespace tf {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw InputError(where + ": " + what);
}

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// An integer that fits in an int: `"bits": 4294967300` must not read as 4.
std::optional<int> json_int(const json& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(INT_MAX)) return static_cast<int>(u);
  } else if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    if (x >= INT_MIN && x <= INT_MAX) return static_cast<int>(x);
  }
  return std::nullopt;
}

std::string all_role_names() {
  std::string out;
  for (int i = 0; i < kNumTensorRoles; ++i)
    out += (i ? ", " : "") + std::string(role_name(static_cast<TensorRole>(i)));
  return out;
}

void parse_selector_item(const json& j, const std::string& where, LayerSelector& s) {
  if (j.is_number_integer()) {
    const auto v = json_int(j);
    if (!v) fail(where, "layer " + j.dump() + " is out of range");
    s.ranges.emplace_back(*v, *v);
  } else if (j.is_string()) {
    const std::string t = j.get<std::string>();
    if (t == "sensitive") {
      s.sensitive = true;
    } else if (t.rfind("first:", 0) == 0 || t.rfind("last:", 0) == 0) {
      const bool first = t[0] == 'f';
      const auto k = parse_int(std::string_view(t).substr(first ? 6 : 5));
      if (!k || *k < 0) fail(where, "bad layer set \"" + t + "\" (expected e.g. \"first:8\")");
      (first ? s.first : s.last) = std::max(first ? s.first : s.last, *k);
    } else {
      const size_t dash = t.find('-');
      const auto a = parse_int(std::string_view(t).substr(0, dash));
      const auto b = dash == std::string::npos ? a : parse_int(std::string_view(t).substr(dash + 1));
      if (!a || !b || *a < 0 || *b < *a)
        fail(where, "bad layer set \"" + t +
                        "\" (expected \"a-b\", \"n\", \"first:k\", \"last:k\" or \"sensitive\")");
      s.ranges.emplace_back(*a, *b);
    }
  } else if (j.is_array() && j.size() == 2 && j[0].is_number_integer() &&
             j[1].is_number_integer()) {
    const auto a = json_int(j[0]), b = json_int(j[1]);
    if (!a || !b) fail(where, "layer range " + j.dump() + " is out of range");
    s.ranges.emplace_back(*a, *b);
  } else if (j.is_object()) {
    for (const auto& [key, v] : j.items()) {
      if (key == "first" || key == "last") {
        const auto n = json_int(v);
        if (!n || *n < 0) fail(where, "layers." + key + " must be a non-negative integer, not " + v.dump());
        (key == "first" ? s.first : s.last) = *n;
      } else if (key == "sensitive") {
        if (!v.is_boolean()) fail(where, "layers.sensitive must be true or false");
        s.sensitive = s.sensitive || v.get<bool>();
      } else if (key == "ranges") {
        if (!v.is_array()) fail(where, "layers.ranges must be an array");
        for (const auto& item : v) parse_selector_item(item, where, s);
      } else {
        fail(where, "unknown key \"" + key + "\" in layers (use first, last, ranges, sensitive)");
      }
    }
  } else {
    fail(where, "layers must be a layer index, a string like \"0-7\", an object or an array, not " +
                    j.dump());
  }
}

bool glob_matches(const std::string& pattern, const std::string& text) {
  return !text.empty() && fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

}  // namespace

bool LayerSelector::contains(int layer, int L) const {
  if (layer < 0 || layer >= L) return false;
  if (layer < first || layer >= L - last) return true;
  for (auto [a, b] : ranges) {
    if (a < 0) a += L;
    if (b < 0) b += L;
    if (layer >= a && layer <= b) return true;
  }
  if (sensitive) {
    const int e = L / 8;
    if (layer < e || layer >= 7 * L / 8 || (layer - e) % 3 == 2) return true;
  }
  return false;
}

json LayerSelector::to_json() const {
  json j = json::object();
  if (first) j["first"] = first;
  if (last) j["last"] = last;
  if (!ranges.empty()) {
    j["ranges"] = json::array();
    for (auto [a, b] : ranges) j["ranges"].push_back({a, b});
  }
  if (sensitive) j["sensitive"] = true;
  return j;
}

LayerSelector LayerSelector::from_json(const json& j, const std::string& where) {
  LayerSelector s;
  const bool pair = j.is_array() && j.size() == 2 && j[0].is_number_integer() && j[1].is_number_integer();
  if (j.is_array() && !pair) {
    if (j.empty()) fail(where, "layers is an empty list");
    for (const auto& item : j) parse_selector_item(item, where, s);
  } else {
    parse_selector_item(j, where, s);
  }
  return s;
}

bool rule_matches(const RecipeRule& r, const ModuleInfo& m, int num_layers) {
  if (!r.roles.empty()) {
    const bool hit = std::any_of(r.roles.begin(), r.roles.end(), [&](TensorRole role) {
      return role == m.role || (m.mtp && role == TensorRole::Mtp);
    });
    if (!hit) return false;
  }
  if (r.layers && !r.layers->contains(m.layer, num_layers)) return false;
  if (!r.glob.empty() && !glob_matches(r.glob, m.path) && !glob_matches(r.glob, m.hf_path))
    return false;
  if (r.compiled && !r.compiled->search(m.path) && (m.hf_path.empty() || !r.compiled->search(m.hf_path)))
    return false;
  return true;
}

int Recipe::first_match(const ModuleInfo& m, int num_layers) const {
  for (size_t i = 0; i < rules.size(); ++i)
    if (rule_matches(rules[i], m, num_layers)) return static_cast<int>(i);
  return -1;
}

json Recipe::to_json() const {
  json j = {{"name", name}, {"description", description}, {"group_size", group_size}};
  j["rules"] = json::array();
  for (const auto& r : rules) {
    json o = json::object();
    if (!r.glob.empty()) o["match"] = r.glob;
    if (!r.regex.empty()) o["regex"] = r.regex;
    if (r.roles.size() == 1) o["role"] = std::string(role_name(r.roles[0]));
    else if (!r.roles.empty()) {
      o["role"] = json::array();
      for (TensorRole role : r.roles) o["role"].push_back(std::string(role_name(role)));
    }
    if (r.layers) o["layers"] = r.layers->to_json();
    if (r.action.keep) o["keep"] = true;
    else o["bits"] = r.action.bits;
    if (r.action.group_size) o["group_size"] = r.action.group_size;
    if (r.optional) o["optional"] = true;
    j["rules"].push_back(o);
  }
  return j;
}

Recipe Recipe::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) fail(source, "a recipe is a JSON object with a \"rules\" list");
  Recipe recipe;
  for (const auto& [key, v] : j.items()) {
    if (key == "name" || key == "description") {
      if (!v.is_string()) fail(source, "\"" + key + "\" must be a string");
      (key == "name" ? recipe.name : recipe.description) = v.get<std::string>();
    } else if (key == "group_size") {
      const auto g = json_int(v);
      if (!g || !is_valid_group_size(*g)) fail(source, "group_size must be 32, 64 or 128, not " + v.dump());
      recipe.group_size = *g;
    } else if (key != "rules") {
      fail(source, "unknown key \"" + key + "\" (a recipe has name, description, group_size, rules)");
    }
  }
  const auto rules = j.find("rules");
  if (rules == j.end() || !rules->is_array() || rules->empty())
    fail(source, "\"rules\" must be a non-empty list of rules");

  for (size_t i = 0; i < rules->size(); ++i) {
    const json& o = (*rules)[i];
    const std::string where = source + ": rule " + std::to_string(i + 1) + " " + o.dump();
    if (!o.is_object()) fail(where, "a rule is a JSON object");
    RecipeRule r;
    r.text = o.dump();
    bool has_keep = false, has_bits = false;
    for (const auto& [key, v] : o.items()) {
      if (key == "match" || key == "glob" || key == "regex") {
        if (!v.is_string() || v.get<std::string>().empty()) fail(where, key + " must be a non-empty string");
        if (key == "regex") {
          r.regex = v.get<std::string>();
          try {
            r.compiled = std::make_shared<const Regex>(r.regex);
          } catch (const std::exception& e) {
            fail(where, "bad regex: " + std::string(e.what()));
          }
        } else {
          r.glob = v.get<std::string>();
        }
      } else if (key == "role" || key == "roles") {
        const json items = v.is_array() ? v : json::array({v});
        if (items.empty()) fail(where, "role list is empty");
        for (const auto& item : items) {
          const auto role = item.is_string() ? parse_role(item.get<std::string>()) : std::nullopt;
          if (!role) fail(where, "unknown role " + item.dump() + " (roles: " + all_role_names() + ")");
          r.roles.push_back(*role);
        }
      } else if (key == "layers") {
        r.layers = LayerSelector::from_json(v, where);
      } else if (key == "keep") {
        if (!v.is_boolean() || !v.get<bool>()) fail(where, "keep must be true (or leave it out)");
        has_keep = r.action.keep = true;
      } else if (key == "bits") {
        const auto bits = json_int(v);
        if (!bits || !is_valid_affine_bits(*bits)) fail(where, "bits must be 2, 3, 4, 5, 6 or 8, not " + v.dump());
        has_bits = true;
        r.action.bits = *bits;
      } else if (key == "group_size") {
        const auto g = json_int(v);
        if (!g || !is_valid_group_size(*g)) fail(where, "group_size must be 32, 64 or 128, not " + v.dump());
        r.action.group_size = *g;
      } else if (key == "optional") {
        if (!v.is_boolean()) fail(where, "optional must be true or false");
        r.optional = v.get<bool>();
      } else if (key != "comment") {
        fail(where, "unknown key \"" + key +
                        "\" (a rule has match, regex, role, layers, keep | bits [+ group_size], "
                        "optional, comment)");
      }
    }
    if (has_keep == has_bits) fail(where, "give exactly one action: \"keep\": true or \"bits\"");
    if (has_keep && r.action.group_size) fail(where, "group_size makes no sense with keep");
    recipe.rules.push_back(std::move(r));
  }
  return recipe;
}

Recipe Recipe::load(const std::string& name_or_path) {
  if (auto preset = builtin_recipe(name_or_path)) return *preset;
  if (!std::filesystem::is_regular_file(name_or_path)) {
    std::string names;
    for (const auto& n : builtin_recipe_names()) names += (names.empty() ? "" : ", ") + n;
    throw InputError("recipe \"" + name_or_path +
                             "\" is neither a built-in preset (" + names + ") nor a JSON file");
  }
  json file;
  try {
    file = read_json_file(name_or_path);
  } catch (const std::runtime_error& e) {  // unreadable or not JSON: the user's file, bad input
    throw InputError(e.what());
  }
  Recipe r = from_json(file, name_or_path);
  if (r.name.empty()) r.name = std::filesystem::path(name_or_path).stem().string();
  return r;
}

}  // namespace tf
