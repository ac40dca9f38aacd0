// `tightfit._core`: the compiled half of the `tightfit` Python package.
#include "bindings.h"

PYBIND11_MODULE(_core, m) {
  m.doc() =
      "tightfit's C++ engine (include/tightfit/tightfit.h) for Python. Use the `tightfit` "
      "package's load / generate / stream_generate / Chat instead of this module directly.";
  tightfit::python::bind_errors(m);
  tightfit::python::bind_values(m);
  tightfit::python::bind_stream(m);
  tightfit::python::bind_model(m);
  tightfit::python::bind_tools(m);
  tightfit::python::bind_plan(m);
}
