// RequestStream (request_stream.h) and its Python binding.
#include "request_stream.h"

#include <optional>

#include "bindings.h"
#include "interruptible.h"

namespace tightfit::python {

Event RequestStream::next() {
  for (;;) {
    std::optional<Event> event;
    {
      py::gil_scoped_release release;
      event = handle_.next_for(kSignalCheckInterval);
    }
    if (event) {
      if (event->kind == EventKind::done && event->stop == StopReason::error)
        throw Error(event->error.empty() ? "the engine stopped the request with an error"
                                         : event->error);
      return std::move(*event);
    }
    if (handle_.finished()) throw py::stop_iteration();
    if (std::optional<py::error_already_set> interrupt = pending_interrupt()) {
      handle_.cancel();
      throw std::move(*interrupt);
    }
  }
}

void bind_stream(py::module_& m) {
  py::class_<RequestStream>(
      m, "RequestStream",
      "The events of one submitted request, in order: 'reasoning' and 'answer' text, then one "
      "'done' event. Iterate it from one thread; cancel() works from any. Leaving a `with` "
      "block or dropping the stream cancels the request.")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &RequestStream::next)
      .def("cancel", &RequestStream::cancel,
           "Stop the request at its next token; the stream then ends with a 'done' event whose "
           "stop is 'cancelled'.")
      .def_property_readonly("finished", &RequestStream::finished,
                             "The 'done' event has been returned.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](RequestStream& s, py::args) { s.cancel(); });
}

}  // namespace tightfit::python
