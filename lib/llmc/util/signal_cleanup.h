// What a run leaves behind when SIGINT or SIGTERM stops it: nothing of its own. main installs
// one handler; while they live, RemoveOnSignal and KillOnSignal register what it must undo (the
// output's staging directory and lock file, temporary files, child processes). On the signal it
// kills and reaps the children, removes the paths, and exits 130 (SIGINT) or 143 (SIGTERM)
// (ExitCode::interrupted, ExitCode::terminated). The handler does only async-signal-safe work on
// paths copied when they were registered: kill, waitpid, open, getdents64, unlinkat, _exit.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>

namespace llmc::util {

// Installs the SIGINT and SIGTERM handler. A signal the process was started with ignored (as a
// shell starts background jobs with SIGINT) stays ignored.
void install_signal_cleanup();

// While alive, a path the handler removes: a file, or a directory with everything in it (a
// symlink is removed, never followed).
class RemoveOnSignal {
 public:
  enum class Kind { file, tree };
  RemoveOnSignal(const std::string& path, Kind kind);
  ~RemoveOnSignal();
  RemoveOnSignal(const RemoveOnSignal&) = delete;
  RemoveOnSignal& operator=(const RemoveOnSignal&) = delete;

 private:
  int slot_ = -1;
};

// While alive, a child process the handler kills (SIGKILL) and reaps.
class KillOnSignal {
 public:
  explicit KillOnSignal(pid_t pid);
  ~KillOnSignal();
  KillOnSignal(const KillOnSignal&) = delete;
  KillOnSignal& operator=(const KillOnSignal&) = delete;

 private:
  int slot_ = -1;
};

// Blocks SIGINT and SIGTERM in the calling thread while alive: around creating a child, so that
// the child never runs the handler on its parent's paths, and the parent registers the child
// before the handler can run.
class SignalBlock {
 public:
  SignalBlock();
  ~SignalBlock();
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;
  // The mask the thread had before: what a child restores before exec.
  const sigset_t& previous() const { return previous_; }

 private:
  sigset_t previous_;
};

// In a child between fork and execve (async-signal-safe system calls only): it dies with the
// parent, even by SIGKILL (false: the parent `parent` is already gone), and SIGINT, SIGTERM and
// the signal mask (`mask`: SignalBlock::previous()) are back to what the parent had before it
// installed its handler, so the child never runs the parent's cleanup.
bool prepare_child(pid_t parent, const sigset_t& mask);

}  // namespace llmc::util
