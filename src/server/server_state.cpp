#include "server/server_state.h"

#include "server/api_error.h"

namespace tf::server {

ActiveRequest::ActiveRequest(ServerState& state, tightfit::RequestHandle handle)
    : state_(state), handle_(std::move(handle)) {
  std::lock_guard lock(state_.mutex_);
  state_.active_.insert(this);
  if (state_.stopping_) handle_.cancel();
}

ActiveRequest::~ActiveRequest() {
  std::lock_guard lock(state_.mutex_);
  state_.active_.erase(this);
}

std::shared_ptr<tightfit::Engine> ServerState::engine() const {
  std::lock_guard lock(mutex_);
  return engine_;
}

void ServerState::set_engine(std::shared_ptr<tightfit::Engine> engine) {
  std::lock_guard lock(mutex_);
  engine_ = std::move(engine);
}

std::string ServerState::model_name() const {
  if (!options_.served_model_name.empty()) return options_.served_model_name;
  std::shared_ptr<tightfit::Engine> loaded = engine();
  return loaded ? loaded->info().name : std::string("tightfit");
}

namespace {

// The engine's refusals as API errors: InvalidRequest and OutOfMemory are the client's to fix
// (400), Busy is a full queue (503).
template <class F>
auto mapping_engine_errors(F call) {
  try {
    return call();
  } catch (const tightfit::InvalidRequest& e) {
    throw ApiError(400, e.what(), "invalid_request_error", e.param);
  } catch (const tightfit::OutOfMemory& e) {
    throw ApiError(400, e.what(), "invalid_request_error", "", "out_of_memory");
  } catch (const tightfit::Busy& e) {
    throw ApiError(503, std::string(e.what()) + " (the server's queue is full; retry later)",
                   "server_busy", "", "queue_full");
  }
}

}  // namespace

std::shared_ptr<tightfit::Engine> ServerState::ready_engine() const {
  if (stopping_) throw ApiError(503, "the server is shutting down", "unavailable_error");
  std::shared_ptr<tightfit::Engine> loaded = engine();
  if (!loaded) throw ApiError(503, "the model is still loading; retry shortly", "unavailable_error");
  return loaded;
}

std::shared_ptr<ActiveRequest> ServerState::submit(tightfit::Request request) {
  std::shared_ptr<tightfit::Engine> loaded = ready_engine();
  return mapping_engine_errors([&] {
    return std::make_shared<ActiveRequest>(*this, loaded->submit(std::move(request)));
  });
}

int64_t ServerState::count_prompt_tokens(const tightfit::Request& request) {
  std::shared_ptr<tightfit::Engine> loaded = ready_engine();
  return mapping_engine_errors([&] { return loaded->count_prompt_tokens(request); });
}

void ServerState::stop_and_cancel_all() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  for (ActiveRequest* request : active_) request->handle().cancel();
}

}  // namespace tf::server
