// `tightfit generate --image` and `chat`'s /image on the embedded random-weight VL model
// (models/tiny-random-vl): image tokens in the prompt count, determinism, several images, and
// every image error as one line with exit code 2.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include <stb_image_write.h>

#include "cli_test_support.h"

namespace tf {
namespace {

using test::CliResult;
using test::run_cli;

const std::string kRoot = std::string(TIGHTFIT_TEST_DATA) + "/../..";
const std::string kVlModel = kRoot + "/models/tiny-random-vl";
const std::string kTextModel = kRoot + "/models/tiny-random";
const std::string kImg64 = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl/img64x64.png";
const std::string kImg96 = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl/img96x64.png";
const std::string kNoEos = "511:-1000,499:-1000";  // tiny tokenizer's end ids

CliResult generate(const std::string& model, std::vector<std::string> args) {
  args.insert(args.begin(), {"generate", "--model", model, "--threads", "1"});
  return run_cli(args);
}

// "prompt: N tokens" from the stats line; -1 when absent.
int prompt_tokens(const std::string& err) {
  std::smatch m;
  if (!std::regex_search(err, m, std::regex(R"(prompt: (\d+) tokens)"))) return -1;
  return std::stoi(m[1]);
}

TEST(ImageCli, GenerateWithAnImageCountsItsTokens) {
  const std::vector<std::string> common = {"--prompt", "Describe", "--max-tokens", "4", "--seed",
                                           "3", "--logit-bias", kNoEos};
  auto with = [&](std::vector<std::string> images) {
    std::vector<std::string> args;
    for (const auto& i : images) args.insert(args.end(), {"--image", i});
    args.insert(args.end(), common.begin(), common.end());
    return generate(kVlModel, args);
  };
  const CliResult none = with({}), a = with({kImg64}), b = with({kImg96}),
                  both = with({kImg64, kImg96});
  for (const CliResult* r : {&none, &a, &b, &both}) ASSERT_EQ(r->code, 0) << r->err;
  const int n = prompt_tokens(none.err);
  ASSERT_GT(n, 0) << none.err;
  // <|vision_start|> + N × <|image_pad|> + <|vision_end|>: N = 4 (64×64) and 6 (96×64).
  EXPECT_EQ(prompt_tokens(a.err), n + 6) << a.err;
  EXPECT_EQ(prompt_tokens(b.err), n + 8) << b.err;
  EXPECT_EQ(prompt_tokens(both.err), n + 14) << both.err;
  EXPECT_TRUE(std::regex_search(a.err, std::regex(R"(generation: 4 tokens)"))) << a.err;
  // Same seed, same image: the same text.
  const CliResult again = with({kImg64});
  EXPECT_EQ(again.out, a.out);
}

TEST(ImageCli, RawPromptsNeedOnePlaceholderPerImage) {
  const CliResult ok = generate(
      kVlModel, {"--raw", "--prompt", "<|vision_start|><|image_pad|><|vision_end|>Hi", "--image",
                 kImg64, "--max-tokens", "2"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(prompt_tokens(ok.err), 1 + 4 + 1 + 2) << ok.err;  // "Hi" is two byte tokens
  const CliResult bad =
      generate(kVlModel, {"--raw", "--prompt", "Hi", "--image", kImg64, "--max-tokens", "2"});
  test::expect_one_line_error(bad, 2, "placeholders");
}

TEST(ImageCli, ImageErrorsExitWithCode2AndOneLine) {
  const std::string corrupt = test::write_file(test::scratch("corrupt.png"),
                                               "\x89PNG\r\n\x1a\n this is not really a PNG");
  const std::string thin = test::scratch("thin.png");
  std::vector<uint8_t> pixels(1 * 250 * 3, 128);
  ASSERT_TRUE(stbi_write_png(thin.c_str(), 250, 1, 3, pixels.data(), 250 * 3));
  struct Case {
    std::string model, image, needle;
  };
  const std::vector<Case> cases = {
      {kVlModel, "/no/such/cat.png", "/no/such/cat.png"},
      {kVlModel, corrupt, "corrupt.png"},
      {kVlModel, thin, "aspect ratio"},
      {kTextModel, kImg64, "text-only model"},
  };
  for (const Case& c : cases) {
    const CliResult r = generate(c.model, {"--prompt", "x", "--image", c.image, "--max-tokens", "2"});
    SCOPED_TRACE(c.image);
    test::expect_one_line_error(r, 2, c.needle);
  }
}

TEST(ImageCli, ChatAttachesAnImageToTheNextMessage) {
  const CliResult r = run_cli({"chat", "--model", kVlModel, "--threads", "1", "--max-tokens", "3",
                               "--seed", "1", "--logit-bias", kNoEos},
                              "/image " + kImg64 + "\nDescribe it\nAnd now?\n/image /no/such.png\n/exit\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("4 tokens, sent with your next message"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/no/such.png"), std::string::npos) << r.err;
  // The second turn reuses the first (image included) instead of prefilling it again.
  std::smatch m;
  EXPECT_TRUE(std::regex_search(r.err, m, std::regex(R"(reused: (\d+) tokens)"))) << r.err;
  const CliResult text_only = run_cli({"chat", "--model", kTextModel, "--threads", "1"},
                                      "/image " + kImg64 + "\n/exit\n");
  EXPECT_EQ(text_only.code, 0);
  EXPECT_NE(text_only.err.find("text-only model"), std::string::npos) << text_only.err;
}

}  // namespace
}  // namespace tf
