// A checkpoint directory is llmc's only when it holds the marker; llmc removes only its own
// entries from it (distill.checkpoint_dir=../data must never delete the data).
#include "llmc/distill/checkpoint.h"

#include <filesystem>

#include "llmc/util/error.h"
#include "test_support.h"
#include "torch_doctest.h"

namespace fs = std::filesystem;
using llmc::distill::CheckpointDir;
using llmc::distill::foreign_checkpoint_dir;
using llmc::distill::kCheckpointMarker;

TEST_CASE("foreign_checkpoint_dir: new, empty and marked directories are usable, others not") {
  llmc::test::TempDir dir;
  CHECK(foreign_checkpoint_dir((dir.path() / "new").string()).empty());
  fs::create_directories(dir.path() / "empty");
  CHECK(foreign_checkpoint_dir((dir.path() / "empty").string()).empty());
  dir.write("marked/.llmc-checkpoints", "");
  dir.write("marked/best.pt", "x");
  CHECK(foreign_checkpoint_dir((dir.path() / "marked").string()).empty());
  dir.write("data/eval.jsonl", "{}\n");
  const std::string why = foreign_checkpoint_dir((dir.path() / "data").string());
  CHECK(why == (dir.path() / "data").string() +
                   " is not empty and holds no .llmc-checkpoints marker, so it is not a "
                   "checkpoint directory of llmc (it would mix checkpoints with other files); "
                   "choose a new or empty directory");
  const auto file = dir.write("file", "x");
  CHECK(foreign_checkpoint_dir(file) == file + " exists and is not a directory");
}

TEST_CASE("CheckpointDir::remove takes away llmc's entries only, and the directory if empty") {
  llmc::test::TempDir dir;
  dir.write("ck/.llmc-checkpoints", "");
  dir.write("ck/last/state.json", "{}");
  dir.write("ck/last.old/state.json", "{}");
  dir.write("ck/best.pt", "x");
  dir.write("ck/notes.txt", "mine");
  CheckpointDir((dir.path() / "ck").string()).remove();
  CHECK(fs::exists(dir.path() / "ck" / "notes.txt"));
  CHECK_FALSE(fs::exists(dir.path() / "ck" / "last"));
  CHECK_FALSE(fs::exists(dir.path() / "ck" / "last.old"));
  CHECK_FALSE(fs::exists(dir.path() / "ck" / "best.pt"));
  CHECK_FALSE(fs::exists(dir.path() / "ck" / kCheckpointMarker));
  fs::remove(dir.path() / "ck" / "notes.txt");
  dir.write("ck/.llmc-checkpoints", "");
  CheckpointDir((dir.path() / "ck").string()).remove();
  CHECK_FALSE(fs::exists(dir.path() / "ck"));
}

TEST_CASE("CheckpointDir::remove leaves a directory without the marker alone") {
  llmc::test::TempDir dir;
  dir.write("data/eval.jsonl", "{}\n");
  dir.write("data/last/keep.txt", "x");
  CheckpointDir((dir.path() / "data").string()).remove();
  CHECK(fs::exists(dir.path() / "data" / "eval.jsonl"));
  CHECK(fs::exists(dir.path() / "data" / "last" / "keep.txt"));
}

TEST_CASE("CheckpointDir writes the marker into a directory it creates, refuses a foreign one") {
  llmc::test::TempDir dir;
  torch::jit::Module m("m");
  m.define("def forward(self, x):\n  return x\n");
  CheckpointDir((dir.path() / "ck").string()).save_best(m);
  CHECK(fs::exists(dir.path() / "ck" / kCheckpointMarker));
  CHECK(fs::exists(dir.path() / "ck" / "best.pt"));
  dir.write("data/eval.jsonl", "{}\n");
  CHECK_THROWS_AS(CheckpointDir((dir.path() / "data").string()).save_best(m), llmc::UsageError);
  CHECK_FALSE(fs::exists(dir.path() / "data" / "best.pt"));
}
