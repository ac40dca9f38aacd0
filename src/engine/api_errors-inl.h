// as_api_errors (engine/engine_context.h): one place that maps the lower layers' exceptions
// onto the public API's error kinds.
#pragma once

#include <stdexcept>

#include "base/input_error.h"
#include "runtime/hub_cache.h"
#include "tightfit/tightfit.h"

namespace tightfit {

template <typename F>
auto as_api_errors(const char* param, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (const tf::ModelNotFoundError& e) {
    throw ModelNotFound(e.what());
  } catch (const tf::InputError& e) {
    throw InvalidRequest(e.what(), param);
  } catch (const std::invalid_argument& e) {
    throw InvalidRequest(e.what(), param);
  } catch (const std::out_of_range& e) {
    throw InvalidRequest(e.what(), param);
  } catch (const std::length_error& e) {
    throw InvalidRequest(e.what(), param);
  }
}

}  // namespace tightfit
