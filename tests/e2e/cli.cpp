#include "cli.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "test_support.h"

extern char** environ;

namespace llmc::test {

namespace {
std::string env_or_throw(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    throw std::runtime_error(std::string(name) + " is not set (run the suite with `meson test`)");
  }
  return v;
}
}  // namespace

std::string source_root() { return env_or_throw("LLMC_SOURCE_ROOT"); }

CliResult run_llmc(const std::vector<std::string>& args, const std::string& cwd,
                   const std::vector<std::string>& wrapper) {
  TempDir io;
  const std::string out_path = (io.path() / "stdout").string();
  const std::string err_path = (io.path() / "stderr").string();
  std::string script = "cd '" + (cwd.empty() ? std::filesystem::current_path().string() : cwd) +
                       "' && exec \"$0\" \"$@\" </dev/null >'" + out_path + "' 2>'" + err_path + "'";
  std::vector<std::string> argv_s = {"/bin/sh", "-c", script};
  argv_s.insert(argv_s.end(), wrapper.begin(), wrapper.end());
  argv_s.push_back(env_or_throw("LLMC_BIN"));
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ) != 0) {
    throw std::runtime_error("cannot start llmc");
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

util::Json read_json(const std::string& path) { return util::parse_json(read_text(path)); }

void use_debtags_standin(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(fs::path(dir) / "out" / "teacher");
  fs::create_directories(fs::path(dir) / "out" / "teacher-continued");
  fs::create_directories(fs::path(dir) / "out" / "student-distilled");
  fs::create_directories(fs::path(dir) / "out" / "student-alone");
  const std::pair<const char*, const char*> files[] = {
      {"distill_text_train.jsonl", "train.jsonl"}, {"distill_text_test.jsonl", "test.jsonl"},
      {"distill_spm.model", "spm.model"},          {"distill_teacher.pt", "teacher.pt"},
      {"distill_student.pt", "student.pt"},         {"distill_teacher.pt", "out/teacher/model.pt"},
      {"distill_teacher.pt", "out/teacher-continued/model.pt"},
      {"distill_student.pt", "out/student-distilled/model.pt"},
      {"distill_student.pt", "out/student-alone/model.pt"},
      {"lm_teacher.pt", "lm.pt"}};  // recipes/examples/debtags-lm
  for (const auto& [from, to] : files) {
    fs::copy_file(fixture(from), fs::path(dir) / to, fs::copy_options::overwrite_existing);
  }
  // The distill runs' reports recipes/examples/debtags/compare.yaml charts: three epochs each,
  // in the layout `llmc distill` writes (details.best_metric, details.history).
  for (const char* run : {"teacher-continued", "student-distilled", "student-alone"}) {
    util::Json history = util::Json::array();
    for (int epoch = 1; epoch <= 3; ++epoch) {
      util::Json row = util::Json::object();
      row["epoch"] = epoch;
      row["step"] = epoch * 10;
      row["train_loss"] = 0.5 / epoch;
      row["jaccard_samples"] = 0.2 * epoch;
      history.push_back(row);
    }
    util::Json details = util::Json::object();
    details["best_metric"] = "jaccard_samples";
    details["history"] = history;
    util::Json report = util::Json::object();
    report["command"] = "distill";
    report["details"] = details;
    std::ofstream(fs::path(dir) / "out" / run / "report.json") << report.dump(2);
  }
  setenv("LLMC_DEBTAGS", dir.c_str(), 1);
}

EnvOverride::EnvOverride(const char* name, const std::string& value) : name_(name) {
  if (const char* v = std::getenv(name)) {
    old_ = v;
    had_ = true;
  }
  setenv(name, value.c_str(), 1);
}

EnvOverride::~EnvOverride() {
  had_ ? (void)setenv(name_, old_.c_str(), 1) : (void)unsetenv(name_);
}

}  // namespace llmc::test
