#include "llmc/util/signal_cleanup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "llmc/util/error.h"

namespace llmc::util {

namespace {

// A slot is free, being filled by its owner, registered, or taken by the handler. The handler
// reads only registered slots and takes each before reading it; an owner frees only a slot
// the handler has not taken, so neither ever sees the other's half-written path.
enum SlotState : int { slot_free = 0, slot_filling = 1, slot_registered = 2, slot_taken = 3 };

constexpr int kSlots = 64;
constexpr size_t kPathBytes = 4096;

struct PathSlot {
  std::atomic<int> state{slot_free};
  RemoveOnSignal::Kind kind = RemoveOnSignal::Kind::file;
  char path[kPathBytes] = {};
};

struct PidSlot {
  std::atomic<int> state{slot_free};
  pid_t pid = 0;
};

PathSlot g_paths[kSlots];
PidSlot g_pids[kSlots];
std::atomic<bool> g_handling{false};

static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free,
              "the handler needs lock-free atomics");

template <class Slot>
int take_free_slot(Slot (&slots)[kSlots]) {
  for (int i = 0; i < kSlots; ++i) {
    int expected = slot_free;
    if (slots[i].state.compare_exchange_strong(expected, slot_filling)) return i;
  }
  throw InternalError("too many paths and processes to clean up on a signal (64 of each)");
}

template <class Slot>
void release_slot(Slot (&slots)[kSlots], int i) {
  if (i < 0) return;
  int expected = slot_registered;
  if (!slots[i].state.compare_exchange_strong(expected, slot_free)) {
    // The handler, on another thread, has taken it and ends the process: wait for that.
    for (;;) ::pause();
  }
}

template <class Slot>
bool take_registered(Slot& slot) {
  int expected = slot_registered;
  return slot.state.compare_exchange_strong(expected, slot_taken);
}

// linux_dirent64, as getdents64 fills it.
struct Dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[1];
};

// Removes everything inside the open directory `dir` (subdirectories up to `depth` levels).
// Entries removed while reading can make getdents64 skip others: read again until a pass
// removes nothing.
void remove_contents(int dir, int depth) {
  alignas(8) char buf[4096];
  for (int pass = 0; pass < 1000; ++pass) {
    if (::lseek(dir, 0, SEEK_SET) < 0) return;
    bool removed = false;
    for (;;) {
      const long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
      if (n <= 0) break;
      for (long at = 0; at < n;) {
        const auto* d = reinterpret_cast<const Dirent64*>(buf + at);
        at += d->reclen;
        const char* name = d->name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
        if (d->type != DT_DIR && ::unlinkat(dir, name, 0) == 0) {
          removed = true;
          continue;
        }
        if (depth > 0) {
          const int sub = ::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0) {
            remove_contents(sub, depth - 1);
            ::close(sub);
          }
        }
        if (::unlinkat(dir, name, AT_REMOVEDIR) == 0) removed = true;
      }
    }
    if (!removed) return;
  }
}

void remove_tree(const char* path) {
  const int dir = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) {
    ::unlink(path);  // a symlink or a file in its place: the entry, never what it points to
    return;
  }
  remove_contents(dir, 16);
  ::close(dir);
  ::rmdir(path);
}

extern "C" void on_signal(int sig) {
  bool expected = false;
  if (!g_handling.compare_exchange_strong(expected, true)) {
    for (;;) ::pause();  // the first signal's handler is cleaning up and ends the process
  }
  // Children first, so that none writes into what is removed next.
  for (auto& slot : g_pids) {
    if (!take_registered(slot)) continue;
    ::kill(slot.pid, SIGKILL);
    while (::waitpid(slot.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  for (auto& slot : g_paths) {
    if (!take_registered(slot)) continue;
    if (slot.kind == RemoveOnSignal::Kind::tree) {
      remove_tree(slot.path);
    } else {
      ::unlink(slot.path);
    }
  }
  ::_exit(static_cast<int>(sig == SIGINT ? ExitCode::interrupted : ExitCode::terminated));
}

}  // namespace

void install_signal_cleanup() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  for (const int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &action, nullptr);
  }
}

RemoveOnSignal::RemoveOnSignal(const std::string& path, Kind kind) {
  if (path.empty() || path.size() >= kPathBytes) {
    throw InternalError("cannot register " + path + " for removal on a signal: path too long");
  }
  slot_ = take_free_slot(g_paths);
  PathSlot& slot = g_paths[slot_];
  slot.kind = kind;
  std::memcpy(slot.path, path.c_str(), path.size() + 1);
  slot.state.store(slot_registered, std::memory_order_release);
}

RemoveOnSignal::~RemoveOnSignal() { release_slot(g_paths, slot_); }

KillOnSignal::KillOnSignal(pid_t pid) {
  slot_ = take_free_slot(g_pids);
  g_pids[slot_].pid = pid;
  g_pids[slot_].state.store(slot_registered, std::memory_order_release);
}

KillOnSignal::~KillOnSignal() { release_slot(g_pids, slot_); }

SignalBlock::SignalBlock() {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &previous_);
}

SignalBlock::~SignalBlock() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

bool prepare_child(pid_t parent, const sigset_t& mask) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) return false;
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGINT, &dfl, nullptr);
  ::sigaction(SIGTERM, &dfl, nullptr);
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  return true;
}

}  // namespace llmc::util
