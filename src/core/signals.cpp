#include "nucseg/core/signals.hpp"

#include <atomic>
#include <csignal>
#include <initializer_list>

namespace nucseg {
namespace {

volatile std::sig_atomic_t g_signal = 0;
std::atomic<bool> g_installed{false};

extern "C" void on_stop_signal(int signum) {
  if (g_signal != 0 && g_signal == signum) std::signal(signum, SIG_DFL);
  if (g_signal == 0) g_signal = signum;
}

}  // namespace

void StopSignal::install() {
  if (g_installed.exchange(true)) return;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int s : {SIGTERM, SIGINT, SIGUSR1}) sigaction(s, &action, nullptr);
}

bool StopSignal::requested() { return g_signal != 0; }
int StopSignal::signal_number() { return g_signal; }
void StopSignal::reset() { g_signal = 0; }
void StopSignal::raise_for_test(int signum) { std::raise(signum); }

}  // namespace nucseg
