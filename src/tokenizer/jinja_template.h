// A compiled Jinja2 template, configured as transformers' apply_chat_template configures
// Jinja2 (trim_blocks, lstrip_blocks, loop controls, sandboxed, raise_exception and
// strftime_now globals, tojson without HTML escaping). Compile once, render many times; a
// Template is immutable and may be rendered from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_error.h"
#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_value.h"

namespace tf::jinja {

class Template {
 public:
  // Throws TemplateError (kSyntax) naming line and column of the first problem.
  explicit Template(std::string_view source, std::string name = "chat template", LexerOptions options = {});

  // Renders with `variables` as the template's globals (alongside the built-ins).
  // Throws TemplateError: kRaised carries exactly the template's raise_exception message.
  std::string render(const Dict& variables) const;
  // Same, from a JSON object (key order preserved).
  std::string render(const nlohmann::ordered_json& variables) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::shared_ptr<const Body> body_;
};

}  // namespace tf::jinja
