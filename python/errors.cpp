// The engine's error kinds as Python exceptions. Each derives from tightfit.Error (itself a
// RuntimeError) and from the built-in exception a Python user would catch for it, so both
// `except ValueError` and `except tightfit.Error` work:
//   InvalidRequest → tightfit.InvalidRequestError(Error, ValueError), with .param
//   ModelNotFound  → tightfit.ModelNotFoundError(Error, FileNotFoundError)
//   OutOfMemory    → tightfit.OutOfMemoryError(Error, MemoryError)
//   Busy           → tightfit.BusyError(Error)
// The message is the engine's, unchanged.
#include <Python.h>

#include "bindings.h"
#include "tightfit/tightfit.h"

namespace tightfit::python {

namespace {

// The exception classes, created once when the module is imported and kept for the life of
// the interpreter (like the built-in PyExc_* objects): the translator below is a plain
// function, so it finds them here.
struct ExceptionClasses {
  PyObject* error = nullptr;
  PyObject* invalid_request = nullptr;
  PyObject* model_not_found = nullptr;
  PyObject* out_of_memory = nullptr;
  PyObject* busy = nullptr;
};
ExceptionClasses classes;

PyObject* new_exception(py::module_& m, const char* name, const char* doc, py::tuple bases) {
  const std::string qualified = std::string("tightfit.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (!cls) throw py::error_already_set();
  m.add_object(name, py::handle(cls));  // the module keeps a reference too
  return cls;
}

void raise(PyObject* cls, const char* message) { PyErr_SetString(cls, message); }

}  // namespace

void bind_errors(py::module_& m) {
  py::handle runtime_error(PyExc_RuntimeError);
  classes.error = new_exception(m, "Error", "Base class of the errors tightfit raises.",
                                py::make_tuple(runtime_error));
  py::handle error(classes.error);
  classes.invalid_request = new_exception(
      m, "InvalidRequestError",
      "The request or an input it names is unusable (bad parameter, unreadable image, prompt "
      "longer than the context). `.param` names the offending field when known.",
      py::make_tuple(error, py::handle(PyExc_ValueError)));
  classes.model_not_found = new_exception(
      m, "ModelNotFoundError",
      "The model folder or Hugging Face repo does not exist or lacks a required file.",
      py::make_tuple(error, py::handle(PyExc_FileNotFoundError)));
  classes.out_of_memory = new_exception(
      m, "OutOfMemoryError",
      "The memory plan says the model or the request does not fit the memory limit; the message "
      "carries the plan's numbers.",
      py::make_tuple(error, py::handle(PyExc_MemoryError)));
  classes.busy = new_exception(m, "BusyError",
                               "The engine's queue is full: try again later.",
                               py::make_tuple(error));

  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const InvalidRequest& e) {
      py::object instance = py::handle(classes.invalid_request)(py::str(e.what()));
      instance.attr("param") = e.param.empty() ? py::object(py::none()) : py::str(e.param);
      PyErr_SetObject(classes.invalid_request, instance.ptr());
    } catch (const ModelNotFound& e) {
      raise(classes.model_not_found, e.what());
    } catch (const OutOfMemory& e) {
      raise(classes.out_of_memory, e.what());
    } catch (const Busy& e) {
      raise(classes.busy, e.what());
    } catch (const Error& e) {
      raise(classes.error, e.what());
    }
  });
}

}  // namespace tightfit::python
