// Graceful stop on SIGTERM / SIGINT / SIGUSR1 (what Slurm sends before a time limit or a
// preemption). The handler only sets a flag; loops poll it at a safe boundary, and multi-rank
// loops agree on it with World::any() so no rank leaves a collective early.
#pragma once

namespace nucseg {

class StopSignal final {
 public:
  // Installs the handlers (idempotent). A second signal of the same kind restores the default
  // action, so a user pressing Ctrl-C twice still kills the process.
  static void install();
  static bool requested();
  static int signal_number();  // the first signal received, 0 if none
  static void reset();         // for tests
  static void raise_for_test(int signum);
};

}  // namespace nucseg
