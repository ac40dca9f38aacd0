// Multiple choice: each task's prompt is the harness's format exactly; acc / acc_norm / mc2 on
// hand-checked log-likelihoods; bad rows are refused naming the field; on the tiny model each
// choice's log-likelihood equals the sum computed by hand from one score() of the whole request.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/engine_test_util.h"
#include "tightfit/eval.h"

namespace tightfit::eval {
namespace {

const std::string kData = std::string(TIGHTFIT_TEST_DATA) + "/eval";

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

TEST(McFormats, ArcQuestionAnswer) {
  const McItem item = parse_mc_item(McTask::arc, lines(kData + "/arc.jsonl")[0]);
  ASSERT_EQ(item.choices.size(), 4u);
  EXPECT_EQ(item.choices[1].context, "Question: Which gas do plants take in from the air to make their food?\nAnswer:");
  EXPECT_EQ(item.choices[1].continuation, " carbon dioxide");
  EXPECT_EQ(item.gold, 1);
  EXPECT_EQ(parse_mc_item(McTask::arc, lines(kData + "/arc.jsonl")[2]).gold, 2);  // labels "1".."3"
}

TEST(McFormats, HellaswagPreprocessing) {
  const McItem a = parse_mc_item(McTask::hellaswag, lines(kData + "/hellaswag.jsonl")[0]);
  // activity_label + ": " + ctx_a + " " + ctx_b.capitalize()
  EXPECT_EQ(a.choices[0].context, "Making tea: A woman fills a kettle with water and puts it on the stove. She");
  EXPECT_EQ(a.choices[0].continuation, " waits for the water to boil and pours it over a tea bag.");
  EXPECT_EQ(a.gold, 0);
  // " [title]" becomes ". ", other [tags] are dropped, double spaces collapse, ends stripped.
  const McItem b = parse_mc_item(McTask::hellaswag, lines(kData + "/hellaswag.jsonl")[2]);
  EXPECT_EQ(b.choices[0].context, "Home and Garden: How to water a houseplant. Check the soil.");
  // The harness strips before it drops "[step]", so the ending keeps the space that followed
  // the tag, and the continuation starts with two spaces, as the harness scores it.
  EXPECT_EQ(b.choices[0].continuation, "  Push a finger into the soil to see if it is dry.");
}

TEST(McFormats, WinograndePartialEvaluation) {
  const McItem item = parse_mc_item(McTask::winogrande, lines(kData + "/winogrande.jsonl")[0]);
  ASSERT_EQ(item.choices.size(), 2u);
  EXPECT_EQ(item.choices[0].context, "The trophy would not fit in the suitcase because the trophy");
  EXPECT_EQ(item.choices[1].context, "The trophy would not fit in the suitcase because the suitcase");
  EXPECT_EQ(item.choices[0].continuation, " was too big.");
  EXPECT_EQ(item.choices[1].continuation, " was too big.");
  EXPECT_EQ(item.gold, 0);
}

TEST(McFormats, MmluLettersWithSubjectDescription) {
  const McItem item = parse_mc_item(McTask::mmlu, lines(kData + "/mmlu.jsonl")[0]);
  EXPECT_EQ(item.choices[0].context,
            "The following are multiple choice questions (with answers) about elementary mathematics.\n\n"
            "What is 7 multiplied by 8?\nA. 54\nB. 56\nC. 64\nD. 48\nAnswer:");
  EXPECT_EQ(item.choices[2].continuation, " C");
  EXPECT_EQ(item.gold, 1);
}

TEST(McFormats, TruthfulQaMc2) {
  const McItem item = parse_mc_item(McTask::truthfulqa_mc2, lines(kData + "/truthfulqa-mc2.jsonl")[0]);
  ASSERT_EQ(item.choices.size(), 4u);
  EXPECT_EQ(item.labels, (std::vector<int>{1, 1, 0, 0}));
  const std::string& c = item.choices[0].context;
  EXPECT_EQ(c.rfind("Q: What is human life expectancy in the United States?\n", 0), 0u);
  EXPECT_NE(c.find("Barcelona, Spain.\n\nQ: What happens if you swallow chewing gum?\nA:"), std::string::npos);
}

TEST(McFormats, CustomUsesTheContextAsGiven) {
  const McItem item = parse_mc_item(McTask::custom, R"({"context": "Q: Capital of France?\nA:", "choices": ["Rome", "Paris"], "answer": 1})");
  ASSERT_EQ(item.choices.size(), 2u);
  EXPECT_EQ(item.choices[0].context, "Q: Capital of France?\nA:");
  EXPECT_EQ(item.choices[1].continuation, " Paris");
  EXPECT_EQ(item.gold, 1);
  EXPECT_EQ(mc_task_named("custom"), McTask::custom);
  EXPECT_STREQ(to_string(McTask::custom), "custom");
  EXPECT_THROW(parse_mc_item(McTask::custom, R"({"context": "q", "choices": ["a", "b"], "answer": 2})"), InvalidRequest);
  EXPECT_THROW(parse_mc_item(McTask::custom, R"({"context": "q", "choices": ["a"], "answer": 0})"), InvalidRequest);
  EXPECT_THROW(parse_mc_item(McTask::custom, R"({"choices": ["a", "b"], "answer": 0})"), InvalidRequest);
}

TEST(McFormats, BadRowsNameTheField) {
  try {
    parse_mc_item(McTask::arc, R"({"question": "q", "choices": {"text": ["a"], "label": ["A"]}})");
    FAIL();
  } catch (const InvalidRequest& e) {
    EXPECT_NE(std::string(e.what()).find("answerKey"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_mc_item(McTask::arc, "{not json"), InvalidRequest);
  EXPECT_THROW(parse_mc_item(McTask::arc, R"([1, 2])"), InvalidRequest);
  EXPECT_THROW(parse_mc_item(McTask::winogrande, R"({"sentence": "no blank", "option1": "a", "option2": "b", "answer": "1"})"),
               InvalidRequest);
  EXPECT_THROW(parse_mc_item(McTask::mmlu, R"({"question": "q", "choices": ["a", "b"], "answer": 0})"), InvalidRequest);
  EXPECT_THROW(parse_mc_item(McTask::hellaswag,
                             R"({"activity_label": "a", "ctx_a": "b", "ctx_b": "c", "endings": ["x", "y"], "label": "7"})"),
               InvalidRequest);
  EXPECT_THROW(mc_task_named("boolq"), InvalidRequest);
}

// Hand-checked: ll = [-4, -6, -9] over choices of 2, 6 and 9 characters. acc picks choice 0
// (-4 is largest); acc_norm compares -2, -1, -1 and picks choice 1 (first of the tie).
TEST(McScoring, AccAndAccNormOnKnownLogLikelihoods) {
  McItem item;
  item.choices = {{"Q", " ab"}, {"Q", " abcdef"}, {"Q", " abcdefghi"}};
  item.choice_texts = {"ab", "abcdef", "abcdefghi"};
  item.gold = 1;
  const McItemScore s = score_mc_item(item, {-4, -6, -9});
  EXPECT_EQ(s.prediction, 0);
  EXPECT_EQ(s.prediction_norm, 1);
  EXPECT_EQ(s.acc, 0);
  EXPECT_EQ(s.acc_norm, 1);
  // Length counts characters, not bytes: "가나" is 2 characters (6 bytes).
  item.choice_texts = {"가나", "abcdef", "abcdefghi"};
  EXPECT_EQ(score_mc_item(item, {-4, -6, -9}).prediction_norm, 1);
}

TEST(McScoring, Mc2IsTheProbabilityMassOfTrueAnswers) {
  McItem item;
  item.choices = {{"Q", " a"}, {"Q", " b"}, {"Q", " c"}};
  item.choice_texts = {"a", "b", "c"};
  item.labels = {1, 0, 0};
  const McItemScore s = score_mc_item(item, {std::log(0.2), std::log(0.1), std::log(0.1)});
  EXPECT_NEAR(s.acc, 0.5, 1e-12);  // 0.2 / (0.2 + 0.1 + 0.1)
}

TEST(McScoring, LogLikelihoodsEqualScoreOfTheWholeRequest) {
  auto engine = test::tiny_engine();
  const McItem item = parse_mc_item(McTask::arc, lines(kData + "/arc.jsonl")[0]);
  const std::vector<double> ll = choice_loglikelihoods(*engine, item);
  ASSERT_EQ(ll.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    // By hand: context "Question: ...\nAnswer:" has no trailing space, so it is encoded alone and
    // the continuation is what the whole string adds.
    const auto whole = engine->encode(item.choices[i].context + item.choices[i].continuation);
    const auto context = engine->encode(item.choices[i].context);
    double expected = 0;
    engine->score(whole, 0, [&](int64_t row, std::span<const float> logits) {
      if (row + 1 >= static_cast<int64_t>(context.size()) && row + 1 < static_cast<int64_t>(whole.size()))
        expected += logits[whole[row + 1]] - log_sum_exp(logits);
    });
    EXPECT_NEAR(ll[i], expected, 1e-3 * std::abs(expected) + 1e-3) << "choice " << i;
    EXPECT_LT(ll[i], 0);
  }
  const McResult r = evaluate_mc(*engine, McTask::arc, {item, item});
  EXPECT_EQ(r.items, 2);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.acc(), r.scores[0].acc);
}

TEST(McScoring, SharedPrefixGivesTheUnsharedLogLikelihoods) {
  // Every task file: the choices' common tokens run once (Engine::score_continuations) or each
  // choice is scored whole; winogrande's contexts differ per choice, the others' are equal.
  auto engine = test::tiny_engine({.prefill_chunk = 16});
  for (const McTask task : {McTask::arc, McTask::hellaswag, McTask::winogrande, McTask::mmlu, McTask::truthfulqa_mc2}) {
    const std::string file = kData + "/" + to_string(task) + ".jsonl";
    for (const std::string& line : lines(file)) {
      const McItem item = parse_mc_item(task, line);
      const std::vector<double> shared = choice_loglikelihoods(*engine, item, true);
      const std::vector<double> whole = choice_loglikelihoods(*engine, item, false);
      ASSERT_EQ(shared.size(), whole.size());
      for (size_t i = 0; i < shared.size(); ++i)
        EXPECT_NEAR(shared[i], whole[i], 1e-4 * std::abs(whole[i]) + 1e-4) << file << " choice " << i;
      EXPECT_EQ(score_mc_item(item, shared).prediction, score_mc_item(item, whole).prediction) << file;
    }
  }
}

}  // namespace
}  // namespace tightfit::eval
