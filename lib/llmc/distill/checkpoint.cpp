#include "llmc/distill/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "llmc/model/load.h"
#include "llmc/util/atomic_file.h"
#include "llmc/util/error.h"

namespace llmc::distill {

namespace fs = std::filesystem;
using util::Json;

Json to_json(const EvalRecord& r) {
  Json j = Json::object();
  j["epoch"] = r.epoch;
  j["step"] = r.step;
  j["epoch_end"] = r.epoch_end;
  j["train_loss"] = r.train_loss;
  j["task_loss"] = r.task_loss;
  j["soft_loss"] = r.soft_loss;
  if (!r.hidden_losses.empty()) {
    j["hidden_loss"] = r.hidden_loss;
    Json h = Json::array();
    for (double v : r.hidden_losses) h.push_back(v);
    j["hidden_losses"] = h;
  }
  j["samples_per_second"] = r.samples_per_second;
  j["seconds"] = r.seconds;
  Json m = Json::object();
  for (const auto& [name, v] : r.eval.values) m[name] = v;
  j["metrics"] = m;
  j["primary_metric"] = r.eval.primary;
  j["higher_is_better"] = r.eval.higher_is_better;
  return j;
}

EvalRecord eval_record_from_json(const Json& j) {
  EvalRecord r;
  r.epoch = j.at("epoch").as_int();
  r.step = j.at("step").as_int();
  r.epoch_end = j.at("epoch_end").as_bool();
  r.train_loss = j.at("train_loss").as_double();
  r.task_loss = j.at("task_loss").as_double();
  r.soft_loss = j.at("soft_loss").as_double();
  if (const Json* h = j.find("hidden_losses")) {
    r.hidden_loss = j.at("hidden_loss").as_double();
    for (const auto& v : h->as_array()) r.hidden_losses.push_back(v.as_double());
  }
  r.samples_per_second = j.at("samples_per_second").as_double();
  r.seconds = j.at("seconds").as_double();
  for (const auto& [name, v] : j.at("metrics").as_object()) r.eval.values.emplace_back(name, v.as_double());
  r.eval.primary = j.at("primary_metric").as_string();
  r.eval.higher_is_better = j.at("higher_is_better").as_bool();
  return r;
}

Json to_json(const TrainState& s) {
  Json j = Json::object();
  j["epochs_done"] = s.epochs_done;
  j["step"] = s.step;
  j["best"] = s.best;
  j["train_seconds"] = s.train_seconds;
  Json h = Json::array();
  for (const auto& r : s.history) h.push_back(to_json(r));
  j["history"] = h;
  j["fingerprint"] = s.fingerprint;
  return j;
}

TrainState train_state_from_json(const Json& j) {
  TrainState s;
  s.epochs_done = j.at("epochs_done").as_int();
  s.step = j.at("step").as_int();
  s.best = j.at("best").as_int();
  s.train_seconds = j.at("train_seconds").as_double();
  for (const auto& r : j.at("history").as_array()) s.history.push_back(eval_record_from_json(r));
  s.fingerprint = j.at("fingerprint");
  return s;
}

namespace {

// Every entry llmc writes into a checkpoint directory; remove() takes away these only.
const char* const kOwnEntries[] = {"last", "last.old", "last.tmp", "best.pt", "best.pt.tmp",
                                   "before_qat.pt", "before_qat.pt.tmp", kCheckpointMarker};

}  // namespace

std::string foreign_checkpoint_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return "";
  if (!fs::is_directory(dir, ec)) return fmt::format("{} exists and is not a directory", dir);
  if (fs::exists(fs::path(dir) / kCheckpointMarker, ec)) return "";
  if (fs::is_empty(dir, ec) && !ec) return "";
  return fmt::format(
      "{} is not empty and holds no {} marker, so it is not a checkpoint directory of llmc (it "
      "would mix checkpoints with other files); choose a new or empty directory",
      dir, kCheckpointMarker);
}

void CheckpointDir::prepare() const {
  if (const auto why = foreign_checkpoint_dir(dir_); !why.empty()) {
    throw UsageError("distill.checkpoint_dir: " + why);
  }
  fs::create_directories(dir_);
  const fs::path marker = fs::path(dir_) / kCheckpointMarker;
  if (!fs::exists(marker)) {
    util::write_file_atomic(marker.string(),
                            "llmc writes distill checkpoints here; it removes only last/, "
                            "last.old/, last.tmp/, best.pt and this file.\n");
  }
}

std::string CheckpointDir::last() const { return (fs::path(dir_) / "last").string(); }
std::string CheckpointDir::best_model() const { return (fs::path(dir_) / "best.pt").string(); }
std::string CheckpointDir::before_qat_model() const {
  return (fs::path(dir_) / "before_qat.pt").string();
}

bool CheckpointDir::has_checkpoint() const {
  return fs::exists(fs::path(last()) / "state.json") ||
         fs::exists(fs::path(dir_) / "last.old" / "state.json");
}

void CheckpointDir::save(torch::jit::Module& student, torch::optim::Optimizer& optimizer,
                         const TrainState& state, const std::vector<at::Tensor>& extra) const {
  try {
    prepare();
    const fs::path tmp = fs::path(dir_) / "last.tmp";
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    student.save((tmp / "student.pt").string());
    torch::save(optimizer, (tmp / "optimizer.pt").string());
    if (!extra.empty()) torch::save(extra, (tmp / "extra.pt").string());
    torch::save(at::detail::getDefaultCPUGenerator().get_state(), (tmp / "rng.pt").string());
    util::write_file_atomic((tmp / "state.json").string(), to_json(state).dump(1) + "\n");
    // last -> last.old, last.tmp -> last, drop last.old: a kill at any point leaves one
    // complete checkpoint (load_state falls back to last.old).
    const fs::path cur = last();
    const fs::path old = fs::path(dir_) / "last.old";
    fs::remove_all(old);
    if (fs::exists(cur)) fs::rename(cur, old);
    fs::rename(tmp, cur);
    fs::remove_all(old);
  } catch (const fs::filesystem_error& e) {
    throw InternalError(fmt::format("cannot write a checkpoint into {}: {}", dir_, e.what()));
  }
}

namespace {

fs::path usable_last(const std::string& dir) {
  const fs::path cur = fs::path(dir) / "last";
  if (fs::exists(cur / "state.json")) return cur;
  return fs::path(dir) / "last.old";
}

}  // namespace

std::optional<TrainState> CheckpointDir::load_state() const {
  const fs::path state = usable_last(dir_) / "state.json";
  if (!fs::exists(state)) return std::nullopt;
  std::ifstream in(state);
  std::stringstream text;
  text << in.rdbuf();
  try {
    TrainState s = train_state_from_json(util::parse_json(text.str()));
    at::Tensor rng;
    torch::load(rng, (usable_last(dir_) / "rng.pt").string());
    auto generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
    return s;
  } catch (const std::exception& e) {
    throw InputError(state.string(), std::string("the checkpoint is damaged: ") + e.what(),
                     "start over with --force (the damaged checkpoints are removed)");
  }
}

torch::jit::Module CheckpointDir::load_student() const {
  return model::load((usable_last(dir_) / "student.pt").string());
}

void CheckpointDir::load_optimizer(torch::optim::Optimizer& optimizer) const {
  const auto path = (usable_last(dir_) / "optimizer.pt").string();
  try {
    torch::load(optimizer, path);
  } catch (const std::exception& e) {
    throw InputError(path, std::string("cannot read the optimizer state: ") + e.what(),
                     "start over with --force");
  }
}

void CheckpointDir::load_extra(const std::vector<at::Tensor>& extra) const {
  const auto path = (usable_last(dir_) / "extra.pt").string();
  std::vector<at::Tensor> saved;
  try {
    torch::load(saved, path);
  } catch (const std::exception& e) {
    throw InputError(path, std::string("cannot read the hidden-state projections: ") + e.what(),
                     "start over with --force");
  }
  if (saved.size() != extra.size()) {
    throw InputError(path,
                     fmt::format("the checkpoint holds {} projection tensors, this run has {}",
                                 saved.size(), extra.size()),
                     "start over with --force");
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < extra.size(); ++i) {
    if (saved[i].sizes() != extra[i].sizes()) {
      throw InputError(path, "a saved projection differs in shape from this run's",
                       "start over with --force");
    }
    extra[i].copy_(saved[i]);
  }
}

void CheckpointDir::save_best(torch::jit::Module& student) const {
  prepare();
  const auto tmp = best_model() + ".tmp";
  student.save(tmp);
  fs::rename(tmp, best_model());
}

void CheckpointDir::save_before_qat(torch::jit::Module& student) const {
  prepare();
  const auto tmp = before_qat_model() + ".tmp";
  student.save(tmp);
  fs::rename(tmp, before_qat_model());
}

void CheckpointDir::remove() const {
  std::error_code ec;
  if (!fs::exists(fs::path(dir_) / kCheckpointMarker, ec)) return;  // not llmc's
  for (const char* name : kOwnEntries) fs::remove_all(fs::path(dir_) / name, ec);
  fs::remove(dir_, ec);  // only when empty now: the user's own files stay, and so does it
}

}  // namespace llmc::distill
