// Runs a child process (looked up on PATH) and collects its exit status, stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace llmc::util {

struct ProcessResult {
  int exit_code = -1;   // -1: killed by a signal (see signal)
  int signal = 0;
  std::string out;
  std::string err;
  bool ok() const { return exit_code == 0; }
};

// Throws std::runtime_error when the program cannot be started. The child dies with the calling
// thread's process (PR_SET_PDEATHSIG), and SIGINT or SIGTERM of the parent kills it first
// (util/signal_cleanup.h).
ProcessResult run_process(const std::vector<std::string>& args);

}  // namespace llmc::util
