// Input files are checked before they are opened: a FIFO would block a read forever.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "llmc/util/file_check.h"
#include "test_support.h"

using llmc::util::FileProblem;
using llmc::util::input_file_problem;

TEST_CASE("input_file_problem: regular files pass; missing, directories, FIFOs, devices do not") {
  llmc::test::TempDir dir;
  const auto file = dir.write("f.txt", "x");
  CHECK_FALSE(input_file_problem(file).has_value());
  CHECK(input_file_problem((dir.path() / "none").string())->kind == FileProblem::Kind::missing);
  CHECK(input_file_problem(dir.path().string())->kind == FileProblem::Kind::directory);
  const auto fifo = (dir.path() / "pipe").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto p = input_file_problem(fifo);
  REQUIRE(p.has_value());
  CHECK(p->kind == FileProblem::Kind::not_regular);
  CHECK(p->message == "it is a FIFO (named pipe), not a regular file");
  CHECK(input_file_problem("/dev/null")->message ==
        "it is a character device, not a regular file");
  // A symlink is followed, as opening it would.
  std::filesystem::create_symlink(fifo, dir.path() / "link");
  CHECK(input_file_problem((dir.path() / "link").string())->kind ==
        FileProblem::Kind::not_regular);
}

TEST_CASE("input_file_problem: an unreadable file is permission denied") {
  // root reads every file, so this cannot be seen when the tests run as root.
  if (::geteuid() == 0) {
    MESSAGE("skipped: running as root, which may read any file");
    return;
  }
  llmc::test::TempDir dir;
  const auto file = dir.write("secret", "x");
  REQUIRE(::chmod(file.c_str(), 0) == 0);
  const auto p = input_file_problem(file);
  REQUIRE(p.has_value());
  CHECK(p->kind == FileProblem::Kind::permission_denied);
  CHECK(p->message == "permission denied");
}

TEST_CASE("problem_from_errno: the words for an open or stat that failed") {
  using Kind = FileProblem::Kind;
  const auto denied = llmc::util::problem_from_errno(EACCES);
  CHECK(denied.kind == Kind::permission_denied);
  CHECK(denied.message == "permission denied");
  CHECK(llmc::util::problem_from_errno(EPERM).message == "permission denied");
  CHECK(llmc::util::problem_from_errno(ENOENT).kind == Kind::missing);
  CHECK(llmc::util::problem_from_errno(ENOENT).message == "no such file");
  CHECK(llmc::util::problem_from_errno(EISDIR).kind == Kind::directory);
  CHECK(llmc::util::problem_from_errno(EIO).message == std::string(std::strerror(EIO)));
}
