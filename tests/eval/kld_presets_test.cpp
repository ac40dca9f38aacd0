// KL divergence follows precision: models/tiny-random converted with uniform-4, uniform-3 and
// uniform-2 (the convert code, into a scratch folder) drift further from the bf16 original in
// that order, measured by eval's kl_divergence over tests/data/eval/ppl.txt. On this random-
// weight model the next-token distributions are nearly flat (tests/cli/convert_cli_test.cpp
// explains the fixture), so the exact KL (k = the whole vocabulary) is asserted to be ordered,
// and the top-32 KL to be a lower bound of it.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "engine/engine_test_util.h"
#include "quant/converter.h"
#include "tightfit/eval.h"

namespace tightfit::eval {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Engine> f32_engine(const std::string& dir) {
  EngineOptions o;
  o.model = dir;
  o.threads = 2;
  o.activations = "f32";  // the reference path: differences come from the weights alone
  o.prompt_cache_bytes = 0;
  return Engine::load(std::move(o));
}

TEST(KlDivergence, OrderedByPrecisionAcrossPresets) {
  const std::string scratch = (fs::temp_directory_path() / ("tightfit-eval-presets-" + std::to_string(::getpid()))).string();
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  std::ifstream in(std::string(TIGHTFIT_TEST_DATA) + "/eval/ppl.txt");
  const std::string text((std::istreambuf_iterator<char>(in)), {});

  auto reference_engine = f32_engine(test::tiny_random_dir());
  const std::vector<int32_t> tokens = reference_engine->encode(text);
  const WindowOptions w{64, 32};
  const ReferenceLogits exact = collect_reference(*reference_engine, tokens, w, 512);
  const ReferenceLogits top32 = collect_reference(*reference_engine, tokens, w, 32);
  reference_engine.reset();

  std::map<std::string, double> kl;
  for (const std::string recipe : {"uniform-4", "uniform-3", "uniform-2"}) {
    tf::ConvertOptions o;
    o.hf_dir = test::tiny_random_dir();
    o.out_dir = scratch + "/" + recipe;
    o.recipe = tf::Recipe::load(recipe);
    o.threads = 2;
    tf::convert_checkpoint(o);
    auto engine = f32_engine(o.out_dir);
    EXPECT_LT(engine->info().bits_per_weight, 16);
    const KldResult r = kl_divergence(*engine, exact);
    const KldResult bound = kl_divergence(*engine, top32);
    kl[recipe] = r.mean_kl();
    std::printf("  %-10s bpw %.3f  KL %.5f (top-32: %.5f)  same top %.0f%%\n", recipe.c_str(),
                engine->info().bits_per_weight, r.mean_kl(), bound.mean_kl(), 100 * r.same_top_rate());
    EXPECT_GT(r.mean_kl(), 0);
    EXPECT_LE(bound.mean_kl(), r.mean_kl() + 1e-6);
  }
  EXPECT_LT(kl["uniform-4"], kl["uniform-3"]);
  EXPECT_LT(kl["uniform-3"], kl["uniform-2"]);
  fs::remove_all(scratch);
}

}  // namespace
}  // namespace tightfit::eval
