// Library exceptions → public API exceptions (library_errors.h).
#include "engine/library_errors.h"

#include "base/input_error.h"
#include "runtime/hub_cache.h"
#include "tightfit/tightfit.h"

namespace tightfit {

void rethrow_as_api_error(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error&) {
    throw;  // already a public kind
  } catch (const tf::ModelNotFoundError& e) {
    throw ModelNotFound(e.what());
  } catch (const tf::InputError& e) {
    throw InvalidRequest(e.what());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
}

}  // namespace tightfit
