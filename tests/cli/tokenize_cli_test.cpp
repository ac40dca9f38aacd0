// `tightfit tokenize` end to end: every Hugging Face fixture case through --jsonl, the --json
// and table outputs, --decode, --model folders, stdin, and one-line errors with exit codes.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tf {
namespace {

namespace fs = std::filesystem;

const std::string kData = TIGHTFIT_TEST_DATA;
const std::string kTokenizer = kData + "/tokenizer/qwen3.5-tokenizer.reconstructed.json";

// A scratch path unique to this test and process (ctest -j and other build trees run at once).
std::string scratch(const std::string& name) {
  return testing::TempDir() + "/tf-" + testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
         std::to_string(getpid()) + "-" + name;
}

struct CliRun {
  int code;
  std::string out, err;
};

// Runs `tightfit tokenize ARGS` (a shell fragment), optionally feeding `input` on stdin.
CliRun tokenize(const std::string& args, const std::string& input = "") {
  const std::string in_path = scratch("stdin.txt"), err_path = scratch("stderr.txt");
  std::ofstream(in_path, std::ios::binary) << input;
  const std::string cmd = std::string(TIGHTFIT_BINARY) + " tokenize " + args + " <" + in_path + " 2>" + err_path;
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  std::ifstream e(err_path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, std::string(std::istreambuf_iterator<char>(e), {})};
}

void expect_one_line_error(const CliRun& r, int code, const std::string& needle) {
  EXPECT_EQ(r.code, code) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "'" << needle << "' not in " << r.err;
}

TEST(TokenizeCli, JsonlGivesTheFixtureIdsForEveryCase) {
  const CliRun r = tokenize("--tokenizer " + kTokenizer + " --jsonl " + kData + "/tokenizer/cases.jsonl");
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
  const CliRun r = tokenize("--tokenizer " + kTokenizer + " --json 'Hello, world!'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"ids\": [9419, 11, 1814, 0], \"tokens\": [\"Hello\", \",\", \"\xC4\xA0world\", \"!\"]}\n");
}

TEST(TokenizeCli, TableShowsIdTokenAndText) {
  const CliRun r = tokenize("--tokenizer " + kTokenizer + " 'Hello world<think>'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "9419\tHello\t\"Hello\"\n1814\t\xC4\xA0world\t\" world\"\n248068\t<think>\t\"<think>\"\n3 tokens\n");
}

TEST(TokenizeCli, TextFromStdinAndModelFolder) {
  const fs::path dir = fs::path(scratch("model"));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_symlink(kTokenizer, dir / "tokenizer.json");
  const CliRun r = tokenize("--model " + dir.string() + " --json -", "a<|endoftext|>b");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"], nlohmann::json::parse("[64, 248044, 65]"));
  fs::remove_all(dir);
}

TEST(TokenizeCli, DecodePrintsTheText) {
  CliRun r = tokenize("--tokenizer " + kTokenizer + " --decode 9419,11,248046");
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

  const std::string bad = scratch("bad-tokenizer.json");
  std::ofstream(bad) << "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [[\"a\", \"b\"]]}}";
  expect_one_line_error(tokenize("--tokenizer " + bad + " x"), 1, "bad-tokenizer.json: model.merges[0]: token \"b\" is not in the vocabulary");
  std::ofstream(bad) << "{\"model\": ";
  expect_one_line_error(tokenize("--tokenizer " + bad + " x"), 1, "bad-tokenizer.json is not valid JSON");

  const CliRun r = tokenize("--tokenizer " + kTokenizer + " --jsonl -", "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "{\"ids\": [547]}\n");  // lines before the bad one were written
  EXPECT_NE(r.err.find("- line 2 has no string field \"text\""), std::string::npos) << r.err;

  fs::create_directories(scratch("empty"));
  expect_one_line_error(tokenize("--model " + scratch("empty") + " x"), 1, "has no tokenizer.json");
  fs::remove_all(scratch("empty"));
}

}  // namespace
}  // namespace tf
