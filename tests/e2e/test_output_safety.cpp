// What llmc must never do to the user's files (issue 16): --force replacing a directory that
// holds an input of the recipe, distill cleaning up a checkpoint_dir it does not own, the memory
// probe following a symlink planted in $TMPDIR, a FIFO blocking a run forever, two runs on one
// output. Each subcommand's inputs come from its schema, so every input key is tried.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "test_support.h"
#include "llmc/commands.h"
#include "llmc/util/atomic_file.h"

using llmc::test::fixture;
using llmc::test::read_json;
using llmc::test::read_text;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

using llmc::test::EnvOverride;
using llmc::test::has;

// If llmc blocks opening a FIFO for reading (the bug), opens its writing end now and then after
// a grace period, so that the read sees end-of-file and the test fails instead of hanging.
class FifoWatchdog {
 public:
  explicit FifoWatchdog(std::string fifo)
      : fifo_(std::move(fifo)), thread_([this] {
          std::unique_lock<std::mutex> lock(m_);
          auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
          while (!cv_.wait_until(lock, deadline, [this] { return done_; })) {
            const int fd = ::open(fifo_.c_str(), O_WRONLY | O_NONBLOCK);
            if (fd >= 0) {
              fired_ = true;
              ::close(fd);
            }
            deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
          }
        }) {}
  ~FifoWatchdog() {
    {
      std::lock_guard<std::mutex> lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool fired() {
    std::lock_guard<std::mutex> lock(m_);
    return fired_;
  }

 private:
  std::string fifo_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

// The file each input key names in the recipes below.
const std::map<std::string, std::string>& file_of_key() {
  static const std::map<std::string, std::string> m = {
      {"model", "model.pt"},
      {"data.path", "data.jsonl"},
      {"data.tokenizer", "data.model"},
      {"quantize.calibration_data.path", "qcal.jsonl"},
      {"quantize.calibration_data.tokenizer", "qcal.model"},
      {"prune.calibration_data.path", "pcal.jsonl"},
      {"prune.calibration_data.tokenizer", "pcal.model"},
      {"distill.teacher", "teacher.pt"},
      {"distill.train_data.path", "train.jsonl"},
      {"distill.train_data.tokenizer", "train.model"},
      {"compare.models[].path", "cmodel.pt"},
      {"compare.models[].distill_report", "creport.json"},
      {"compare.onnx_runner", "runner.cjs"},
      {"stages[].model", "smodel.pt"},
  };
  return m;
}

// A recipe for `command` that names every input key, all files in in/.
std::string all_inputs_recipe(const std::string& command, const std::string& output = "out") {
  // compare lists its models under compare.models instead of `model:`.
  std::string r = "recipe_version: 1\n" +
                  std::string(command == "compare" ? "" : "model: in/model.pt\n") + "output: " +
                  output +
                  "\ntask: {type: multi-label}\n"
                  "data: {path: in/data.jsonl, text: text, tokenizer: in/data.model, labels: "
                  "labels}\n";
  if (command == "quantize") {
    r += "quantize:\n  scheme: static-int8\n  calibration_data: {path: in/qcal.jsonl, text: "
         "text, tokenizer: in/qcal.model}\n";
  } else if (command == "prune") {
    r += "prune:\n  method: wanda\n  sparsity: 0.5\n  calibration_data: {path: in/pcal.jsonl, "
         "text: text, tokenizer: in/pcal.model}\n";
  } else if (command == "export-onnx") {
    r += "export_onnx: {}\n";
  } else if (command == "distill") {
    r += "distill:\n  teacher: in/teacher.pt\n  train_data: {path: in/train.jsonl, text: text, "
         "tokenizer: in/train.model, labels: labels}\n";
  } else if (command == "run") {
    r += "stages:\n  - {name: q, command: quantize, model: in/smodel.pt, scheme: static-int8,\n"
         "     calibration_data: {path: in/qcal.jsonl, text: text, tokenizer: in/qcal.model}}\n";
  } else if (command == "compare") {
    r += "compare:\n  models: [{path: in/cmodel.pt, distill_report: in/creport.json}]\n"
         "  onnx_runner: in/runner.cjs\n";
  }
  return r;
}

std::string bert_recipe(const std::string& model, const std::string& output = "out") {
  return "recipe_version: 1\nmodel: " + model + "\noutput: " + output +
         "\nexample_inputs:\n"
         "  - {name: input_ids, shape: [2, 8], dtype: int64, range: [0, 1000]}\n"
         "  - {name: attention_mask, shape: [2, 8], dtype: int64, fill: 1}\n"
         "bench: {warmup: 0, runs: 1}\neval_freeze: {}\n";
}

}  // namespace

TEST_CASE("--force never replaces a directory holding any input of the recipe, in any subcommand") {
  llmc::test::TempDir dir;
  // The refusal comes before anything is loaded, so the inputs need only exist.
  for (const auto& [key, file] : file_of_key()) dir.write("in/" + file, "x");
  for (const auto& command : llmc::commands()) {
    const auto recipe = dir.write(command.name() + ".yaml", all_inputs_recipe(command.name()));
    for (const auto& doc : command.keys()) {
      if (doc.type.rfind("path to an existing", 0) != 0) continue;
      CAPTURE(command.name());
      CAPTURE(doc.key);
      REQUIRE_MESSAGE(file_of_key().count(doc.key) == 1, "a new input key: add it to this test");
      // The output directory holds this input (and files of an earlier run): --force must not
      // take it.
      const std::string file = file_of_key().at(doc.key);
      dir.write("victim/" + file, "precious");
      dir.write("victim/report.json", "{}");
      // A list item's key ("compare.models[].path") set on the first item.
      std::string key = doc.key;
      if (const auto at = key.find("[]"); at != std::string::npos) key.replace(at, 2, "[0]");
      const auto r = run_llmc({command.name(), recipe, "--force", "--out", "victim", "--set",
                               key + "=victim/" + file},
                              dir.path().string());
      CHECK(r.code == 2);
      CHECK(has(r.err, "output directory victim would contain or replace the input victim/" +
                           file + "; choose another --out"));
      CHECK(read_text((dir.path() / "victim" / file).string()) == "precious");
      fs::remove_all(dir.path() / "victim");
    }
  }
}

TEST_CASE("--force never replaces the inputs when the output comes from ${VAR} or is their parent") {
  llmc::test::TempDir dir;
  for (const auto& [key, file] : file_of_key()) dir.write("in/" + file, "x");
  const EnvOverride out("LLMC_SAFETY_OUT", (dir.path() / "in").string());
  for (const std::string command :
       {"eval-freeze", "quantize", "prune", "export-onnx", "distill", "compare", "run"}) {
    CAPTURE(command);
    const auto recipe = dir.write("r.yaml", all_inputs_recipe(command, "${LLMC_SAFETY_OUT}"));
    const auto r = run_llmc({command, recipe, "--force"}, dir.path().string());
    CHECK(r.code == 2);
    CHECK(has(r.err, "would contain or replace the input"));
    // The parent of the input directory, given with --out.
    const auto up = run_llmc({command, recipe, "--force", "--out", "."}, (dir.path() / "in").string());
    CHECK(up.code == 2);
    CHECK(has(up.err, "would contain or replace the input"));
    for (const auto& [key, file] : file_of_key()) CHECK(fs::exists(dir.path() / "in" / file));
  }
}

TEST_CASE("distill refuses a checkpoint_dir holding other files before training, and cleans up only its own") {
  llmc::test::TempDir dir;
  const std::string recipe_text =
      "recipe_version: 1\nmodel: " + fixture("distill_student.pt") +
      "\noutput: out\nthreads: 1\n"
      "data: {path: data/test.jsonl, labels: labels, batch_size: 16}\n"
      "task: {type: multi-label}\nbench: {warmup: 0, runs: 1}\n"
      "distill:\n  alpha: 1\n  epochs: 1\n"
      "  train_data: {path: " + fixture("distill_train.jsonl") + ", labels: labels, batch_size: 32}\n";
  fs::create_directories(dir.path() / "data");
  fs::copy_file(fixture("distill_test.jsonl"), dir.path() / "data/test.jsonl");
  const auto recipe = dir.write("r.yaml", recipe_text);
  const auto data = read_text((dir.path() / "data/test.jsonl").string());
  SUBCASE("a directory of the user's files is refused, exit 2, nothing deleted") {
    for (const std::string ck : {"data", ".", "data/"}) {
      CAPTURE(ck);
      const auto start = std::chrono::steady_clock::now();
      const auto r = run_llmc({"distill", recipe, "--force", "--set", "distill.checkpoint_dir=" + ck},
                              dir.path().string());
      CHECK(r.code == 2);
      CHECK(has(r.err, "--set: distill.checkpoint_dir: "));
      CHECK(has(r.err, "holds no .llmc-checkpoints marker"));
      CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
      CHECK(read_text((dir.path() / "data/test.jsonl").string()) == data);
      CHECK(fs::exists(dir.path() / "r.yaml"));
      CHECK_FALSE(fs::exists(dir.path() / "out"));
    }
  }
  SUBCASE("after success only llmc's entries go; the user's file in the directory stays") {
    dir.write("ck/.llmc-checkpoints", "");
    dir.write("ck/notes.txt", "mine");
    const auto r = run_llmc({"distill", recipe, "--set", "distill.checkpoint_dir=ck"},
                            dir.path().string());
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(read_text((dir.path() / "ck/notes.txt").string()) == "mine");
    CHECK_FALSE(fs::exists(dir.path() / "ck/last"));
    CHECK_FALSE(fs::exists(dir.path() / "ck/best.pt"));
    CHECK_FALSE(fs::exists(dir.path() / "ck/.llmc-checkpoints"));
    // A fresh checkpoint directory (the default, out.checkpoints) goes away entirely.
    CHECK_FALSE(fs::exists(dir.path() / "out.checkpoints"));
    CHECK(read_text((dir.path() / "data/test.jsonl").string()) == data);
  }
}

TEST_CASE("the memory probe never follows a symlink planted in $TMPDIR and leaves no file there") {
  llmc::test::TempDir dir;
  const auto tmp = dir.path() / "tmp";
  fs::create_directories(tmp);
  const auto victim = dir.write("victim.txt", "precious");
  // The old name was $TMPDIR/llmc-probe-<pid>-<rand()>.pkl with glibc's unseeded rand(): plant
  // it for the pids the next processes will get.
  long last_pid = 0;
  std::ifstream("/proc/sys/kernel/ns_last_pid") >> last_pid;
  const long rands[] = {1804289383, 846930886, 1681692777, 1714636915};
  size_t planted = 0;
  for (long pid = last_pid + 1; pid <= last_pid + 300; ++pid) {
    for (long r : rands) {
      fs::create_symlink(victim, tmp / ("llmc-probe-" + std::to_string(pid) + "-" +
                                        std::to_string(r) + ".pkl"));
      ++planted;
    }
  }
  const auto recipe = dir.write("r.yaml", bert_recipe(fixture("bert_tiny.pt")));
  llmc::test::CliResult r;
  {
    const EnvOverride t("TMPDIR", tmp.string());
    r = run_llmc({"eval-freeze", recipe}, dir.path().string());
  }
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto report = read_json((dir.path() / "out/report.json").string());
  CHECK(report.at("original").at("memory").at("isolated").as_bool());
  CHECK(report.at("result").at("memory").at("isolated").as_bool());
  CHECK(read_text(victim) == "precious");
  size_t symlinks = 0;
  for (const auto& e : fs::directory_iterator(tmp)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("llmc-probe-", 0) != 0) continue;  // run_llmc's own stdout files
    CHECK_MESSAGE(fs::is_symlink(e.symlink_status()), "left behind: " << name);
    ++symlinks;
  }
  CHECK(symlinks == planted);
}

TEST_CASE("a second run on an output another run holds exits 2 at once, naming it") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", bert_recipe(fixture("bert_tiny.pt")));
  const std::string out = (dir.path() / "out").string();
  {
    // Held through the same API an llmc run takes it with.
    llmc::util::OutputLock held(out);
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_llmc({"eval-freeze", recipe, "--force", "--out", out}, dir.path().string());
    CHECK(r.code == 2);
    CHECK(has(r.err, "output " + out + " is in use: another llmc run holds it"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
    CHECK_FALSE(fs::exists(out));
  }
  const auto r = run_llmc({"eval-freeze", recipe}, dir.path().string());
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_FALSE(fs::exists(dir.path() / ".out.llmc-lock"));
}

TEST_CASE("a FIFO or device as recipe, model, data or tokenizer is refused, naming it, not read") {
  llmc::test::TempDir dir;
  const auto fifo = (dir.path() / "pipe").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  FifoWatchdog watchdog(fifo);
  const auto model = fixture("bert_tiny.pt");
  SUBCASE("recipe: exit 2") {
    for (const std::string command : {"validate", "eval-freeze"}) {
      const auto r = run_llmc({command, fifo});
      CHECK(r.code == 2);
      CHECK(has(r.err, fifo + ": cannot read the recipe file: it is a FIFO (named pipe), not a "
                       "regular file"));
    }
  }
  SUBCASE("a directory as recipe says so") {
    const auto r = run_llmc({"validate", dir.path().string()});
    CHECK(r.code == 2);
    CHECK(has(r.err, dir.path().string() + ": the recipe is a directory, not a YAML file"));
  }
  SUBCASE("model: exit 3") {
    const auto r = run_llmc({"inspect", fifo});
    CHECK(r.code == 3);
    CHECK(has(r.err, fifo));
    CHECK(has(r.err, "cannot load model: it is a FIFO (named pipe), not a regular file"));
    const auto v = run_llmc({"validate", dir.write("r.yaml", bert_recipe(fifo))});
    CHECK(v.code == 3);
    CHECK(has(v.err, "it is a FIFO"));
    const auto dev = run_llmc({"inspect", "/dev/null"});
    CHECK(dev.code == 3);
    CHECK(has(dev.err, "it is a character device, not a regular file"));
  }
  SUBCASE("data and tokenizer: exit 3") {
    const auto data = dir.write(
        "d.yaml",
        "recipe_version: 1\nmodel: " + model + "\noutput: out\ndata: {path: pipe}\neval_freeze: {}\n");
    for (const std::string command : {"validate", "eval-freeze"}) {
      const auto r = run_llmc({command, data});
      CHECK(r.code == 3);
      CHECK(has(r.err, fifo));
      CHECK(has(r.err, "cannot read the data file: it is a FIFO (named pipe)"));
    }
    dir.write("t.jsonl", "{\"text\": \"a b\"}\n");
    const auto tok = dir.write("t.yaml", "recipe_version: 1\nmodel: " + model +
                                             "\ndata: {path: t.jsonl, text: text, tokenizer: pipe}\n"
                                             "eval_freeze: {}\n");
    const auto r = run_llmc({"validate", tok});
    CHECK(r.code == 3);
    CHECK(has(r.err, "cannot read the tokenizer: it is a FIFO (named pipe)"));
  }
  CHECK_FALSE(watchdog.fired());
}

TEST_CASE("an unreadable recipe, model or data file says permission denied") {
  // Root reads every file, and tests often run as root: then llmc runs as `nobody` (setpriv,
  // util-linux), for whom the files below are unreadable.
  std::vector<std::string> wrapper;
  if (::geteuid() == 0) {
    wrapper = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  }
  llmc::test::TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // nobody may enter it, not read its files
  const auto model = (dir.path() / "m.pt").string();
  fs::copy_file(fixture("bert_tiny.pt"), model);
  const auto recipe = dir.write("r.yaml", bert_recipe(model));
  REQUIRE(::chmod(model.c_str(), 0) == 0);
  const auto m = run_llmc({"inspect", model}, "", wrapper);
  CHECK(m.code == 3);
  CHECK(has(m.err, "cannot load model: permission denied"));
  REQUIRE(::chmod(recipe.c_str(), 0) == 0);
  const auto r = run_llmc({"validate", recipe}, "", wrapper);
  CHECK(r.code == 2);
  CHECK(has(r.err, "cannot read the recipe file: permission denied"));
  REQUIRE(::chmod(model.c_str(), 0644) == 0);
  const auto data = dir.write("d.jsonl", "{\"input_ids\": [1, 2, 3], \"label\": 0}\n");
  REQUIRE(::chmod(data.c_str(), 0) == 0);
  const auto with_data = dir.write(
      "d.yaml", "recipe_version: 1\nmodel: " + model +
                    "\noutput: out\ndata: {path: " + data + ", labels: label, batch_size: 2}\n"
                    "eval_freeze: {}\n");
  const auto d = run_llmc({"validate", with_data}, "", wrapper);
  CHECK(d.code == 3);
  CHECK(has(d.err, "cannot read the data file: permission denied"));
}
