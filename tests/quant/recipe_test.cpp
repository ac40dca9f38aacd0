// Recipes: presets, rule matching (first match wins), layer sets, and the JSON format's errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "quant/recipe.h"

namespace tf {
namespace {

using nlohmann::json;

ModuleInfo module(const std::string& path, TensorRole role, int layer = -1, bool mtp = false) {
  ModuleInfo m;
  m.path = path;
  m.role = role;
  m.layer = layer;
  m.mtp = mtp;
  return m;
}

TEST(Recipe, EveryPresetParsesAndRoundTrips) {
  const auto names = builtin_recipe_names();
  for (const char* expected : {"dynamic", "uniform-2", "uniform-3", "uniform-4", "tight", "edge-boost", "mixed-2-6"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  for (const auto& name : names) {
    const auto r = builtin_recipe(name);
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(r->name, name);
    EXPECT_FALSE(r->description.empty());
    const Recipe again = Recipe::from_json(r->to_json(), "round trip");
    EXPECT_EQ(again.to_json(), r->to_json()) << name;
  }
  EXPECT_FALSE(builtin_recipe("uniform-5"));
}

TEST(Recipe, DynamicPresetDecidesEachRoleAsTheIssueSays) {
  const Recipe r = *builtin_recipe("dynamic");
  auto action = [&](TensorRole role) {
    const int i = r.first_match(module("x", role, 5), 40);
    EXPECT_GE(i, 0);
    return r.rules[i].action;
  };
  for (TensorRole kept : {TensorRole::Router, TensorRole::SharedExpertGate, TensorRole::Norm,
                          TensorRole::DeltaNetParams, TensorRole::Vision})
    EXPECT_TRUE(action(kept).keep) << role_name(kept);
  for (TensorRole three : {TensorRole::Embed, TensorRole::LmHead, TensorRole::FullAttention,
                           TensorRole::LinearAttention, TensorRole::SharedExpert})
    EXPECT_EQ(action(three).bits, 3) << role_name(three);
  EXPECT_EQ(action(TensorRole::RoutedExperts).bits, 2);
  EXPECT_EQ(action(TensorRole::DenseMlp).bits, 2);
  EXPECT_EQ(action(TensorRole::Other).bits, 2);
  EXPECT_EQ(r.group_size, 64);
}

TEST(Recipe, EdgeBoostRaisesOnlyLayersZeroToSeven) {
  const Recipe r = *builtin_recipe("edge-boost");
  auto bits = [&](TensorRole role, int layer) {
    const auto& a = r.rules[r.first_match(module("x", role, layer), 40)].action;
    return a.keep ? 16 : a.bits;
  };
  EXPECT_EQ(bits(TensorRole::RoutedExperts, 0), 3);
  EXPECT_EQ(bits(TensorRole::RoutedExperts, 7), 3);
  EXPECT_EQ(bits(TensorRole::RoutedExperts, 8), 2);
  EXPECT_EQ(bits(TensorRole::LinearAttention, 7), 4);
  EXPECT_EQ(bits(TensorRole::LinearAttention, 8), 3);
  EXPECT_EQ(bits(TensorRole::Router, 0), 16);
  EXPECT_EQ(bits(TensorRole::Embed, -1), 3);
}

TEST(Recipe, SensitiveLayersFollowMlxMixedRecipes) {
  LayerSelector s;
  s.sensitive = true;
  std::vector<int> got;
  for (int i = 0; i < 40; ++i)
    if (s.contains(i, 40)) got.push_back(i);
  // L/8 = 5: 0–4, 35–39, and (i − 5) mod 3 = 2 → 7, 10, …, 34.
  std::vector<int> want = {0, 1, 2, 3, 4};
  for (int i = 7; i < 35; i += 3) want.push_back(i);
  for (int i = 35; i < 40; ++i) want.push_back(i);
  EXPECT_EQ(got, want);
  EXPECT_FALSE(s.contains(-1, 40));
  EXPECT_FALSE(s.contains(40, 40));
}

TEST(Recipe, LayerSelectorForms) {
  auto sel = [](const json& j) { return LayerSelector::from_json(j, "test"); };
  auto members = [](const LayerSelector& s, int L) {
    std::vector<int> v;
    for (int i = 0; i < L; ++i)
      if (s.contains(i, L)) v.push_back(i);
    return v;
  };
  EXPECT_EQ(members(sel("2-4"), 10), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(members(sel(6), 10), (std::vector<int>{6}));
  EXPECT_EQ(members(sel("first:2"), 10), (std::vector<int>{0, 1}));
  EXPECT_EQ(members(sel("last:2"), 10), (std::vector<int>{8, 9}));
  EXPECT_EQ(members(sel(json::parse(R"({"first": 1, "last": 1})")), 10), (std::vector<int>{0, 9}));
  EXPECT_EQ(members(sel(json::parse("[-3, -2]")), 10), (std::vector<int>{7, 8}));
  EXPECT_EQ(members(sel(json::parse(R"([0, "5-6", [8, 9]])")), 10), (std::vector<int>{0, 5, 6, 8, 9}));
  EXPECT_EQ(members(sel(json::parse(R"({"ranges": ["1-2"], "last": 1})")), 10), (std::vector<int>{1, 2, 9}));
  for (const char* bad : {R"("4-2")", R"("x")", R"("first:-1")", R"({"middle": 3})", "[]", "true"})
    EXPECT_THROW(sel(json::parse(bad)), std::runtime_error) << bad;
}

TEST(Recipe, FirstMatchWinsAndConditionsCombine) {
  const Recipe r = Recipe::from_json(json::parse(R"({"rules": [
    {"match": "*.layers.3.*", "role": "routed_experts", "bits": 8},
    {"regex": "switch_mlp\\.down_proj$", "layers": {"first": 2}, "bits": 6, "group_size": 32},
    {"role": ["routed_experts", "shared_expert"], "bits": 3},
    {"role": "mtp", "keep": true},
    {"bits": 2}]})"), "test");
  const std::string p = "language_model.model.layers.";
  EXPECT_EQ(r.first_match(module(p + "3.mlp.switch_mlp.up_proj", TensorRole::RoutedExperts, 3), 4), 0);
  EXPECT_EQ(r.first_match(module(p + "3.self_attn.q_proj", TensorRole::FullAttention, 3), 4), 4);
  EXPECT_EQ(r.first_match(module(p + "1.mlp.switch_mlp.down_proj", TensorRole::RoutedExperts, 1), 4), 1);
  EXPECT_EQ(r.first_match(module(p + "2.mlp.switch_mlp.down_proj", TensorRole::RoutedExperts, 2), 4), 2);
  EXPECT_EQ(r.first_match(module("mtp.layers.0.self_attn.q_proj", TensorRole::FullAttention, -1, true), 4), 3);
  EXPECT_EQ(r.rules[1].action.group_size, 32);
  EXPECT_EQ(r.group_size, 64);
}

TEST(Recipe, GlobsAlsoMatchTheHuggingFaceSpelling) {
  const Recipe r = Recipe::from_json(json::parse(R"({"rules": [
    {"match": "model.language_model.layers.*.self_attn.*", "bits": 4}]})"), "test");
  ModuleInfo m = module("language_model.model.layers.3.self_attn.q_proj", TensorRole::FullAttention, 3);
  EXPECT_EQ(r.first_match(m, 4), -1);
  m.hf_path = "model.language_model.layers.3.self_attn.q_proj";
  EXPECT_EQ(r.first_match(m, 4), 0);
}

TEST(Recipe, LayerRulesNeverSelectModulesOutsideTheDecoderLayers) {
  const Recipe r = Recipe::from_json(json::parse(R"({"rules": [{"layers": "0-100", "bits": 8}]})"), "t");
  EXPECT_EQ(r.first_match(module("language_model.model.embed_tokens", TensorRole::Embed), 4), -1);
  EXPECT_EQ(r.first_match(module("mtp.fc", TensorRole::Other, -1, true), 4), -1);
  EXPECT_EQ(r.first_match(module("x", TensorRole::Norm, 3), 4), 0);
}

TEST(Recipe, BadRecipesAreRejectedWithTheRuleNamed) {
  const char* bad[] = {
      R"([])",
      R"({"rules": []})",
      R"({"rules": [{"bits": 7}]})",
      R"({"rules": [{"bits": 4, "group_size": 48}]})",
      R"({"rules": [{"role": "attention", "bits": 4}]})",
      R"({"rules": [{"bits": 4, "keep": true}]})",
      R"({"rules": [{"role": "router"}]})",
      R"({"rules": [{"keep": false}]})",
      R"({"rules": [{"keep": true, "group_size": 32}]})",
      R"({"rules": [{"regex": "(unclosed", "bits": 4}]})",
      R"({"rules": [{"bit": 4}]})",
      R"({"rules": [{"bits": 4}], "groupsize": 32})",
      R"({"rules": [{"match": "", "bits": 4}]})",
      R"({"rules": [{"bits": 4}], "group_size": 100})",
  };
  for (const char* text : bad) {
    try {
      Recipe::from_json(json::parse(text), "mine.json");
      ADD_FAILURE() << "accepted " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("mine.json"), std::string::npos) << e.what();
    }
  }
  try {
    Recipe::from_json(json::parse(R"({"rules": [{"keep": true}, {"role": "nope", "bits": 2}]})"), "f.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("rule 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("routed_experts"), std::string::npos) << "lists valid roles";
  }
}

TEST(Recipe, LoadReadsPresetsAndFiles) {
  EXPECT_EQ(Recipe::load("tight").name, "tight");
  const auto path = std::filesystem::temp_directory_path() / "tightfit-recipe-test-mine.json";
  std::ofstream(path) << R"({"rules": [{"role": "routed_experts", "bits": 4}, {"bits": 8}]})";
  const Recipe r = Recipe::load(path.string());
  EXPECT_EQ(r.name, "tightfit-recipe-test-mine");  // from the file name
  EXPECT_EQ(r.rules.size(), 2u);
  std::ofstream(path) << "{not json";
  EXPECT_THROW(Recipe::load(path.string()), std::runtime_error);
  std::filesystem::remove(path);
  EXPECT_THROW(Recipe::load("no-such-preset-or-file"), std::runtime_error);
}

}  // namespace
}  // namespace tf
