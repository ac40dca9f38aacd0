// The MTP head (model/mtp_head.h) against the float64 reference of the tiny MTP fixture
// (tests/data/tiny-qwen35moe-mtp, docs/model.md §10.10): teacher-forced draft logits — row t
// from the main model's post-norm hidden h_t and token x_{t+1} at position t — within the
// fixture's tolerance (max |Δ| ≤ 1e-3, relative L2 over the array ≤ 1e-3, same argmax on every
// row), for the random head and the "copy" head, both sequences; and the same in any layout the
// head is bound from (per-expert HF here; fused and MLX in mtp_layouts_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "model/mtp_head.h"
#include "model_test_util.h"
#include "storage/npy.h"

namespace tf {
namespace {

std::string mtp_dir(const std::string& variant) {
  return std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-mtp/" + variant;
}

std::vector<int32_t> mtp_tokens(const std::string& key) {
  std::ifstream in(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-mtp/tokens.json");
  return nlohmann::json::parse(in).at(key).get<std::vector<int32_t>>();
}

// Main hidden states (post final norm) of every position and the main logits.
struct MainOutputs {
  std::vector<float> hidden, logits;
};
MainOutputs run_main(const Model& model, const std::vector<int32_t>& tokens, KVType kv) {
  Sequence seq(model, kv, 256);
  ForwardPass pass(model, {.precision = ActivationPrecision::F32});
  const BatchItem item{.sequence = &seq, .tokens = tokens, .logits = OutputRows::All,
                       .hidden = OutputRows::All};
  pass.run(std::span<const BatchItem>(&item, 1));
  return {{pass.hidden(0).begin(), pass.hidden(0).end()},
          {pass.logits(0).begin(), pass.logits(0).end()}};
}

// Teacher-forced draft logits [T−1][V] in one causal pass of the head.
std::vector<float> draft_logits(const Model& model, const std::vector<int32_t>& tokens, KVType kv) {
  const MainOutputs main = run_main(model, tokens, kv);
  const int64_t H = model.hidden_size(), T = static_cast<int64_t>(tokens.size());
  MtpHead head(model, {.precision = ActivationPrecision::F32});
  MtpCache cache(model, kv, 256);
  const auto g = head.run(cache, std::span<const int32_t>(tokens).subspan(1),
                          std::span<const float>(main.hidden).subspan(0, (T - 1) * H), 0);
  EXPECT_EQ(cache.rows(), T - 1);
  const auto l = head.logits(g, T - 1);
  return {l.begin(), l.end()};
}

void expect_within_fixture_tolerance(const std::vector<float>& got, const NpyArray& ref,
                                     int64_t V) {
  ASSERT_EQ(got.size(), ref.data.size());
  double max_abs = 0, num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - ref.data[i];
    max_abs = std::max(max_abs, std::abs(d));
    num += d * d;
    den += static_cast<double>(ref.data[i]) * ref.data[i];
  }
  EXPECT_LE(max_abs, 1e-3);
  EXPECT_LE(std::sqrt(num / den), 1e-3);
  for (size_t r = 0; r * V < got.size(); ++r)
    EXPECT_EQ(test::argmax(got.data() + r * V, V), test::argmax(ref.data.data() + r * V, V))
        << "row " << r;
}

class MtpFixture : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

TEST_P(MtpFixture, DraftLogitsMatchTheReference) {
  const auto [variant, seq] = GetParam();
  const auto model = Model::load(mtp_dir(variant), 2);
  ASSERT_NE(model->mtp(), nullptr);
  const auto tokens = mtp_tokens(seq);
  const NpyArray ref = read_npy(mtp_dir(variant) + "/draft_logits_" + seq + ".npy");
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{static_cast<int64_t>(tokens.size()) - 1, 512}));
  for (KVType kv : {KVType::F32, KVType::F16}) {
    SCOPED_TRACE(kv_type_name(kv));
    expect_within_fixture_tolerance(draft_logits(*model, tokens, kv), ref, 512);
  }
  // The main model of the same file is untouched by the head.
  const NpyArray main_ref = read_npy(mtp_dir(variant) + "/logits_" + seq + ".npy");
  expect_within_fixture_tolerance(run_main(*model, tokens, KVType::F32).logits, main_ref, 512);
}

INSTANTIATE_TEST_SUITE_P(Variants, MtpFixture,
                         ::testing::Combine(::testing::Values("random", "copy"),
                                            ::testing::Values("seq16", "seq40")));

// Rows fed one at a time (decode-style, the cache growing) equal the one-pass rows.
TEST(MtpHead, RowByRowEqualsOnePass) {
  const auto model = Model::load(mtp_dir("copy"), 2);
  const auto tokens = mtp_tokens("seq16");
  const int64_t H = model->hidden_size(), V = 512, T = static_cast<int64_t>(tokens.size());
  const MainOutputs main = run_main(*model, tokens, KVType::F32);
  const auto one_pass = draft_logits(*model, tokens, KVType::F32);
  MtpHead head(*model, {.precision = ActivationPrecision::F32});
  MtpCache cache(*model, KVType::F32, 64);
  for (int64_t t = 0; t + 1 < T; ++t) {
    const auto g = head.run(cache, std::span<const int32_t>(tokens).subspan(t + 1, 1),
                            std::span<const float>(main.hidden).subspan(t * H, H), t);
    const auto l = head.logits(g, 1);
    EXPECT_LE(test::relative_l2(l.data(), one_pass.data() + t * V, V), 1e-5) << "row " << t;
  }
}

TEST(MtpHead, ModelWithoutHeadIsRefused) {
  const auto model = Model::load(test::tiny_dir(), 1);
  EXPECT_EQ(model->mtp(), nullptr);
  EXPECT_THROW(MtpHead(*model, {}), std::invalid_argument);
  EXPECT_THROW(MtpCache(*model, KVType::F32, 8), std::invalid_argument);
}

TEST(MtpHead, HeadCanBeLeftUnbound) {
  const auto model = Model::load(mtp_dir("copy"), 1, {.mtp = false});
  EXPECT_EQ(model->mtp(), nullptr);
}

TEST(MtpHead, BadInputsAreRejected) {
  const auto model = Model::load(mtp_dir("random"), 1);
  MtpHead head(*model, {});
  MtpCache cache(*model, KVType::F32, 8);
  const std::vector<int32_t> tokens = {1, 2};
  const std::vector<float> hidden(model->hidden_size());  // one row for two tokens
  EXPECT_THROW(head.run(cache, tokens, hidden, 0), std::invalid_argument);
  const std::vector<int32_t> bad = {512};
  EXPECT_THROW(head.run(cache, bad, hidden, 0), std::out_of_range);
  EXPECT_EQ(cache.rows(), 0);
  EXPECT_THROW(cache.truncate(1), std::logic_error);
}

}  // namespace
}  // namespace tf

namespace tf {
namespace {

// A reduced draft vocabulary (model/draft_vocabulary.h) scores exactly its ids, with the full
// head's values; every other id is −inf.
TEST(DraftVocabulary, ScoresOnlyItsIdsWithTheFullHeadsValues) {
  const auto model = Model::load(mtp_dir("copy"), 2);
  const auto tokens = mtp_tokens("seq16");
  const auto full = draft_logits(*model, tokens, KVType::F32);
  std::vector<int32_t> ids;
  for (int32_t id = 511; id >= 0; id -= 3) ids.push_back(id);  // any order
  const DraftVocabulary vocab(*model, ids);
  EXPECT_EQ(vocab.size(), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(vocab.head().rows, vocab.size());
  const int64_t H = model->hidden_size(), V = 512, T = static_cast<int64_t>(tokens.size());
  const MainOutputs main = run_main(*model, tokens, KVType::F32);
  MtpHead head(*model, {.precision = ActivationPrecision::F32});
  head.set_draft_vocabulary(&vocab);
  MtpCache cache(*model, KVType::F32, 64);
  const auto g = head.run(cache, std::span<const int32_t>(tokens).subspan(1),
                          std::span<const float>(main.hidden).subspan(0, (T - 1) * H), 0);
  const auto reduced = head.logits(g, T - 1);
  std::vector<bool> listed(V, false);
  for (int32_t id : ids) listed[id] = true;
  for (int64_t r = 0; r + 1 < T; ++r)
    for (int64_t i = 0; i < V; ++i) {
      if (listed[i])
        EXPECT_NEAR(reduced[r * V + i], full[r * V + i], 1e-5);
      else
        EXPECT_EQ(reduced[r * V + i], -std::numeric_limits<float>::infinity());
    }
}

TEST(DraftVocabulary, RefusesBadLists) {
  const auto model = Model::load(mtp_dir("copy"), 1);
  EXPECT_THROW(DraftVocabulary(*model, {}), std::invalid_argument);
  EXPECT_THROW(DraftVocabulary(*model, {1, 2, 1}), std::invalid_argument);
  EXPECT_THROW(DraftVocabulary(*model, {1, 512}), std::invalid_argument);
  EXPECT_EQ(DraftVocabulary(*model, {5, 6, 7, 8}, 2).ids(), (std::vector<int32_t>{5, 6}));
}

TEST(DraftVocabulary, ListFileRoundTripAndErrors) {
  const std::string path = ::testing::TempDir() + "/draft_vocab_test.txt";
  DraftVocabulary::write_ids(path, {3, 1, 2}, "test");
  EXPECT_EQ(DraftVocabulary::read_ids(path), (std::vector<int32_t>{3, 1, 2}));
  {
    std::ofstream out(path);
    out << "# comment\n\n7\n  8 \nx9\n";
  }
  try {
    DraftVocabulary::read_ids(path);
    FAIL() << "read a line that is not an id";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(":5:"), std::string::npos) << e.what();
  }
  {
    std::ofstream out(path);
    out << "# only a comment\n";
  }
  EXPECT_THROW(DraftVocabulary::read_ids(path), std::runtime_error);
  EXPECT_THROW(DraftVocabulary::read_ids(path + ".missing"), std::runtime_error);
}

}  // namespace
}  // namespace tf
