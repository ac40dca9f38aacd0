#include "tokenizer/jinja_template.h"

#include <nlohmann/json.hpp>

#include "base/json_read.h"
#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_interpreter.h"
#include "tokenizer/jinja_json.h"
#include "tokenizer/jinja_parser.h"

namespace tf::jinja {

Template::Template(std::string_view source, std::string name, LexerOptions options) : name_(std::move(name)) {
  const std::vector<Token> tokens = lex_template(source, name_, options);
  body_ = std::make_shared<const Body>(parse_template(tokens, name_));
}

std::string Template::render(const Dict& variables) const {
  auto globals = std::make_shared<Scope>();
  const Dict& builtins = builtin_globals();
  for (const auto& [k, v] : builtins.entries()) globals->vars[k] = v;
  auto context = std::make_shared<Scope>(Scope{{}, globals});
  for (const auto& [k, v] : variables.entries()) context->vars[k] = v;
  Interpreter interpreter(name_, context);
  std::string out;
  interpreter.render(*body_, out);
  return out;
}

std::string Template::render(const nlohmann::ordered_json& variables) const {
  if (!variables.is_object()) throw std::invalid_argument("template variables must be a JSON object");
  check_json_value_nesting(variables, "template variables");
  const Value v = value_from_json(variables);
  return render(v.as_dict());
}

}  // namespace tf::jinja
