// br-federation-manager: the daemon. Flags and environment as upstream (FEDERATION_PROTOCOL
// §12.2–12.3) plus -journal-dir, -workflows-dir and -health-addr.

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "brfed/env.h"
#include "kube/stop_signal.h"
#include "manager/manager.h"
#include "manager/options.h"

namespace {

brfed::kube::StopSignal* g_stop = nullptr;

// SIGTERM/SIGINT: stop gracefully (the run state is journaled; nothing is lost either way).
void WaitForSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  if (g_stop != nullptr) g_stop->Stop();
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "-help" || a == "--help") {
      std::cout << brfed::manager::ManagerUsage();
      return 0;
    }
  }
  brfed::Result<brfed::manager::ManagerOptions> options =
      brfed::manager::ParseManagerFlags(argc, argv, [](const char* n) { return std::getenv(n); });
  if (!options.ok()) {
    std::cerr << "br-federation-manager: " << options.status().message() << "\n";
    return 2;
  }
  if (options->print_version) {
    std::cout << "br-federation-manager (brfed) 0.1.0\n";
    return 0;
  }
  // Block the stop signals in every thread; one thread waits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto manager = brfed::manager::Manager::Create(*options, brfed::Env::Default());
  if (!manager.ok()) {
    std::cerr << "br-federation-manager: " << manager.status().ToString() << "\n";
    return 1;
  }
  brfed::kube::StopSignal stop;
  g_stop = &stop;
  std::thread signals(WaitForSignals);
  signals.detach();
  brfed::Status s = (*manager)->Run(&stop);
  if (!s.ok()) {
    std::cerr << "br-federation-manager: " << s.ToString() << "\n";
    return 1;
  }
  return 0;
}
