// RequestStream: a RequestHandle as a Python iterator of Events. Waiting for the next event
// releases the GIL (other Python threads run, and submit to the same engine); Ctrl-C cancels
// the request and raises KeyboardInterrupt within one wait slice (interruptible.h).
#pragma once

#include <memory>

#include "tightfit/tightfit.h"

namespace tightfit::python {

class RequestStream {
 public:
  RequestStream(std::shared_ptr<Engine> engine, RequestHandle handle)
      : engine_(std::move(engine)), handle_(std::move(handle)) {}

  // The next event; throws StopIteration after the done event, tightfit.Error when the done
  // event reports an engine error.
  Event next();
  void cancel() { handle_.cancel(); }
  bool finished() const { return handle_.finished(); }

 private:
  std::shared_ptr<Engine> engine_;  // declared first: the engine outlives the handle
  RequestHandle handle_;
};

}  // namespace tightfit::python
