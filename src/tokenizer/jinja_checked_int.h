// Integer arithmetic for templates. Python's ints never overflow; ours are 64-bit, so a result
// that does not fit is an error (Jinja2 would print a huge number; wrapping around silently,
// or converting an out-of-range float, is undefined behaviour in C++ and prints a wrong one).
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tf::jinja {

[[noreturn]] inline void integer_overflow(const std::string& expression) {
  throw std::runtime_error("integer overflow: " + expression + " does not fit in 64 bits");
}

inline int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) integer_overflow(std::to_string(a) + " + " + std::to_string(b));
  return r;
}

inline int64_t checked_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) integer_overflow(std::to_string(a) + " - " + std::to_string(b));
  return r;
}

inline int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) integer_overflow(std::to_string(a) + " * " + std::to_string(b));
  return r;
}

// a ** b for b >= 0, by squaring (b may be huge: 1 ** 10**18 is 1).
inline int64_t checked_pow(int64_t a, int64_t b) {
  int64_t result = 1, base = a;
  for (int64_t e = b; e > 0; e >>= 1) {
    if ((e & 1) && __builtin_mul_overflow(result, base, &result))
      integer_overflow(std::to_string(a) + " ** " + std::to_string(b));
    if (e > 1 && __builtin_mul_overflow(base, base, &base))
      integer_overflow(std::to_string(a) + " ** " + std::to_string(b));
  }
  return result;
}

// Python's int(x) for a float: truncates; inf / nan / out-of-range are errors.
inline int64_t float_to_int(double x) {
  // 2^63 is exactly representable; every double below it in magnitude truncates into range.
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) {
    if (std::isnan(x)) throw std::runtime_error("cannot convert float NaN to integer");
    if (std::isinf(x)) throw std::runtime_error("cannot convert float infinity to integer");
    integer_overflow("int(" + std::to_string(x) + ")");
  }
  return static_cast<int64_t>(x);
}

}  // namespace tf::jinja
