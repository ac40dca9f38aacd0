// The template engine against Jinja2 3.1.6 configured as transformers configures it
// (tests/data/jinja: semantics.jsonl covers whitespace control, loops, scoping, macros,
// expressions, filters, tests, methods, printing and errors; chat-styles.jsonl renders
// ChatML-, Llama-3- and Mistral-style templates), plus syntax errors with line and column.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "tokenizer/jinja_template.h"

namespace tf::jinja {
namespace {

const std::string kData = std::string(TIGHTFIT_TEST_DATA);

std::vector<nlohmann::ordered_json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<nlohmann::ordered_json> rows;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(nlohmann::ordered_json::parse(line));
  return rows;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Jinja, SemanticsMatchJinja2) {
  const auto rows = read_jsonl(kData + "/jinja/semantics.jsonl");
  ASSERT_GT(rows.size(), 100u);
  for (const auto& row : rows) {
    const std::string source = row["template"];
    try {
      const Template t(source, "case");
      const std::string out = t.render(row["variables"]);
      if (row.contains("rendered")) EXPECT_EQ(out, row["rendered"].get<std::string>()) << source;
      else ADD_FAILURE() << "rendered instead of failing with " << row["error"] << ": " << source;
    } catch (const TemplateError& e) {
      if (!row.contains("error")) {
        ADD_FAILURE() << source << ": " << e.what();
        continue;
      }
      const std::string expected = row["error"];
      if (row["raised"].get<bool>()) {
        EXPECT_EQ(e.kind(), TemplateError::Kind::kRaised) << source;
        EXPECT_EQ(std::string(e.what()), expected) << source;
      } else {  // Jinja2's message, after our "case line L, column C: " prefix
        EXPECT_EQ(e.kind(), TemplateError::Kind::kRuntime) << source;
        const std::string what = e.what();
        EXPECT_EQ(what.rfind("case line 1, column ", 0), 0u) << what;
        EXPECT_TRUE(what.size() >= expected.size() && what.compare(what.size() - expected.size(), expected.size(), expected) == 0)
            << source << "\n  ours:   " << what << "\n  jinja2: " << expected;
      }
    }
  }
}

TEST(Jinja, ChatStylesMatchJinja2) {
  const auto rows = read_jsonl(kData + "/jinja/chat-styles.jsonl");
  ASSERT_EQ(rows.size(), 32u);
  int errors = 0;
  for (const auto& row : rows) {
    const tokenizer::ChatTemplate t(read_file(kData + "/jinja/templates/" + row["template"].get<std::string>()));
    const auto request = tokenizer::ChatRequest::from_json(row);
    const std::string what = row["template"].get<std::string>() + " / " + row["name"].get<std::string>();
    const auto& expected = row["expected"];
    try {
      const std::string out = t.render(request);
      ASSERT_TRUE(expected.contains("rendered")) << what << " rendered " << out;
      EXPECT_EQ(out, expected["rendered"].get<std::string>()) << what;
    } catch (const TemplateError& e) {
      ASSERT_TRUE(expected.contains("error")) << what << ": " << e.what();
      EXPECT_EQ(std::string(e.what()), expected["error"].get<std::string>()) << what;
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);  // the alternation / role checks are exercised
}

TEST(Jinja, SyntaxErrorsNameLineAndColumn) {
  struct Case {
    const char* source;
    const char* needle;
  };
  const Case cases[] = {
      {"ok\n  {% frobnicate %}", "t line 2, column 6: unknown tag 'frobnicate'"},
      {"{% if x %}\nno end", "unexpected end of template; expected 'elif'"},
      {"{{ x | nosuchfilter }}", "line 1, column 8: no filter named 'nosuchfilter'"},
      {"{{ x is nosuchtest }}", "line 1, column 9: no test named 'nosuchtest'"},
      {"a\nb\n{{ 'unterminated }}", "line 3, column 4: unterminated string literal"},
      {"{{ (1 + }}", "line 1, column 9: unexpected '}', expected ')'"},
      {"{% include 'x.jinja' %}", "line 1, column 4: the 'include' tag is not supported"},
      {"{% endfor %}", "unexpected 'endfor'"},
      {"{{ x ", "missing end of variable tag"},
      {"{# never closed", "missing end of comment tag"},
      {"{% break %}", "'break' outside of a for loop"},
      {"{{ a b }}", "line 1, column 6: expected end of print statement"},
      {"{{ f(a=1, 2) }}", "positional argument after keyword argument"},
      {"{% for in x %}{% endfor %}", "line 1, column 11: expected 'in' in for loop"},
      {"{% for x in %}{% endfor %}", "line 1, column 13: expected an expression"},
      {"{{ x @ y }}", "line 1, column 6: unexpected character '@'"},
  };
  for (const auto& c : cases) {
    try {
      Template t(c.source, "t");
      ADD_FAILURE() << "compiled: " << c.source;
    } catch (const TemplateError& e) {
      EXPECT_EQ(e.kind(), TemplateError::Kind::kSyntax) << c.source;
      EXPECT_NE(std::string(e.what()).find(c.needle), std::string::npos) << c.source << " -> " << e.what();
    }
  }
}

TEST(Jinja, RuntimeErrorsNameTheStatementLine) {
  const Template t("line one\n{% set x = 1 %}\n   {{ x + 'a' }}", "tmpl");
  try {
    t.render(Dict{});
    FAIL() << "rendered";
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.kind(), TemplateError::Kind::kRuntime);
    EXPECT_EQ(e.line(), 3);
    EXPECT_STREQ(e.what(), "tmpl line 3, column 4: unsupported operand type(s) for +: 'int' and 'str'");
  }
}

TEST(Jinja, RaiseExceptionCarriesTheTemplatesOwnMessage) {
  const Template t("{% if not messages %}{{ raise_exception('No messages provided.') }}{% endif %}ok");
  nlohmann::ordered_json vars = {{"messages", nlohmann::ordered_json::array()}};
  try {
    t.render(vars);
    FAIL() << "rendered";
  } catch (const TemplateError& e) {
    EXPECT_EQ(e.kind(), TemplateError::Kind::kRaised);
    EXPECT_STREQ(e.what(), "No messages provided.");
  }
  vars["messages"].push_back(1);
  EXPECT_EQ(t.render(vars), "ok");
}

TEST(Jinja, KeepsNoTrailingNewlineAndNormalizesLineEndings) {
  EXPECT_EQ(Template("a\r\nb\rc\n").render(Dict{}), "a\nb\nc");
  EXPECT_EQ(Template("a\n\n").render(Dict{}), "a\n");
}

TEST(Jinja, FloatsPrintLikePython) {
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(2.0), "2.0");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(1e-5), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(python_float_repr(5e-324), "5e-324");
  EXPECT_EQ(python_float_repr(123456789.125), "123456789.125");
}

TEST(Jinja, OneTemplateRendersFromManyThreads) {
  const tokenizer::ChatTemplate t(read_file(kData + "/chat-template/chat_template.jinja"));
  tokenizer::ChatRequest request;
  request.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hi"}])");
  const std::string expected = t.render(request);
  EXPECT_EQ(expected, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n");
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int i = 0; i < 50; ++i) ok[k] += t.render(request) == expected;
    });
  for (auto& th : threads) th.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(ok[k], 50);
}

TEST(ChatRequest, KwargsOverrideFieldsAndSpecialTokensComeFromTheConfig) {
  tokenizer::TokenizerConfig config;
  config.bos_token = "<s>";
  config.eos_token = "</s>";
  tokenizer::ChatRequest r;
  r.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "x"}])");
  r.enable_thinking = true;
  r.extra_kwargs = {{"enable_thinking", false}, {"add_vision_id", true}};
  const auto vars = tokenizer::ChatTemplate::variables(r, &config);
  EXPECT_EQ(vars["bos_token"], "<s>");
  EXPECT_EQ(vars["eos_token"], "</s>");
  EXPECT_FALSE(vars.contains("pad_token"));  // unset tokens are not passed (undefined, not None)
  EXPECT_TRUE(vars["tools"].is_null());
  EXPECT_EQ(vars["add_generation_prompt"], true);
  EXPECT_EQ(vars["enable_thinking"], false);
  EXPECT_EQ(vars["add_vision_id"], true);
  const tokenizer::ChatTemplate t("{{ bos_token }}|{{ pad_token }}|{{ enable_thinking }}");
  EXPECT_EQ(t.render(r, &config), "<s>||False");
}

TEST(ChatRequest, RejectsMalformedRequests) {
  EXPECT_THROW(tokenizer::ChatRequest::from_json(nlohmann::ordered_json::parse(R"({"tools": []})")), std::invalid_argument);
  EXPECT_THROW(tokenizer::ChatRequest::from_json(nlohmann::ordered_json::parse(R"({"messages": {}})")), std::invalid_argument);
  EXPECT_THROW(tokenizer::ChatRequest::from_json(nlohmann::ordered_json::parse(R"({"messages": [], "tools": 3})")), std::invalid_argument);
  EXPECT_THROW(tokenizer::ChatRequest::from_json(nlohmann::ordered_json::parse(R"({"messages": [], "kwargs": [1]})")), std::invalid_argument);
}

}  // namespace
}  // namespace tf::jinja
