#include "tokenizer/jinja_limits.h"

#include <stdexcept>
#include <string>

namespace tf::jinja {

void check_string_size(size_t bytes, const char* what) {
  if (bytes > TemplateLimits::kStringBytes)
    throw std::runtime_error(std::string(what) + " would build a string of " + std::to_string(bytes) +
                             " bytes; templates are limited to " +
                             std::to_string(TemplateLimits::kStringBytes >> 20) + " MiB");
}

void check_list_size(size_t items, const char* what) {
  if (items > TemplateLimits::kListItems)
    throw std::runtime_error(std::string(what) + " would build a list of " + std::to_string(items) +
                             " items; templates are limited to " + std::to_string(TemplateLimits::kListItems));
}

}  // namespace tf::jinja
