// What a chat template may cost, written once. A template and its variables can come from
// anyone (a downloaded model, a request to a server), so rendering must end with an error
// rather than crash, hang or exhaust memory; Jinja2 raises for the same inputs (RecursionError,
// MemoryError, OverflowError, the sandbox's MAX_RANGE). Every limit is far above what real chat
// templates use (tests/data/chat-template and tests/data/jinja render unchanged): they loop
// over messages and tools, nest a few blocks deep and print at most a few MB.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/json_read.h"

namespace tf::jinja {

// A fuzz build (-DTIGHTFIT_FUZZ=ON defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, as OSS-Fuzz
// builds do) divides the limits on string bytes and list items by 64 and on loop iterations by
// 1024: the same checks and error paths run, and the fuzzer spends its time on new inputs instead
// of a million iterations or 64 MiB strings per input near a limit (tests/fuzz, README
// "Reliability"). Loops most of all: a grown corpus is full of loops that run to the limit, and
// at 1/64 of it (15,625 iterations) they were most of the fuzzer's time, 3 ms per input.
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
inline constexpr int kFuzzBuildDivisor = 64;
inline constexpr int kFuzzBuildLoopDivisor = 1024;
#else
inline constexpr int kFuzzBuildDivisor = 1;
inline constexpr int kFuzzBuildLoopDivisor = 1;
#endif

struct TemplateLimits {
  // Nesting in the source: blocks inside blocks, and parentheses, brackets, operators and
  // filters inside an expression (`((((x))))`, `a+b+c+…`). The parser and the syntax tree's
  // destructor recurse once per level.
  static constexpr int kSourceNesting = 256;
  // Nesting while rendering: statements, expressions and macro calls together (a recursive
  // macro is the usual way to reach it). The interpreter recurses once per level; 1000 levels
  // use a few MB of stack.
  static constexpr int kRenderNesting = 1000;
  // Nesting of lists, dicts and namespaces: printing, comparing and freeing a value recurse
  // once per level. Template variables come from JSON (at most kMaxJsonDepth deep); a template
  // may wrap them a few more times.
  static constexpr int kValueNesting = 2 * kMaxJsonDepth;
  // Bytes of any one string the template builds, and of the rendered text.
  static constexpr size_t kStringBytes = (size_t{64} << 20) / kFuzzBuildDivisor;
  // Items of any one list the template builds.
  static constexpr size_t kListItems = (size_t{1} << 22) / kFuzzBuildDivisor;
  // Iterations of all for loops, macro calls and items of range() together in one render
  // (Interpreter::count_steps): about 0.5 s of work,
  // far below the render-time backstop even on a loaded machine (a chat template loops once per
  // message and tool, and calls a macro a few times per message, a few thousand times at most).
  static constexpr int64_t kLoopIterations = 1'000'000 / kFuzzBuildLoopDivisor;
  // Items of one range(): transformers' sandbox (Jinja2's MAX_RANGE).
  static constexpr int64_t kRangeItems = 100'000;
  // Wall-clock time of one render: the backstop for whatever the limits above let through
  // (e.g. 100,000 loop iterations that each build a range of 100,000 items). A fuzz build gives
  // up sooner — a render ended by this backstop teaches the fuzzer nothing — but not so soon that
  // the limits above stop being reached first under ASan on a loaded machine (the sanitizer
  // tests check their messages).
  static constexpr double kRenderSeconds = kFuzzBuildDivisor == 1 ? 10.0 : 2.0;
};

// Throws std::runtime_error (a TemplateError once located) when a string or list about to be
// built would exceed the limits above. `what` names the operation for the message.
void check_string_size(size_t bytes, const char* what);
void check_list_size(size_t items, const char* what);

}  // namespace tf::jinja
