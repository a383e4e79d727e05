// Stopping a run (issue 16, F4 and F5): SIGINT and SIGTERM leave nothing of the run behind (no
// staging directory, lock file, probe temporary file or `llmc __memory-probe` child) and the
// previous output intact, exit 130 and 143; a run killed with SIGKILL takes its probe child with
// it, and the next run on that output removes what it left; an output that a killed run had moved
// aside comes back.
#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::read_text;
using llmc::test::run_llmc;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

extern char** environ;

namespace {

using llmc::test::has;

// `llmc args...` started in `cwd` with TMPDIR=`tmp`, stdout and stderr into files in `cwd`.
// SIGINT and SIGTERM have their default dispositions in it, whatever the test runner's are.
pid_t start_llmc(const std::vector<std::string>& args, const std::string& cwd,
                 const std::string& tmp) {
  // $0 is the directory; shift 3 drops TMPDIR, the binary and "-", leaving the arguments.
  std::vector<std::string> argv_s = {
      "/bin/sh", "-c",
      "cd \"$0\" && export TMPDIR=\"$1\" && bin=\"$2\" && shift 3 && "
      "exec \"$bin\" \"$@\" </dev/null >llmc.out 2>llmc.err"};
  argv_s.push_back(cwd);
  argv_s.push_back(tmp);
  argv_s.push_back(std::getenv("LLMC_BIN"));
  argv_s.push_back("-");
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  REQUIRE(rc == 0);
  return pid;
}

// Exit code as a shell reports it (128 + signal when killed by one); `killed` says which.
int wait_exit(pid_t pid, bool* killed = nullptr) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  if (killed != nullptr) *killed = WIFSIGNALED(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// /proc/PID/stat's parent and state, or state 0 when no such process.
struct ProcStat {
  char state = 0;
  pid_t ppid = 0;
};
ProcStat proc_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  ProcStat s;
  if (paren == std::string::npos || paren + 4 >= text.size()) return s;
  s.state = text[paren + 2];
  s.ppid = static_cast<pid_t>(std::atol(text.c_str() + paren + 4));
  return s;
}

bool running(pid_t pid) {
  const char state = proc_stat(pid).state;
  return state != 0 && state != 'Z' && state != 'X';
}

// The `llmc __memory-probe` child of `parent`, waited for up to a minute; 0 if none came.
pid_t wait_for_probe(pid_t parent) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline && running(parent)) {
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string name = e.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      const auto pid = static_cast<pid_t>(std::stol(name));
      if (proc_stat(pid).ppid != parent) continue;
      if (has(read_text("/proc/" + name + "/cmdline"), "__memory-probe")) return pid;
    }
    std::this_thread::sleep_for(5ms);
  }
  return 0;
}

bool gone_within(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (running(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Entries of `dir` whose names start with `prefix`.
std::vector<std::string> named(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

std::string bert_recipe() {
  return "recipe_version: 1\nmodel: " + fixture("bert_tiny.pt") +
         "\noutput: out\nthreads: 1\nexample_inputs:\n"
         "  - {name: input_ids, shape: [2, 8], dtype: int64, range: [0, 1000]}\n"
         "  - {name: attention_mask, shape: [2, 8], dtype: int64, fill: 1}\n"
         "bench: {warmup: 0, runs: 1}\n";
}

}  // namespace

TEST_CASE("SIGTERM or SIGINT during a run: exit 143 or 130, nothing left, the old output intact") {
  llmc::test::TempDir dir;
  const auto tmp = dir.path() / "tmp";
  fs::create_directories(tmp);
  dir.write("out/report.json", "the previous run's");
  const auto recipe = dir.write("r.yaml", bert_recipe() + "quantize: {scheme: dynamic-int8}\n");
  for (const auto& [sig, code] : {std::pair<int, int>{SIGTERM, 143}, {SIGINT, 130}}) {
    CAPTURE(sig);
    const pid_t llmc = start_llmc({"quantize", "r.yaml", "--force"}, dir.path().string(),
                                  tmp.string());
    // The probe child runs while the staging directory exists: the worst moment.
    const pid_t probe = wait_for_probe(llmc);
    REQUIRE_MESSAGE(probe != 0, read_text((dir.path() / "llmc.err").string()));
    CHECK(named(dir.path(), ".out.llmc-staging-").size() == 1);
    REQUIRE(::kill(llmc, sig) == 0);
    bool killed = true;
    CHECK(wait_exit(llmc, &killed) == code);
    CHECK_FALSE(killed);  // it exited, after cleaning up, rather than died of the signal
    CHECK(gone_within(probe, 5000ms));
    CHECK(named(dir.path(), ".out.").empty());  // staging, lock file, moved-aside output
    CHECK(named(tmp, "llmc-probe-").empty());
    CHECK(named(dir.path() / "out", "").size() == 1);
    CHECK(read_text((dir.path() / "out/report.json").string()) == "the previous run's");
  }
}

TEST_CASE("SIGKILL during a run takes the probe child along; the next run removes the leftovers") {
  llmc::test::TempDir dir;
  const auto tmp = dir.path() / "tmp";
  fs::create_directories(tmp);
  const auto recipe = dir.write("r.yaml", bert_recipe() + "eval_freeze: {}\n");
  const pid_t llmc = start_llmc({"eval-freeze", "r.yaml"}, dir.path().string(), tmp.string());
  const pid_t probe = wait_for_probe(llmc);
  REQUIRE_MESSAGE(probe != 0, read_text((dir.path() / "llmc.err").string()));
  REQUIRE(::kill(llmc, SIGKILL) == 0);
  CHECK(wait_exit(llmc) == 128 + SIGKILL);
  // PR_SET_PDEATHSIG: no orphan left loading a model.
  CHECK(gone_within(probe, 5000ms));
  const auto staging = named(dir.path(), ".out.llmc-staging-");
  REQUIRE(staging.size() == 1);  // SIGKILL cannot be handled
  const auto r = run_llmc({"eval-freeze", recipe}, dir.path().string());
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(has(r.err, "removed " + (dir.path() / staging[0]).string() +
                       ", left by a run that was killed"));
  CHECK(named(dir.path(), ".out.").empty());
  CHECK(fs::exists(dir.path() / "out/model.pt"));
}

TEST_CASE("an output a killed run had moved aside is put back by the next run") {
  llmc::test::TempDir dir;
  // What the two-rename replacement leaves when killed between its renames, from a dead PID.
  pid_t dead = 0;
  {
    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    REQUIRE(posix_spawn(&dead, "/bin/true", nullptr, nullptr, argv, environ) == 0);
    wait_exit(dead);
  }
  const std::string aside = ".out.llmc-old-" + std::to_string(dead) + "-a1";
  dir.write(aside + "/report.json", "the previous run's");
  const auto recipe = dir.write("r.yaml", bert_recipe() + "eval_freeze: {}\n");
  const auto r = run_llmc({"eval-freeze", recipe}, dir.path().string());
  INFO(r.err);
  CHECK(r.code == 2);  // it is back, so it is an existing output again
  const std::string out = (dir.path() / "out").string();
  CHECK(has(r.err, "llmc: warning: restored " + out + " from " + aside));
  CHECK(has(r.err, "output directory " + out + " already exists; pass --force to replace it"));
  CHECK(read_text((dir.path() / "out/report.json").string()) == "the previous run's");
  CHECK(named(dir.path(), ".out.").empty());
}
