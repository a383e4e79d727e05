#include "llmc/util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "llmc/util/signal_cleanup.h"

extern char** environ;

namespace llmc::util {

namespace {

// `name` as execvp would find it on PATH (looked up before the child exists: execvp may
// allocate, which a vfork child must not).
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;  // execve fails: exit 127, as a shell reports a missing command
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& args) {
  if (args.empty()) throw std::runtime_error("run_process: no program");
  int out_fds[2], err_fds[2];
  // Close-on-exec: the child's dup2 copies are the only ends it keeps.
  if (pipe2(out_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (pipe2(err_fds, O_CLOEXEC) != 0) {
    close(out_fds[0]);
    close(out_fds[1]);
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string program = find_program(args[0]);
  const pid_t parent = ::getpid();
  pid_t pid = -1;
  int spawn_errno = 0;
  std::optional<KillOnSignal> kill_on_signal;
  {
    // The child must not run the parent's SIGINT/SIGTERM handler (it would remove the parent's
    // files), and the parent registers it before the handler can run.
    const SignalBlock block;
    pid = ::vfork();
    if (pid == 0) {
      // The child, sharing the parent's memory until execve: system calls only. It dies with
      // the parent (even by SIGKILL), never an orphan still loading a model.
      if (!prepare_child(parent, block.previous())) ::_exit(127);
      const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (in < 0 || ::dup2(in, STDIN_FILENO) < 0 || ::dup2(out_fds[1], STDOUT_FILENO) < 0 ||
          ::dup2(err_fds[1], STDERR_FILENO) < 0) {
        ::_exit(127);
      }
      ::execve(program.c_str(), argv.data(), environ);
      ::_exit(127);
    }
    spawn_errno = errno;
    if (pid > 0) kill_on_signal.emplace(pid);
  }
  close(out_fds[1]);
  close(err_fds[1]);
  if (pid < 0) {
    close(out_fds[0]);
    close(err_fds[0]);
    throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(spawn_errno));
  }
  ProcessResult r;
  pollfd fds[2] = {{out_fds[0], POLLIN, 0}, {err_fds[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace llmc::util
