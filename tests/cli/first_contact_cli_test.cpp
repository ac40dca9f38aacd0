// What a newcomer types first (issue 19, items 5-9 and 11): mlx-lm / mlx-vlm / llama.cpp
// spellings as aliases, unknown flags listed with suggestions, --model as a Hugging Face repo id
// in every subcommand that reads a model, one exit-code convention, images checked against the
// context before the vision tower runs, reasoning cut short still closed (or explained), and
// chat's --image / --verbose.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <stb_image_write.h>

#include "cli_test_support.h"

namespace tf {
namespace {

namespace fs = std::filesystem;
using test::CliResult;
using test::run_cli;

const std::string kRoot = std::string(TIGHTFIT_TEST_DATA) + "/../..";
const std::string kModel = kRoot + "/models/tiny-random";
const std::string kVlModel = kRoot + "/models/tiny-random-vl";
const std::string kHfModel = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a";  // bf16 HF layout
const std::string kImg64 = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl/img64x64.png";
const std::string kImg96 = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-vl/img96x64.png";
const std::string kNoEos = "511:-1000,499:-1000";  // the tiny tokenizer's end ids
const std::string kNoThinkEnd = kNoEos + ",510:-1000";  // ... and "</think>" (id 510)

std::vector<std::string> with(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// --- item 9: exit codes ----------------------------------------------------------------------

TEST(FirstContactCli, UsageErrorsSayHelpAndBadInputDoesNot) {
  // The command line itself is wrong: exit 2 with "(see --help)".
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"generate", "--model", kModel, "--prompt", "x", "--no-such-flag"},
        std::vector<std::string>{"generate", "--model", kModel, "--prompt", "x", "--max-tokens", "0"},
        std::vector<std::string>{"tokenize", "--model", kModel}}) {
    const CliResult r = run_cli(args);
    test::expect_one_line_error(r, 2, "(see --help)");
  }
  // What the flags name cannot be used: exit 2, one line, no "(see --help)".
  const std::string out_parent = test::fresh_dir("models");
  const std::string input = out_parent + "/hf";
  fs::copy(kHfModel, input);
  const std::string bad_recipe = test::write_file(test::scratch("recipe.json"), "{\"rules\": [");
  const std::vector<std::vector<std::string>> bad_input = {
      {"generate", "--model", "/no/such/model", "--prompt", "x"},
      {"generate", "--model", kModel, "--prompt", "x", "--image", "/no/such/cat.png"},
      {"generate", "--model", kModel, "--prompt", "x", "--logit-bias", "9999:1"},
      {"logits", "--model", kModel, "--tokens", "1,512"},
      {"convert", "--hf", input, "--out", out_parent, "--recipe", "uniform-3"},
      {"convert", "--hf", input, "--dry-run", "--recipe", "uniform-9"},
      {"convert", "--hf", input, "--dry-run", "--recipe", bad_recipe},
      {"inspect", "/no/such/model"},
  };
  for (const auto& args : bad_input) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    SCOPED_TRACE(joined);
    const CliResult r = run_cli(args);
    test::expect_one_line_error(r, 2, "tightfit: error: ");
    EXPECT_EQ(r.err.find("see --help"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(fs::exists(input + "/config.json"));  // refused, nothing touched
}

TEST(FirstContactCli, AModelThatCannotBeReadIsARuntimeFailureEverywhere) {
  // A truncated weights file, then a config.json that is not JSON: exit 1 and one line without
  // "(see --help)" in every subcommand that reads the model (the flags are right; the model is
  // broken).
  const std::string broken = test::fresh_dir("broken-model");
  fs::copy(kModel, broken, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  fs::remove(broken + "/model.safetensors");
  test::write_file(broken + "/model.safetensors", std::string(1000, '\x10'));
  for (const bool bad_config : {false, true}) {
    if (bad_config) {
      fs::copy_file(kModel + "/model.safetensors", broken + "/model.safetensors",
                    fs::copy_options::overwrite_existing);
      test::write_file(broken + "/config.json", "{\"model_type\": ");
    }
    for (const std::vector<std::string>& args : {
             std::vector<std::string>{"generate", "--model", broken, "--prompt", "x", "-t", "1"},
             std::vector<std::string>{"chat", "--model", broken, "-t", "1"},
             std::vector<std::string>{"logits", "--model", broken, "--tokens", "1", "-t", "1"},
             std::vector<std::string>{"inspect", broken},
         }) {
      SCOPED_TRACE(args[0] + (bad_config ? " (config.json)" : " (weights)"));
      const CliResult r = run_cli(args, "Hi\n");
      test::expect_one_line_error(r, 1, "tightfit: error: " + broken);
      EXPECT_EQ(r.err.find("see --help"), std::string::npos) << r.err;
    }
  }
}

// --- item 5: aliases and unknown flags -------------------------------------------------------

TEST(FirstContactCli, MlxAndLlamaCppSpellingsAreAliases) {
  const std::vector<std::string> base = {"generate", "--model", kModel, "--prompt", "Hi"};
  const CliResult canonical =
      run_cli(with(base, {"--temp", "0.7", "--seed", "5", "--max-tokens", "6", "--threads", "1",
                          "--system", "Be brief.", "--logit-bias", kNoEos, "--stop", "STOPA",
                          "--stop", "STOPB"}));
  ASSERT_EQ(canonical.code, 0) << canonical.err;
  const CliResult aliases =
      run_cli(with(base, {"--temperature", "0.7", "-s", "5", "-n", "6", "-t", "1",
                          "--system-prompt", "Be brief.", "--logit-bias", kNoEos, "--stop", "STOPA",
                          "STOPB"}));
  ASSERT_EQ(aliases.code, 0) << aliases.err;
  EXPECT_EQ(aliases.out, canonical.out);
  EXPECT_NE(canonical.err.find("generation: 6 tokens"), std::string::npos) << canonical.err;

  const CliResult raw = run_cli(with(base, {"--raw", "--max-tokens", "3", "--temp", "0", "-t", "1"}));
  const CliResult ignore = run_cli(
      with(base, {"--ignore-chat-template", "--max-tokens", "3", "--temp", "0", "-t", "1"}));
  ASSERT_EQ(raw.code, 0) << raw.err;
  EXPECT_EQ(ignore.out, raw.out);
  EXPECT_EQ(ignore.code, 0) << ignore.err;
}

TEST(FirstContactCli, ContextSizeAsLlamaCppSpellsIt) {
  // -c / --ctx-size / --context bound the conversation, as `llama-cli -c` does.
  const std::vector<std::string> base = {"generate", "--model", kModel, "--prompt", "Hi", "-n", "2",
                                         "-t", "1", "--seed", "1"};
  for (const char* flag : {"-c", "--ctx-size", "--context"}) {
    SCOPED_TRACE(flag);
    test::expect_one_line_error(run_cli(with(base, {flag, "8"})), 2, "fills the context of 8 tokens");
    const CliResult roomy = run_cli(with(base, {flag, "64"}));
    EXPECT_EQ(roomy.code, 0) << roomy.err;
    EXPECT_EQ(roomy.out, run_cli(base).out);
  }
  for (const char* bad : {"0", "-5"})
    test::expect_one_line_error(run_cli(with(base, {"-c", bad})), 2,
                                std::string("--ctx-size must be a positive number of tokens, got ") + bad);
  test::expect_one_line_error(run_cli({"chat", "--model", kModel, "-c", "0"}, "Hi\n"), 2, "--ctx-size");
}

TEST(FirstContactCli, SeveralImagesAfterOneFlag) {
  const std::vector<std::string> base = {"generate", "--model", kVlModel, "--prompt", "Describe",
                                         "--max-tokens", "3", "--seed", "2", "-t", "1",
                                         "--logit-bias", kNoEos};
  const CliResult repeated = run_cli(with(base, {"--image", kImg64, "--image", kImg96}));
  const CliResult one_flag = run_cli(with(base, {"--image", kImg64, kImg96}));
  ASSERT_EQ(repeated.code, 0) << repeated.err;
  ASSERT_EQ(one_flag.code, 0) << one_flag.err;
  EXPECT_EQ(one_flag.out, repeated.out);
  EXPECT_NE(one_flag.err.find("vision: 2 images"), std::string::npos) << one_flag.err;
}

TEST(FirstContactCli, UnknownFlagsAreAllListedInOrderWithSuggestions) {
  const CliResult r = run_cli({"generate", "--model", kModel, "--prompt", "x", "--temperatur",
                               "0.5", "--bogus", "-z", "--max-token", "3"});
  test::expect_one_line_error(r, 2, "(see --help)");
  const size_t a = r.err.find("--temperatur (did you mean --temperature?)");
  const size_t b = r.err.find("--bogus");
  const size_t c = r.err.find("-z");
  const size_t d = r.err.find("--max-token (did you mean --max-tokens?)");
  ASSERT_NE(a, std::string::npos) << r.err;
  ASSERT_NE(d, std::string::npos) << r.err;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_EQ(r.err.find("--bogus (did you mean"), std::string::npos) << r.err;  // nothing close
  EXPECT_EQ(r.err.find("0.5"), std::string::npos) << r.err;  // the unknown flag's value

  // A typo of a required flag names the typo, not only the missing flag; the same code in every
  // subcommand, and for the subcommand itself.
  test::expect_one_line_error(run_cli({"tokenize", "--modle", kModel, "Hi"}), 2,
                              "--modle (did you mean --model?)");
  test::expect_one_line_error(run_cli({"convert", "--hff", kHfModel, "--dry-run"}), 2,
                              "--hff (did you mean --hf?)");
  test::expect_one_line_error(run_cli({"generat", "--model", kModel}), 2,
                              "unknown command generat (did you mean generate?)");
}

// --- item 6: --model as a repo id everywhere -------------------------------------------------

// A Hugging Face cache (hub_cache.h's layout) holding `folder` as `repo_id` at main, used
// offline through HF_HUB_CACHE for the lifetime of the object.
class CachedRepo {
 public:
  CachedRepo(const std::string& cache, const std::string& repo_id, const std::string& folder) {
    const std::string commit(40, 'a');
    std::string name = "models--" + repo_id;
    name.replace(name.find('/'), 1, "--");
    fs::create_directories(cache + "/" + name + "/refs");
    fs::create_directories(cache + "/" + name + "/snapshots");
    std::ofstream(cache + "/" + name + "/refs/main") << commit;
    fs::copy(folder, cache + "/" + name + "/snapshots/" + commit, fs::copy_options::recursive);
    setenv("HF_HUB_CACHE", cache.c_str(), 1);
    setenv("HF_HUB_OFFLINE", "1", 1);
  }
  ~CachedRepo() {
    unsetenv("HF_HUB_CACHE");
    unsetenv("HF_HUB_OFFLINE");
  }
};

TEST(FirstContactCli, EverySubcommandTakesARepoIdWithOneErrorMessage) {
  const std::string cache = test::fresh_dir("hub");
  CachedRepo chat_model(cache, "tiny/random", kModel);
  CachedRepo hf_model(cache, "tiny/hf", kHfModel);

  const CliResult by_path = run_cli({"tokenize", "--model", kModel, "Hello world"});
  const CliResult by_repo = run_cli({"tokenize", "--model", "tiny/random", "Hello world"});
  ASSERT_EQ(by_repo.code, 0) << by_repo.err;
  EXPECT_EQ(by_repo.out, by_path.out);
  for (const std::vector<std::string>& args : {
           std::vector<std::string>{"inspect", "tiny/random"},
           std::vector<std::string>{"inspect", "--model", "tiny/random@main"},
           std::vector<std::string>{"logits", "--model", "tiny/random", "--tokens", "1,2", "-t", "1"},
           std::vector<std::string>{"sensitivity", "--model", "tiny/hf", "--calib",
                                    kHfModel + "/tokens.json", "--tokens", "8", "-t", "1"},
           std::vector<std::string>{"convert", "--hf", "tiny/hf", "--dry-run"},
           std::vector<std::string>{"generate", "-m", "tiny/random", "-p", "Hi", "-n", "2", "-t", "1"},
       }) {
    std::string command;
    for (const std::string& a : args) command += a + " ";
    SCOPED_TRACE(command);
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.code, 0) << r.err;
  }
  // A repo that is neither cached nor reachable (offline): the same message after the flag.
  std::string first_message;
  for (const std::vector<std::string>& args : {
           std::vector<std::string>{"tokenize", "--model", "no/such", "Hi"},
           std::vector<std::string>{"logits", "--model", "no/such", "--tokens", "1"},
           std::vector<std::string>{"inspect", "--model", "no/such"},
           std::vector<std::string>{"generate", "--model", "no/such", "--prompt", "x"},
           std::vector<std::string>{"convert", "--hf", "no/such", "--dry-run"},
       }) {
    const CliResult r = run_cli(args);
    SCOPED_TRACE(args[0]);
    test::expect_one_line_error(r, 2, " no/such: ");
    const std::string message = r.err.substr(r.err.find(" no/such: "));
    if (first_message.empty()) first_message = message;
    EXPECT_EQ(message, first_message);
  }
}

// --- item 8: reasoning cut short -------------------------------------------------------------

TEST(FirstContactCli, ReasoningCutShortIsClosedOrExplained) {
  // "</think>" banned: four tokens never leave the reasoning.
  const std::vector<std::string> args = {"generate", "--model", kModel, "--prompt", "Why?",
                                         "--max-tokens", "4", "--seed", "1", "-t", "1",
                                         "--logit-bias", kNoThinkEnd};
  const CliResult piped = run_cli(args);
  ASSERT_EQ(piped.code, 0) << piped.err;
  EXPECT_EQ(piped.out.rfind("<think>\n", 0), 0u) << piped.out;
  ASSERT_GE(piped.out.size(), 10u);
  EXPECT_EQ(piped.out.substr(piped.out.size() - 10), "\n</think>\n") << piped.out;

  // Ctrl-C inside the reasoning: closed as well, and exit code 130.
  test::ChildProcess child({"generate", "--model", kModel, "--prompt", "Why?", "--max-tokens",
                            "4000", "--no-loop-guard", "--seed", "1", "-t", "1", "--logit-bias",
                            kNoThinkEnd});
  ASSERT_TRUE(child.read_past(std::string("<think>\n").size(), 60)) << child.err();
  child.signal_child(SIGINT);
  EXPECT_EQ(child.finish(), 130) << child.err();
  ASSERT_GE(child.out().size(), 10u);
  EXPECT_EQ(child.out().substr(child.out().size() - 10), "\n</think>\n") << child.out();

  const CliResult hidden = run_cli(with(args, {"--hide-thinking"}));
  ASSERT_EQ(hidden.code, 0) << hidden.err;
  EXPECT_EQ(hidden.out, "");
  EXPECT_NE(hidden.err.find("no answer to show: it reached the limit of 4 tokens inside the "
                            "reasoning"),
            std::string::npos)
      << hidden.err;
}

// --- item 7: images against the context, before the vision tower -----------------------------

// A copy of the tiny VL model whose context is only `context` tokens.
std::string vl_model_with_context(int context) {
  const std::string dir = test::fresh_dir("vl-small-context");
  fs::copy(kVlModel, dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  nlohmann::json config = nlohmann::json::parse(test::read_file(dir + "/config.json"));
  config["text_config"]["max_position_embeddings"] = context;
  test::write_file(dir + "/config.json", config.dump(2));
  return dir;
}

TEST(FirstContactCli, ImagesAreCheckedAgainstTheContextBeforeEncoding) {
  const std::string model = vl_model_with_context(64);
  // 512×512 is 256 image tokens here (32-pixel blocks): four times the context.
  const std::string big = test::scratch("big.png");
  std::vector<uint8_t> pixels(512 * 512 * 3, 90);
  ASSERT_TRUE(stbi_write_png(big.c_str(), 512, 512, 3, pixels.data(), 512 * 3));
  const std::vector<std::string> base = {"generate", "--model", model, "--prompt", "What?",
                                         "--image", big, "--max-tokens", "2", "-t", "1",
                                         "--logit-bias", kNoEos};
  const CliResult too_big = run_cli(base);
  test::expect_one_line_error(too_big, 2, "images: 256");
  EXPECT_NE(too_big.err.find("--max-pixels"), std::string::npos) << too_big.err;

  // --max-pixels caps the resize (64×64: 4 tokens), and the stats line times the vision tower.
  const CliResult capped = run_cli(with(base, {"--max-pixels", "4096"}));
  ASSERT_EQ(capped.code, 0) << capped.err;
  EXPECT_TRUE(std::regex_search(capped.err, std::regex(R"(vision: 1 image, [0-9.]+ s \| prompt: )")))
      << capped.err;
  // --resize-shape H W resizes first: 64×96 is 6 tokens instead of 4.
  const CliResult shaped = run_cli(with(base, {"--max-pixels", "8192", "--resize-shape", "64", "96",
                                               "--verbose"}));
  ASSERT_EQ(shaped.code, 0) << shaped.err;
  const CliResult square = run_cli(with(base, {"--max-pixels", "8192", "--resize-shape", "64",
                                               "--verbose"}));
  ASSERT_EQ(square.code, 0) << square.err;
  std::smatch a, b;
  ASSERT_TRUE(std::regex_search(shaped.err, a, std::regex(R"(prompt: (\d+) tokens, )"))) << shaped.err;
  ASSERT_TRUE(std::regex_search(square.err, b, std::regex(R"(prompt: (\d+) tokens, )"))) << square.err;
  EXPECT_EQ(std::stoi(a[1]), std::stoi(b[1]) + 2);
  test::expect_one_line_error(run_cli(with(base, {"--max-pixels", "10"})), 2, "--max-pixels");
}

// --- item 11: chat --image, chat --verbose ---------------------------------------------------

TEST(FirstContactCli, ChatTakesImagesAtStartAndVerbose) {
  const CliResult r = run_cli({"chat", "--model", kVlModel, "-t", "1", "-n", "3", "--seed", "1",
                               "--logit-bias", kNoEos, "--image", kImg64, "-v"},
                              "Describe it\n/exit\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("(1 image sent with your first message)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sampling: temp "), std::string::npos) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(vision: 1 image, [0-9.]+ s \| prompt: )")))
      << r.err;
  const CliResult text_only = run_cli({"chat", "--model", kModel, "--image", kImg64}, "/exit\n");
  test::expect_one_line_error(text_only, 2, "text-only model");
}

}  // namespace
}  // namespace tf
