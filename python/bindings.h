// The pieces of the `tightfit._core` extension module, one file per concept. The module wraps
// the public C++ API (include/tightfit/*.h) and nothing else; the pure-Python package
// python/tightfit/ builds the mlx-vlm-shaped functions (load, generate, ...) on top of it.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

namespace tightfit::python {

namespace py = pybind11;

void bind_errors(py::module_& m);    // errors.cpp: tightfit::Error kinds → Python exceptions
void bind_values(py::module_& m);    // values.cpp: ModelInfo, Event, Usage, Timing, ...
void bind_stream(py::module_& m);    // request_stream.cpp: RequestStream (a RequestHandle)
void bind_model(py::module_& m);     // model.cpp: Model (an Engine)
void bind_tools(py::module_& m);     // checkpoint_tools.cpp: convert, inspect
void bind_plan(py::module_& m);      // memory_plan.cpp: plan (MemoryPlan)

// A byte size given as an int or a string such as "16GB" / "512MiB" (tightfit/plan.h
// parse_byte_size); InvalidRequest (ValueError) for a bad one, TypeError for another type.
uint64_t byte_size(const py::handle& value, const std::string& what);  // memory_plan.cpp

}  // namespace tightfit::python
