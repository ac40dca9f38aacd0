// convert and inspect (include/tightfit/convert.h, inspect.h) for Python: their JSON reports
// come back as dicts.
#include <pybind11/stl.h>

#include "bindings.h"
#include "interruptible.h"
#include "tightfit/convert.h"
#include "tightfit/inspect.h"

namespace tightfit::python {

namespace {

py::object from_json(const std::string& text) {
  return py::module_::import("json").attr("loads")(text);
}

py::object convert_checkpoint(const std::string& source, std::optional<std::string> output,
                              const std::string& recipe, std::optional<int> group_size,
                              const std::string& dtype, bool text_only, bool keep_mtp,
                              bool dry_run, bool force, std::optional<int> threads,
                              bool verbose) {
  ConvertOptions options;
  options.source = source;
  options.output = output.value_or("");
  options.recipe = recipe;
  options.group_size = group_size.value_or(0);
  options.dtype = dtype;
  options.text_only = text_only;
  options.keep_mtp = keep_mtp;
  options.dry_run = dry_run;
  options.force = force;
  options.threads = threads.value_or(0);
  options.progress = verbose;
  const std::string report = run_interruptible([&](const std::atomic<bool>& cancel) {
    options.cancel = &cancel;
    return convert(options);
  });
  return from_json(report);
}

}  // namespace

void bind_tools(py::module_& m) {
  m.def("convert", &convert_checkpoint, py::arg("source"), py::arg("output") = py::none(),
        py::kw_only(), py::arg("recipe") = "dynamic", py::arg("group_size") = py::none(),
        py::arg("dtype") = "bf16", py::arg("text_only") = false, py::arg("keep_mtp") = false,
        py::arg("dry_run") = false, py::arg("force") = false, py::arg("threads") = py::none(),
        py::arg("verbose") = false,
        "Convert a Hugging Face checkpoint (folder or repo id) into a mixed-precision MLX-layout "
        "folder with a recipe (a built-in name or a JSON file); dry_run=True only plans. Returns "
        "the report as a dict (what `tightfit convert --report-json` writes). Ctrl-C stops the "
        "conversion and removes the unfinished output.");
  m.def(
      "inspect",
      [](const std::string& path, bool offline) {
        std::string report;
        {
          py::gil_scoped_release release;
          report = inspect(path, offline);
        }
        return from_json(report);
      },
      py::arg("path"), py::kw_only(), py::arg("offline") = false,
      "Describe a checkpoint (folder, .safetensors file or repo id) without reading its "
      "weights: a dict with the layout, config and per-role parameters, bytes and bits per "
      "weight (what `tightfit inspect --json` prints).");
  m.def("builtin_recipes", &builtin_recipes,
        "The built-in convert recipes as (name, description) pairs.");
}

}  // namespace tightfit::python
