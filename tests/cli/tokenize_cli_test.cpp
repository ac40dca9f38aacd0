// `tightfit tokenize` end to end: every Hugging Face fixture case through --jsonl, the --json
// and table outputs, --decode, --model folders, stdin, and one-line errors with exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_test_support.h"

namespace tf {
namespace {

namespace fs = std::filesystem;

const std::string kData = TIGHTFIT_TEST_DATA;
const std::string kTokenizer = kData + "/tokenizer/qwen3.5-tokenizer.reconstructed.json";

using test::CliResult;
using test::expect_one_line_error;
using test::scratch;

// Runs `tightfit tokenize ARGS` (a shell fragment), optionally feeding `input` on stdin.
CliResult tokenize(const std::string& args, const std::string& input = "") {
  return test::run_cli_line("tokenize " + args, input);
}

TEST(TokenizeCli, JsonlGivesTheFixtureIdsForEveryCase) {
  const CliResult r = tokenize("--tokenizer " + kTokenizer + " --jsonl " + kData + "/tokenizer/cases.jsonl");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream cases(kData + "/tokenizer/cases.jsonl");
  std::istringstream out(r.out);
  std::string expected_line, got_line;
  size_t n = 0;
  while (std::getline(cases, expected_line)) {
    ASSERT_TRUE(std::getline(out, got_line)) << "output ended after " << n << " lines";
    const auto expected = nlohmann::json::parse(expected_line);
    const auto got = nlohmann::json::parse(got_line);
    EXPECT_EQ(got["ids"], expected["ids"]) << expected["id"];
    ++n;
  }
  EXPECT_EQ(n, 396u);
  EXPECT_FALSE(std::getline(out, got_line));
}

TEST(TokenizeCli, JsonOutputHasIdsAndTokens) {
  const CliResult r = tokenize("--tokenizer " + kTokenizer + " --json 'Hello, world!'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"ids\": [9419, 11, 1814, 0], \"tokens\": [\"Hello\", \",\", \"\xC4\xA0world\", \"!\"]}\n");
}

TEST(TokenizeCli, TableShowsIdTokenAndText) {
  const CliResult r = tokenize("--tokenizer " + kTokenizer + " 'Hello world<think>'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "9419\tHello\t\"Hello\"\n1814\t\xC4\xA0world\t\" world\"\n248068\t<think>\t\"<think>\"\n3 tokens\n");
}

TEST(TokenizeCli, TextFromStdinAndModelFolder) {
  const fs::path dir = fs::path(test::fresh_dir("model"));
  fs::create_symlink(kTokenizer, dir / "tokenizer.json");
  const CliResult r = tokenize("--model " + dir.string() + " --json -", "a<|endoftext|>b");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"], nlohmann::json::parse("[64, 248044, 65]"));
  fs::remove_all(dir);
}

TEST(TokenizeCli, DecodePrintsTheText) {
  CliResult r = tokenize("--tokenizer " + kTokenizer + " --decode 9419,11,248046");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello,<|im_end|>\n");
  r = tokenize("--tokenizer " + kTokenizer + " --decode '9419, 11, 248046' --skip-special-tokens --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\": \"Hello,\"}\n");
}

TEST(TokenizeCli, ErrorsAreOneLineWithExitCodes) {
  expect_one_line_error(tokenize("--tokenizer " + kTokenizer), 2, "give exactly one of TEXT, --jsonl FILE or --decode IDS");
  expect_one_line_error(tokenize("--tokenizer " + kTokenizer + " --model /tmp x"), 2, "exactly one of --model DIR or --tokenizer");
  expect_one_line_error(tokenize("--tokenizer " + kTokenizer + " --decode 1,x,3"), 2, "--decode: 'x' is not a token id");
  expect_one_line_error(tokenize("--tokenizer " + kTokenizer + " --decode 9419,999999"), 2,
                        "--decode: token id 999999 is not in the vocabulary");

  const std::string bad = scratch("bad-tokenizer.json");
  std::ofstream(bad) << "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [[\"a\", \"b\"]]}}";
  // A tokenizer.json named with --tokenizer is input: exit 2 (one inside a model folder: 1).
  expect_one_line_error(tokenize("--tokenizer " + bad + " x"), 2, "bad-tokenizer.json: model.merges[0]: token \"b\" is not in the vocabulary");
  std::ofstream(bad) << "{\"model\": ";
  expect_one_line_error(tokenize("--tokenizer " + bad + " x"), 2, "bad-tokenizer.json is not valid JSON");

  const CliResult r = tokenize("--tokenizer " + kTokenizer + " --jsonl -", "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  EXPECT_EQ(r.code, 2);  // bad input
  EXPECT_EQ(r.out, "{\"ids\": [547]}\n");  // lines before the bad one were written
  EXPECT_NE(r.err.find("- line 2 has no string field \"text\""), std::string::npos) << r.err;

  test::fresh_dir("empty");
  expect_one_line_error(tokenize("--model " + scratch("empty") + " x"), 1, "has no tokenizer.json");
  fs::remove_all(scratch("empty"));
}

}  // namespace
}  // namespace tf
