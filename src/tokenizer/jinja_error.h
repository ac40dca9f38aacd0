// Errors of the chat-template engine. raise_exception() in a template produces kRaised, whose
// message is exactly the template's text (callers show it as the model's own refusal);
// syntax and runtime errors carry the template name, line and column.
#pragma once

#include <stdexcept>
#include <string>

namespace tf::jinja {

class TemplateError : public std::runtime_error {
 public:
  enum class Kind { kSyntax, kRuntime, kRaised };
  TemplateError(Kind kind, const std::string& message, int line = 0, int column = 0)
      : std::runtime_error(message), kind_(kind), line_(line), column_(column) {}
  Kind kind() const { return kind_; }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  Kind kind_;
  int line_, column_;
};

// "NAME line L, column C: MESSAGE"
std::string located_message(const std::string& template_name, int line, int column, const std::string& message);

}  // namespace tf::jinja
