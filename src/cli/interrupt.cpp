#include "cli/interrupt.h"

#include <cerrno>
#include <csignal>

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

namespace tf::cli {

namespace {

std::atomic<bool> g_interrupted{false};
struct sigaction g_previous;

// SIGINT, and SIGTERM under StopOnSignals.
void on_stop_signal(int) { g_interrupted.store(true, std::memory_order_relaxed); }

}  // namespace

InterruptScope::InterruptScope() {
  static_assert(std::atomic<bool>::is_always_lock_free);
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: read() at the prompt returns EINTR
  sigaction(SIGINT, &action, &g_previous);
  clear();
}

InterruptScope::~InterruptScope() { sigaction(SIGINT, &g_previous, nullptr); }

const std::atomic<bool>& InterruptScope::flag() { return g_interrupted; }
bool InterruptScope::interrupted() { return g_interrupted.load(std::memory_order_relaxed); }
void InterruptScope::clear() { g_interrupted.store(false, std::memory_order_relaxed); }

StopOnSignals::StopOnSignals() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | SA_RESETHAND;
  InterruptScope::clear();
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
}

StopOnSignals::~StopOnSignals() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
}

SigintBlockForNewThreads::SigintBlockForNewThreads() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SigintBlockForNewThreads::~SigintBlockForNewThreads() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

ssize_t read_stdin_unless_interrupted(void* buffer, size_t size) {
  sigset_t sigint, during_wait;
  sigemptyset(&sigint);
  sigaddset(&sigint, SIGINT);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &sigint, &previous);
  during_wait = previous;
  sigdelset(&during_wait, SIGINT);
  ssize_t n = -1;
  for (;;) {
    if (InterruptScope::interrupted()) {
      errno = EINTR;
      break;
    }
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (ppoll(&p, 1, nullptr, &during_wait) < 0) {
      if (errno == EINTR) continue;  // the handler ran: the flag says whether it was SIGINT
      break;
    }
    n = ::read(STDIN_FILENO, buffer, size);  // readable (or closed): does not block
    if (n >= 0 || errno != EINTR) break;
  }
  const int saved = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = saved;
  return n;
}

LineReader::Status LineReader::read(std::string& line) {
  for (;;) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return Status::line;
    }
    if (eof_) {
      if (buffer_.empty()) return Status::end_of_input;
      line = std::move(buffer_);  // a last line without a newline
      buffer_.clear();
      return Status::line;
    }
    char chunk[4096];
    const ssize_t n = read_stdin_unless_interrupted(chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n == 0) {
      eof_ = true;
    } else if (errno == EINTR) {
      if (InterruptScope::interrupted()) return Status::interrupted;
    } else {
      eof_ = true;  // unreadable input ends the session like end of input
    }
  }
}

}  // namespace tf::cli
