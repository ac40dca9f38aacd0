// The library layers' exceptions as the public API's kinds (include/tightfit/tightfit.h), for
// the public functions that call those layers directly (convert, inspect):
//   tf::ModelNotFoundError → ModelNotFound, tf::InputError → InvalidRequest,
//   anything else derived from std::exception → Error. The message is kept.
#pragma once

#include <exception>

namespace tightfit {

// Call from a catch block (or with std::current_exception()); always throws.
[[noreturn]] void rethrow_as_api_error(std::exception_ptr error);

}  // namespace tightfit
