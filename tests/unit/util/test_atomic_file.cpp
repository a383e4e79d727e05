// Atomic writes: single files through a temporary file and a rename, output directories through
// a staging directory committed at the end.
#include <doctest/doctest.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "llmc/util/atomic_file.h"
#include "llmc/util/error.h"
#include "test_support.h"

namespace fs = std::filesystem;
using llmc::InternalError;
using llmc::UsageError;
using llmc::util::OutputDir;
using llmc::util::OutputLock;
using llmc::util::write_file_atomic;

extern char** environ;

namespace {

// Names of the entries directly inside `dir`, sorted.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The message of the UsageError that constructing an OutputDir throws ("" if none).
std::string usage_error(const std::string& target, bool force,
                        const std::vector<std::string>& protected_paths = {}) {
  try {
    OutputDir out(target, force, protected_paths);
  } catch (const UsageError& e) {
    return e.what();
  }
  FAIL("expected a UsageError for " << target);
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("write_file_atomic writes the exact bytes and leaves no temporary file") {
  llmc::test::TempDir dir;
  const std::string path = (dir.path() / "report.json").string();
  const std::string bytes = std::string("a\0b\r\n\xff", 6) + std::string(100000, 'z');
  write_file_atomic(path, bytes);
  CHECK(llmc::test::read_text(path) == bytes);
  CHECK(entries(dir.path()) == std::vector<std::string>{"report.json"});
}

TEST_CASE("write_file_atomic writes an empty file") {
  llmc::test::TempDir dir;
  const std::string path = (dir.path() / "empty").string();
  write_file_atomic(path, "");
  CHECK(fs::exists(path));
  CHECK(fs::file_size(path) == 0);
}

TEST_CASE("write_file_atomic replaces an existing file") {
  llmc::test::TempDir dir;
  const std::string path = dir.write("f.txt", "old content that is longer than the new one");
  write_file_atomic(path, "new");
  CHECK(llmc::test::read_text(path) == "new");
  CHECK(entries(dir.path()) == std::vector<std::string>{"f.txt"});
}

TEST_CASE("write_file_atomic throws InternalError naming the path when the directory is missing") {
  llmc::test::TempDir dir;
  const fs::path missing = dir.path() / "no-such-dir";
  const std::string path = (missing / "f.txt").string();
  std::string message;
  try {
    write_file_atomic(path, "x");
    FAIL("expected an InternalError");
  } catch (const InternalError& e) {
    message = e.what();
  }
  CHECK(contains(message, missing.string()));
  CHECK(contains(message, "f.txt"));
  CHECK_FALSE(fs::exists(missing));
  CHECK(entries(dir.path()).empty());
}

TEST_CASE("write_file_atomic onto a directory fails cleanly, leaving no temporary file") {
  llmc::test::TempDir dir;
  dir.write("target/inside.txt", "x");
  const std::string path = (dir.path() / "target").string();
  CHECK_THROWS_AS(write_file_atomic(path, "bytes"), InternalError);
  CHECK(entries(dir.path()) == std::vector<std::string>{"target"});
  CHECK(llmc::test::read_text(path + "/inside.txt") == "x");
}

TEST_CASE("OutputDir refuses an empty target, mentioning --out") {
  const std::string message = usage_error("", false);
  CHECK(contains(message, "--out"));
  CHECK(usage_error("", true) == message);
}

TEST_CASE("OutputDir refuses an existing directory without --force") {
  llmc::test::TempDir dir;
  dir.write("out/keep.txt", "keep");
  const std::string target = (dir.path() / "out").string();
  const std::string message = usage_error(target, false);
  CHECK(contains(message, "--force"));
  CHECK(contains(message, target));
  // Nothing was touched or left behind.
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
  CHECK(llmc::test::read_text(target + "/keep.txt") == "keep");
}

TEST_CASE("OutputDir refuses a target that is an existing file, even with --force") {
  llmc::test::TempDir dir;
  const std::string target = dir.write("out", "a file");
  CHECK(contains(usage_error(target, false), "not a directory"));
  CHECK(contains(usage_error(target, true), "not a directory"));
  CHECK(llmc::test::read_text(target) == "a file");
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
}

TEST_CASE("OutputDir refuses a target that contains or is a protected path, even with --force") {
  llmc::test::TempDir dir;
  const std::string model = dir.write("out/model.pt", "weights");
  const std::string target = (dir.path() / "out").string();
  const std::string message = usage_error(target, true, {model});
  CHECK(contains(message, model));
  CHECK(contains(message, "--out"));
  // The target equal to an input.
  CHECK_FALSE(usage_error(model, true, {model}).empty());
  // The parent of the input's directory.
  CHECK_FALSE(usage_error(dir.path().string(), true, {model}).empty());
  // The same target reached through a non-normalized path.
  CHECK_FALSE(usage_error((dir.path() / "x" / ".." / "out").string(), true, {model}).empty());
  CHECK(llmc::test::read_text(model) == "weights");
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
}

TEST_CASE("OutputDir accepts a sibling whose name merely starts like a protected path") {
  llmc::test::TempDir dir;
  const std::string model = dir.write("out/model.pt", "weights");
  const std::string target = (dir.path() / "out2").string();
  OutputDir out(target, false, {model, ""});
  write_file_atomic(out.file("a.txt"), "a");
  out.commit();
  CHECK(llmc::test::read_text(target + "/a.txt") == "a");
}

TEST_CASE("OutputDir: staged files are invisible at the target until commit()") {
  llmc::test::TempDir dir;
  const std::string target = (dir.path() / "out").string();
  {
    OutputDir out(target, false, {});
    CHECK(out.target() == target);
    CHECK(fs::is_directory(out.staging_path()));
    CHECK(fs::path(out.staging_path()).parent_path() == dir.path());
    CHECK(out.file("report.json") == (fs::path(out.staging_path()) / "report.json").string());
    write_file_atomic(out.file("report.json"), "{}\n");
    write_file_atomic(out.file("model.pt"), "weights");
    CHECK_FALSE(fs::exists(target));
    out.commit();
    CHECK_FALSE(fs::exists(out.staging_path()));
  }
  CHECK(fs::is_directory(target));
  CHECK(entries(target) == std::vector<std::string>{"model.pt", "report.json"});
  CHECK(llmc::test::read_text(target + "/report.json") == "{}\n");
  CHECK(llmc::test::read_text(target + "/model.pt") == "weights");
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
}

TEST_CASE("OutputDir creates missing parent directories of the target") {
  llmc::test::TempDir dir;
  const std::string target = (dir.path() / "a" / "b" / "out").string();
  {
    OutputDir out(target, false, {});
    write_file_atomic(out.file("f"), "1");
    out.commit();
  }
  CHECK(llmc::test::read_text(target + "/f") == "1");
  CHECK(entries(dir.path() / "a" / "b") == std::vector<std::string>{"out"});
}

TEST_CASE("OutputDir with --force: commit() replaces the old directory's content") {
  llmc::test::TempDir dir;
  dir.write("out/old.txt", "old");
  dir.write("out/sub/older.txt", "older");
  dir.write("out/report.json", "old report");
  const std::string target = (dir.path() / "out").string();
  {
    OutputDir out(target, true, {});
    write_file_atomic(out.file("report.json"), "new report");
    // Before commit the old content is still in place.
    CHECK(llmc::test::read_text(target + "/old.txt") == "old");
    out.commit();
  }
  CHECK(entries(target) == std::vector<std::string>{"report.json"});
  CHECK(llmc::test::read_text(target + "/report.json") == "new report");
  // Neither the staging nor the moved-aside old directory is left behind.
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
}

TEST_CASE("OutputDir: destroying it uncommitted leaves neither target nor staging") {
  llmc::test::TempDir dir;
  const std::string target = (dir.path() / "out").string();
  std::string staging;
  {
    OutputDir out(target, false, {});
    staging = out.staging_path();
    write_file_atomic(out.file("report.json"), "{}");
    dir.write(fs::path(staging).filename().string() + "/nested/deep.txt", "x");
  }
  CHECK_FALSE(fs::exists(staging));
  CHECK_FALSE(fs::exists(target));
  CHECK(entries(dir.path()).empty());
}

TEST_CASE("OutputDir: an uncommitted --force run leaves the old directory untouched") {
  llmc::test::TempDir dir;
  dir.write("out/old.txt", "old");
  const std::string target = (dir.path() / "out").string();
  {
    OutputDir out(target, true, {});
    write_file_atomic(out.file("old.txt"), "new");
  }
  CHECK(entries(target) == std::vector<std::string>{"old.txt"});
  CHECK(llmc::test::read_text(target + "/old.txt") == "old");
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
}

TEST_CASE("OutputDir: a target with a trailing slash works like one without") {
  // `--out out/` reaches OutputDir as "…/out/" (lexically_normal keeps the slash).
  llmc::test::TempDir dir;
  const std::string target = (dir.path() / "out").string() + "/";
  {
    OutputDir out(target, false, {});
    // The staging directory must lie beside the target, not inside it.
    CHECK(fs::path(out.staging_path()).parent_path() == dir.path());
    CHECK_FALSE(fs::exists(dir.path() / "out"));
    write_file_atomic(out.file("f"), "1");
    out.commit();
  }
  CHECK(llmc::test::read_text((dir.path() / "out" / "f").string()) == "1");
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
}

TEST_CASE("OutputDir locks its target: a second one on the same output is refused at once") {
  llmc::test::TempDir dir;
  const std::string target = (dir.path() / "out").string();
  {
    OutputDir first(target, false, {});
    CHECK(fs::exists(dir.path() / ".out.llmc-lock"));
    CHECK(OutputLock::lock_path(target) == (dir.path() / ".out.llmc-lock").string());
    // Whatever the spelling of the output, and with --force too.
    for (const std::string& other : {target, target + "/", (dir.path() / "." / "out").string()}) {
      CAPTURE(other);
      const std::string e = usage_error(other, true);
      CHECK(contains(e, "output " + (other.back() == '/' ? target : other) + " is in use"));
      CHECK(contains(e, "is in use: another llmc run holds it"));
    }
    write_file_atomic(first.file("f"), "1");
    first.commit();
  }
  // Released and removed with the OutputDir; the next run takes it again.
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
  {
    OutputDir again(target, true, {});
    again.commit();
  }
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
}

TEST_CASE("OutputLock held by the caller keeps an OutputDir off the output") {
  llmc::test::TempDir dir;
  const std::string target = (dir.path() / "out").string();
  std::string e;
  {
    OutputLock lock(target);
    e = usage_error(target, false);
  }
  CHECK(contains(e, "another llmc run holds it (lock file " + (dir.path() / ".out.llmc-lock").string()));
  CHECK_FALSE(fs::exists(dir.path() / "out"));
  CHECK(entries(dir.path()).empty());
}

TEST_CASE("OutputLock does not follow a symlink planted at the lock file's name") {
  llmc::test::TempDir dir;
  const auto victim = dir.write("victim", "precious");
  fs::create_symlink(victim, dir.path() / ".out.llmc-lock");
  CHECK_THROWS_AS(OutputLock((dir.path() / "out").string()), llmc::InternalError);
  CHECK(llmc::test::read_text(victim) == "precious");
}

namespace {

// The PID of a process that has exited and been reaped: no process has it now.
pid_t dead_pid() {
  pid_t pid = 0;
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  REQUIRE(posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return pid;
}

}  // namespace

TEST_CASE("exchange_paths swaps two directories in one step") {
  llmc::test::TempDir dir;
  dir.write("a/from_a.txt", "a");
  dir.write("b/from_b.txt", "b");
  REQUIRE(llmc::util::exchange_paths((dir.path() / "a").string(), (dir.path() / "b").string()));
  CHECK(entries(dir.path() / "a") == std::vector<std::string>{"from_b.txt"});
  CHECK(entries(dir.path() / "b") == std::vector<std::string>{"from_a.txt"});
  CHECK_FALSE(llmc::util::exchange_paths((dir.path() / "a").string(),
                                         (dir.path() / "missing").string()));
}

TEST_CASE("recover_leftovers restores an output moved aside by a killed run, removes the rest") {
  llmc::test::TempDir dir;
  const std::string target = (dir.path() / "out").string();
  const std::string dead = std::to_string(dead_pid());
  SUBCASE("killed between the two renames: the old output comes back") {
    dir.write(".out.llmc-old-" + dead + "-1a2b/report.json", "old");
    dir.write(".out.llmc-staging-" + dead + "-3c/report.json", "new, never committed");
    const auto done = llmc::util::recover_leftovers(target);
    CHECK(done.size() == 2);
    CHECK(llmc::test::read_text(target + "/report.json") == "old");
    CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
  }
  SUBCASE("killed after the swap: the moved-aside old output goes") {
    dir.write("out/report.json", "new");
    dir.write(".out.llmc-old-" + dead + "-ff/report.json", "old");
    llmc::util::recover_leftovers(target + "/");
    CHECK(llmc::test::read_text(target + "/report.json") == "new");
    CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
  }
  SUBCASE("nothing else is touched: live PIDs, other names, other outputs, files") {
    const std::vector<std::string> kept = {
        ".out.llmc-old-1-ab",  // PID 1 runs
        ".out.llmc-staging-" + std::to_string(::getpid()) + "-ab",  // this process
        ".out.llmc-old-" + dead + "-notes",                          // not llmc's naming
        ".out.llmc-old-" + dead,
        ".other.llmc-staging-" + dead + "-ab",                       // another output
        "out.llmc-staging-" + dead + "-ab",                          // not hidden
        ".out.llmc-backup-" + dead + "-ab"};
    for (const auto& name : kept) dir.write(name + "/mine.txt", "mine");
    dir.write(".out.llmc-staging-" + dead + "-cd", "a file, not a directory");
    CHECK(llmc::util::recover_leftovers(target).empty());
    CHECK(entries(dir.path()).size() == kept.size() + 1);
    CHECK_FALSE(fs::exists(target));
  }
}

TEST_CASE("OutputDir recovers at start: the output a killed run moved aside is back before the check") {
  llmc::test::TempDir dir;
  const std::string target = (dir.path() / "out").string();
  dir.write(".out.llmc-old-" + std::to_string(dead_pid()) + "-12/report.json", "old");
  // Restored, so without --force it is an existing output again.
  CHECK(contains(usage_error(target, false), "already exists; pass --force to replace it"));
  CHECK(llmc::test::read_text(target + "/report.json") == "old");
  CHECK(entries(dir.path()) == std::vector<std::string>{"out"});
}
