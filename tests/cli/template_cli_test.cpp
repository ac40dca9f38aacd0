// `tightfit template` end to end: every Qwen3.5 fixture conversation through --jsonl (rendered
// text or the template's own error), single renders from a model folder with --messages,
// --tools, --kwargs and --no-thinking, and one-line errors with exit codes.
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
using nlohmann::ordered_json;

const std::string kData = TIGHTFIT_TEST_DATA;
const std::string kTemplate = kData + "/chat-template/chat_template.jinja";

using test::CliResult;
using test::expect_one_line_error;
using test::scratch;

CliResult run_template(const std::string& args, const std::string& input = "") {
  return test::run_cli_line("template " + args, input);
}

std::vector<ordered_json> fixture_cases() {
  std::ifstream in(kData + "/chat-template/cases.jsonl");
  std::vector<ordered_json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(ordered_json::parse(line));
  return out;
}

ordered_json fixture_case(const std::string& name) {
  for (auto& c : fixture_cases())
    if (c["name"] == name) return c;
  ADD_FAILURE() << "no fixture case " << name;
  return {};
}

// A model folder as Hugging Face lays it out: tokenizer_config.json and chat_template.jinja.
std::string model_folder() {
  const fs::path dir = fs::path(test::fresh_dir("model"));
  fs::copy_file(kData + "/tokenizer/tokenizer_config.json", dir / "tokenizer_config.json", fs::copy_options::overwrite_existing);
  fs::copy_file(kTemplate, dir / "chat_template.jinja", fs::copy_options::overwrite_existing);
  return dir.string();
}

std::string write_temp(const std::string& name, const std::string& text) {
  return test::write_file(scratch(name), text);
}

TEST(TemplateCli, JsonlRendersEveryFixtureCase) {
  for (const std::string& source : {"--chat-template " + kTemplate, "--model " + model_folder()}) {
    const CliResult r = run_template(source + " --jsonl " + kData + "/chat-template/cases.jsonl");
    ASSERT_EQ(r.code, 0) << r.err;
    std::istringstream out(r.out);
    std::string line;
    size_t n = 0;
    for (const auto& c : fixture_cases()) {
      ASSERT_TRUE(std::getline(out, line)) << "output ended after " << n << " lines";
      const auto got = ordered_json::parse(line);
      const auto& expected = c["expected"];
      if (expected["ok"].get<bool>()) EXPECT_EQ(got.value("rendered", ""), expected["rendered"]) << c["name"] << ": " << line;
      else EXPECT_EQ(got.value("error", ""), expected["error"]) << c["name"] << ": " << line;
      ++n;
    }
    EXPECT_EQ(n, 33u);
  }
}

TEST(TemplateCli, RendersOneConversationByteExact) {
  const std::string model = model_folder();
  auto c = fixture_case("system_user_gen");
  std::string messages = write_temp("messages.json", c["messages"].dump());
  CliResult r = run_template("--model " + model + " --messages " + messages);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, c["expected"]["rendered"].get<std::string>());

  c = fixture_case("system_user_thinking_off");
  messages = write_temp("messages.json", c["messages"].dump());
  r = run_template("--model " + model + " --messages " + messages + " --no-thinking");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, c["expected"]["rendered"].get<std::string>());
  r = run_template("--model " + model + " --messages - --kwargs '{\"enable_thinking\": false}'", c["messages"].dump());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, c["expected"]["rendered"].get<std::string>());

  c = fixture_case("tools_with_system");
  messages = write_temp("messages.json", c["messages"].dump());
  const std::string tools = write_temp("tools.json", c["tools"].dump());
  r = run_template("--model " + model + " --messages " + messages + " --tools " + tools);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, c["expected"]["rendered"].get<std::string>());

  c = fixture_case("single_user_nogen");
  messages = write_temp("request.json", c.dump());  // {"messages", "tools", "kwargs"} form
  r = run_template("--model " + model + " --messages " + messages);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, c["expected"]["rendered"].get<std::string>());
}

TEST(TemplateCli, ErrorsAreOneLineWithExitCodes) {
  const std::string model = model_folder();
  const std::string system_only = write_temp("system-only.json", R"([{"role": "system", "content": "x"}])");
  expect_one_line_error(run_template("--model " + model + " --messages " + system_only), 1,
                        "tightfit: error: No user query found in messages.");
  expect_one_line_error(run_template("--model " + model), 2, "give exactly one of --messages FILE.json or --jsonl FILE");
  expect_one_line_error(run_template("--messages " + system_only), 2, "give --model DIR");
  expect_one_line_error(run_template("--model " + model + " --messages " + system_only + " --kwargs '[1]'"), 2,
                        "--kwargs must be a JSON object");

  const fs::path bare = fs::path(test::fresh_dir("bare"));
  expect_one_line_error(run_template("--model " + bare.string() + " --messages " + system_only), 1, "--chat-template FILE.jinja");

  const std::string broken = write_temp("broken.jinja", "{% for m in messages %}\n{{ m.role }\n{% endfor %}");
  // A template file the user named is input: exit 2 (a broken template inside a model folder: 1).
  expect_one_line_error(run_template("--chat-template " + broken + " --messages " + system_only), 2,
                        "broken.jinja line 2, column 11: unexpected '}'");

  const std::string bad_json = write_temp("bad.json", "[{\"role\": ");
  expect_one_line_error(run_template("--model " + model + " --messages " + bad_json), 2, "bad.json: not valid JSON");

  // In --jsonl mode a bad line becomes an {"error": ...} line; the others still render.
  const CliResult r = run_template("--model " + model + " --jsonl -",
                             "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\nnot json\n{\"messages\": []}\n");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  EXPECT_EQ(ordered_json::parse(l1)["rendered"], "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n");
  EXPECT_TRUE(ordered_json::parse(l2).contains("error"));
  EXPECT_EQ(ordered_json::parse(l3)["error"], "No messages provided.");
}

}  // namespace
}  // namespace tf
