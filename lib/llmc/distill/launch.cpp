#include "llmc/distill/launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "llmc/util/error.h"
#include "llmc/util/log.h"
#include "llmc/util/signal_cleanup.h"

extern char** environ;

namespace llmc::distill {

namespace {

using Clock = std::chrono::steady_clock;

// The variables a worker gets; any of them in our own environment is replaced.
const char* const kWorldVars[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                                  "MASTER_ADDR", "MASTER_PORT"};

std::vector<std::string> worker_environment(int rank, int nproc, int port) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool ours = false;
    for (const char* v : kWorldVars) {
      ours = ours || entry.rfind(std::string(v) + "=", 0) == 0;
    }
    if (!ours) env.push_back(entry);
  }
  env.push_back(fmt::format("RANK={}", rank));
  env.push_back(fmt::format("WORLD_SIZE={}", nproc));
  env.push_back(fmt::format("LOCAL_RANK={}", rank));
  env.push_back(fmt::format("LOCAL_WORLD_SIZE={}", nproc));
  env.push_back("MASTER_ADDR=127.0.0.1");
  env.push_back(fmt::format("MASTER_PORT={}", port));
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct Worker {
  pid_t pid = -1;
  int rank = 0;
  bool running = true;
  std::unique_ptr<util::KillOnSignal> kill_on_signal;
};

pid_t start_worker(std::vector<std::string> args, int rank, int nproc, int port,
                   const sigset_t& mask) {
  auto env = worker_environment(rank, nproc, port);
  auto argv = pointers(args);
  auto envp = pointers(env);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child: system calls only until execve. It dies with the launcher (even by SIGKILL).
  if (!util::prepare_child(parent, mask)) ::_exit(127);
  if (rank != 0) {  // one result on stdout: rank 0's
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0) ::_exit(127);
  }
  ::execve("/proc/self/exe", argv.data(), envp.data());
  ::_exit(127);
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return fmt::format("exited with code {}", WEXITSTATUS(status));
}

}  // namespace

std::vector<std::string> without_nproc(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw InternalError(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw InternalError("cannot find a free port on 127.0.0.1: " + why);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

void run_local_workers(int nproc, const std::vector<std::string>& args, std::chrono::seconds grace) {
  const int port = free_local_port();
  log::info("starting {} workers on this machine (MASTER_ADDR=127.0.0.1 MASTER_PORT={})", nproc,
            port);
  std::vector<Worker> workers(static_cast<size_t>(nproc));
  for (int rank = 0; rank < nproc; ++rank) {
    Worker& w = workers[static_cast<size_t>(rank)];
    w.rank = rank;
    // The child must not run our SIGINT/SIGTERM handler, and is registered before it can run.
    const util::SignalBlock block;
    w.pid = start_worker(args, rank, nproc, port, block.previous());
    if (w.pid < 0) {
      const std::string why = std::strerror(errno);
      for (auto& other : workers) {
        if (other.pid > 0) ::kill(other.pid, SIGKILL);
      }
      throw InternalError("cannot start a worker process: " + why);
    }
    w.kill_on_signal = std::make_unique<util::KillOnSignal>(w.pid);
  }

  int running = nproc;
  std::string failure;
  int failure_code = 0;
  Clock::time_point stop_deadline{};
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, failure.empty() ? 0 : WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;  // no children left
    if (pid == 0) {      // stopping the others: SIGKILL once the grace period is over
      if (Clock::now() >= stop_deadline) {
        for (auto& w : workers) {
          if (w.running) ::kill(w.pid, SIGKILL);
        }
        stop_deadline = Clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    for (auto& w : workers) {
      if (w.pid != pid || !w.running) continue;
      w.running = false;
      w.kill_on_signal.reset();
      --running;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (ok || !failure.empty()) break;
      failure = fmt::format("worker {} of {} {}{}", w.rank, nproc, describe(status),
                            WIFEXITED(status) ? " (its error is above)" : "");
      failure_code = WIFEXITED(status) ? WEXITSTATUS(status) : static_cast<int>(ExitCode::internal);
      if (running > 0) log::warn("{}: stopping the other workers", failure);
      for (auto& other : workers) {
        if (other.running) ::kill(other.pid, SIGTERM);
      }
      stop_deadline = Clock::now() + grace;
    }
  }
  if (!failure.empty()) {
    throw WorkerFailure(failure + "; the run failed, the other workers were stopped",
                        failure_code);
  }
}

}  // namespace llmc::distill
