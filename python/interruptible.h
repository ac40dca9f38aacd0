// Long C++ calls that Ctrl-C can stop. Python runs signal handlers (raising KeyboardInterrupt)
// only when the interpreter gets control back, so a call that blocks in C++ for seconds would
// hold Ctrl-C back until it returns. These helpers wait in short slices with the GIL released
// and, between slices, let Python run its handlers (PyErr_CheckSignals); when one raises, the
// C++ work is asked to stop and the exception propagates.
// https://pybind11.readthedocs.io/en/stable/faq.html#how-can-i-properly-handle-ctrl-c-in-long-running-functions
#pragma once

#include <Python.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <utility>

#include <pybind11/pybind11.h>

namespace tightfit::python {

namespace py = pybind11;

// How long one wait lasts before Python gets a chance to handle a signal: well under one
// token's time on a big model, long enough to cost nothing.
inline constexpr std::chrono::milliseconds kSignalCheckInterval{50};

// Python's pending signal handlers ran and one raised: the exception, taken out of the
// interpreter's error state so that it survives releasing the GIL while the work winds down.
inline std::optional<py::error_already_set> pending_interrupt() {
  if (PyErr_CheckSignals() == 0) return std::nullopt;
  return py::error_already_set();
}

// Runs work(cancel) on a worker thread, the GIL released; called with the GIL held. On a
// signal whose handler raises, sets `cancel`, waits for the work to stop and re-raises.
template <class Work>
auto run_interruptible(Work work) {
  std::atomic<bool> cancel{false};
  auto result = std::async(std::launch::async, [&] { return work(cancel); });
  for (;;) {
    std::future_status status;
    {
      py::gil_scoped_release release;
      status = result.wait_for(kSignalCheckInterval);
    }
    if (status == std::future_status::ready) return result.get();  // rethrows the work's errors
    if (std::optional<py::error_already_set> interrupt = pending_interrupt()) {
      cancel = true;
      {
        py::gil_scoped_release release;
        result.wait();
      }
      throw std::move(*interrupt);
    }
  }
}

}  // namespace tightfit::python
