// Private temporary files: unpredictable names, created exclusively, removed on every path.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "llmc/util/temp_file.h"
#include "test_support.h"

namespace fs = std::filesystem;
using llmc::util::TempFile;

namespace {

// Points TMPDIR at `dir` while alive.
struct TmpdirOverride {
  explicit TmpdirOverride(const std::string& dir) {
    if (const char* v = std::getenv("TMPDIR")) old = v;
    setenv("TMPDIR", dir.c_str(), 1);
  }
  ~TmpdirOverride() {
    if (old.empty()) {
      unsetenv("TMPDIR");
    } else {
      setenv("TMPDIR", old.c_str(), 1);
    }
  }
  std::string old;
};

}  // namespace

TEST_CASE("TempFile: in TMPDIR, mode 0600, distinct names, removed when it goes away") {
  llmc::test::TempDir dir;
  TmpdirOverride tmp(dir.path().string());
  std::string first_path;
  {
    TempFile a("llmc-probe-", ".pkl");
    TempFile b("llmc-probe-", ".pkl");
    CHECK(a.path() != b.path());
    CHECK(fs::path(a.path()).parent_path() == dir.path());
    CHECK(fs::path(a.path()).filename().string().rfind("llmc-probe-", 0) == 0);
    CHECK(fs::path(a.path()).extension() == ".pkl");
    struct stat st {};
    REQUIRE(::stat(a.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    a.write_and_close("abc", 3);
    CHECK(llmc::test::read_text(a.path()) == "abc");
    first_path = a.path();
  }
  CHECK_FALSE(fs::exists(first_path));
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("TempFile is removed when an exception leaves the scope") {
  llmc::test::TempDir dir;
  TmpdirOverride tmp(dir.path().string());
  try {
    TempFile f("llmc-probe-", ".pkl");
    throw std::runtime_error("probe failed");
  } catch (const std::runtime_error&) {
  }
  CHECK(fs::is_empty(dir.path()));
}
