// The language check on hand-made answers: correct Korean and English pass; kana, Han or
// Cyrillic in Korean are foreign; replacement characters and symbol runs are garbage; a phrase
// repeated to the end is a loop, a phrase said twice is not.
#include <gtest/gtest.h>

#include <string>

#include "tightfit/eval.h"

namespace tightfit::eval {
namespace {

const std::string kKorean =
    "대한민국의 수도는 서울입니다. 서울은 한강을 따라 자리 잡은 도시로, 약 천만 명이 살고 있습니다. "
    "K-pop과 IT 산업의 중심지이기도 합니다.";

TEST(LangClassifier, CorrectKoreanIsOk) {
  const LangVerdict v = classify_text(kKorean, "ko");
  EXPECT_TRUE(v.ok()) << v.foreign_scripts << v.garbage_reason;
  EXPECT_FALSE(v.foreign);
  EXPECT_FALSE(v.garbage);
  EXPECT_FALSE(v.loop);
  EXPECT_GT(v.expected_share, 0.8);  // "K-pop", "IT" are Latin but few
}

TEST(LangClassifier, KanaInKoreanIsForeign) {
  const LangVerdict v = classify_text("서울은 한국의 수도입니다. それは美しい都市です。", "ko");
  EXPECT_TRUE(v.foreign);
  EXPECT_NE(v.foreign_scripts.find("kana"), std::string::npos);
  EXPECT_NE(v.foreign_scripts.find("han"), std::string::npos);
  EXPECT_FALSE(v.ok());
}

TEST(LangClassifier, HanAndCyrillicInKoreanAreForeign) {
  EXPECT_EQ(classify_text("서울은 首都 입니다.", "ko").foreign_scripts, "han");
  EXPECT_EQ(classify_text("서울은 столица 입니다.", "ko").foreign_scripts, "cyrillic");
}

TEST(LangClassifier, HangulInEnglishIsForeign) {
  EXPECT_TRUE(classify_text("The capital is Seoul.", "en").ok());
  EXPECT_EQ(classify_text("The capital is 서울.", "en").foreign_scripts, "hangul");
}

TEST(LangClassifier, ReplacementCharactersAndSymbolRunsAreGarbage) {
  const LangVerdict a = classify_text("서울은 \xEF\xBF\xBD\xEF\xBF\xBD 수도입니다.", "ko");
  EXPECT_TRUE(a.garbage);
  EXPECT_NE(a.garbage_reason.find("U+FFFD"), std::string::npos);
  EXPECT_TRUE(classify_text("서울은 \xC3 수도입니다.", "ko").garbage);  // invalid UTF-8
  EXPECT_TRUE(classify_text("서울은 수도입니다. $%^&()@!$%^&(){}", "ko").garbage);
  // Markdown is not garbage, however many dashes a table rule has.
  EXPECT_FALSE(classify_text("| 도시 | 인구 |\n|------------|------------|\n| 서울 | 천만 |", "ko").garbage);
}

TEST(LangClassifier, RepeatedPhraseAtTheEndIsALoop) {
  std::string looped = "김치는 배추로 만듭니다. ";
  for (int i = 0; i < 6; ++i) looped += "소금을 넣고 섞습니다. ";
  EXPECT_TRUE(classify_text(looped, "ko").loop);
  // Cut in the middle of a repetition (the token limit) is still a loop.
  EXPECT_TRUE(classify_text(looped + "소금을 넣", "ko").loop);
  // Said twice is not.
  EXPECT_FALSE(classify_text("소금을 넣고 섞습니다. 소금을 넣고 섞습니다.", "ko").loop);
  EXPECT_FALSE(classify_text(kKorean, "ko").loop);
}

TEST(LangClassifier, EmptyOrWrongLanguageIsNotOk) {
  EXPECT_FALSE(classify_text("", "ko").ok());
  const LangVerdict english = classify_text("Seoul is the capital of Korea.", "ko");
  EXPECT_FALSE(english.foreign);  // Latin is allowed in Korean text...
  EXPECT_FALSE(english.ok());     // ...but an answer without Hangul is not Korean
}

TEST(LangClassifier, UnknownLanguageIsRefused) { EXPECT_THROW(classify_text("x", "fr"), InvalidRequest); }

}  // namespace
}  // namespace tightfit::eval
