#include "base/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>

namespace tf {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(code, message, sizeof(message));
  return reinterpret_cast<const char*>(message);
}

// Length of the UTF-8 character starting at text[i] (1 for a stray byte).
size_t utf8_step(std::string_view text, size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  const size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
  return i + n <= text.size() ? n : 1;
}

}  // namespace

struct Regex::Impl {
  pcre2_code* code = nullptr;
  ~Impl() {
    if (code) pcre2_code_free(code);
  }
};

Regex::Regex(std::string_view pattern, std::string_view shown_as)
    : pattern_(shown_as.empty() ? pattern : shown_as), impl_(std::make_unique<Impl>()) {
  if (pattern.size() > RegexLimits::kPatternBytes)
    throw std::runtime_error("invalid regex /" + pattern_.substr(0, 60) + ".../: it is " +
                             std::to_string(pattern.size()) + " bytes long; the limit is " +
                             std::to_string(RegexLimits::kPatternBytes));
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_parens_nest_limit(context, RegexLimits::kGroupNesting);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                              &error_code, &error_offset, context);
  pcre2_compile_context_free(context);
  if (!impl_->code) {
    std::string shown = "/" + pattern_ + "/";
    if (!shown_as.empty()) shown += " (as rewritten for PCRE2: /" + std::string(pattern) + "/)";
    throw std::runtime_error("invalid regex " + shown + ", at offset " + std::to_string(error_offset) + ": " +
                             pcre2_message(error_code));
  }
  // JIT is an optimisation only: platforms without it fall back to the interpreter.
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

namespace {

// Owns the per-call PCRE2 objects (match data is not shareable between threads).
struct MatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  explicit MatchState(const pcre2_code* code) {
    data = pcre2_match_data_create_from_pattern(code, nullptr);
    context = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(context, RegexLimits::kMatchSteps);
    pcre2_set_heap_limit(context, RegexLimits::kHeapKiB);
  }
  ~MatchState() {
    if (data) pcre2_match_data_free(data);
    if (context) pcre2_match_context_free(context);
    if (stack) pcre2_jit_stack_free(stack);
  }
  // Long whitespace runs with lookahead can exceed the default 32 KiB JIT stack.
  void grow_jit_stack() {
    if (stack) throw std::runtime_error("regex match needs more than 64 MiB of JIT stack");
    stack = pcre2_jit_stack_create(256 * 1024, 64 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(context, nullptr, stack);
  }
};

// pcre2_match with the JIT stack grown on demand; returns PCRE2's result, throws on errors
// other than "no match" (the limits above among them).
int match(const pcre2_code* code, const std::string& pattern, std::string_view text, size_t offset,
          uint32_t options, MatchState& state) {
  while (true) {
    const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), offset, options,
                               state.data, state.context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      state.grow_jit_stack();
      continue;
    }
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT)
      throw std::runtime_error("regex /" + pattern + "/ needs too much backtracking (" + pcre2_message(rc) +
                               "); simplify it, e.g. avoid nested or overlapping repeats like (a|a)*");
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
      throw std::runtime_error("regex /" + pattern + "/ failed: " + pcre2_message(rc));
    return rc;
  }
}

}  // namespace

bool Regex::search(std::string_view text) const {
  MatchState state(impl_->code);
  return match(impl_->code, pattern_, text, 0, 0, state) != PCRE2_ERROR_NOMATCH;
}

void Regex::for_each_match(std::string_view text, const std::function<void(size_t, size_t)>& on_match) const {
  MatchState state(impl_->code);
  size_t offset = 0;
  while (offset <= text.size()) {
    if (match(impl_->code, pattern_, text, offset, PCRE2_NO_UTF_CHECK, state) == PCRE2_ERROR_NOMATCH) break;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    const size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      on_match(begin, end);
      offset = end;
    } else {
      // Empty match: step over one whole character, as Oniguruma's find_iter does.
      if (begin >= text.size()) break;
      offset = begin + utf8_step(text, begin);
    }
  }
}

}  // namespace tf
