// Ctrl-C (SIGINT) as a flag instead of process death, for commands that stream output: the
// generation loop checks the flag every token and stops the answer; the chat REPL decides what
// a Ctrl-C at its prompt means; convert and synth stop writing and remove what they wrote. The
// handler only stores to a lock-free atomic, the one thing a signal handler may do; the state is
// process-wide because signal dispositions are.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <string>

namespace tf::cli {

// Installs the handler (without SA_RESTART, so a blocking read returns EINTR) for the lifetime
// of the object and restores the previous disposition afterwards.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  // Set by each Ctrl-C; the generation loop's cancel flag.
  static const std::atomic<bool>& flag();
  static bool interrupted();
  static void clear();
};

// For the long writers (convert, synth): SIGINT and SIGTERM set the same flag for the lifetime
// of the object instead of killing the process, so the writer stops at its next check and its
// unwinding removes the unfinished output (quant/output_folder.h). SA_RESTART: a file write under
// way resumes rather than failing with EINTR. SA_RESETHAND: a second signal kills at once, for a
// user who will not wait (the next run removes what that leaves).
class StopOnSignals {
 public:
  StopOnSignals();
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

  // Set by SIGINT or SIGTERM.
  static const std::atomic<bool>& flag() { return InterruptScope::flag(); }

 private:
  struct sigaction previous_int_, previous_term_;
};

// Blocks SIGINT in the calling thread for its lifetime, so that threads started meanwhile (the
// model's worker pool) inherit the block and a Ctrl-C always reaches the main thread, where
// it interrupts a blocking read. A Ctrl-C arriving while blocked is delivered on unblocking.
class SigintBlockForNewThreads {
 public:
  SigintBlockForNewThreads();
  ~SigintBlockForNewThreads();
  SigintBlockForNewThreads(const SigintBlockForNewThreads&) = delete;
  SigintBlockForNewThreads& operator=(const SigintBlockForNewThreads&) = delete;
};

// read(2) of standard input that a Ctrl-C interrupts however it is timed: -1 with errno EINTR
// once InterruptScope::interrupted(), else read(2)'s result. SIGINT stays blocked between the
// check of the flag and the wait, and ppoll(2) unblocks it atomically for the wait, so a Ctrl-C
// landing just before the wait (after the prompt is printed, say) still ends it rather than
// leaving the read blocked with the flag set.
ssize_t read_stdin_unless_interrupted(void* buffer, size_t size);

// Reads lines from standard input with read(2), so a Ctrl-C at the prompt is seen at once
// (std::getline would retry or fail silently).
class LineReader {
 public:
  enum class Status { line, end_of_input, interrupted };
  // The next line without its line ending ("\n" or "\r\n").
  Status read(std::string& line);

 private:
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace tf::cli
