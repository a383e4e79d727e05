#include "llmc/distill/hidden_states.h"

#include <cmath>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "llmc/distill/module_outputs.h"
#include "llmc/recipe/context.h"
#include "llmc/util/error.h"

namespace llmc::distill {

namespace {

std::string shape_text(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

[[noreturn]] void fail(const HiddenStatePair& p, const std::string& key,
                       const std::string& message) {
  throw RecipeError({{p.origin.location, recipe::join_key(p.origin.key, key), message}});
}

torch::jit::Module variant(const HiddenStatePair& p, const std::string& side,
                           const torch::jit::Module& m, const std::string& path,
                           const std::string& module) {
  try {
    return with_module_outputs(m, {module});
  } catch (const ModuleOutputError& e) {
    if (e.kind != ModuleOutputError::Kind::missing) {
      fail(p, side, fmt::format("{} ({})", e.what(), path));
    }
    const size_t all = submodule_names(m).size();
    fail(p, side,
         fmt::format("the {} ({}) has no module \"{}\"; its modules, nearest first: {}{}", side,
                     path, module, fmt::join(e.candidates, ", "),
                     all > e.candidates.size()
                         ? fmt::format(" and {} more (`llmc inspect` lists the parameters, "
                                       "named MODULE.weight)",
                                       all - e.candidates.size())
                         : std::string()));
  }
}

// [batch, seq, width] or [batch, width], else RecipeError naming what it is.
void check_shape(const HiddenStatePair& p, const std::string& side, const at::Tensor& t,
                 const std::string& module) {
  if (t.dim() == 2 || t.dim() == 3) return;
  fail(p, side,
       fmt::format("module {} outputs a tensor of shape {}; hidden-state distillation needs "
                   "[batch, seq, width] or [batch, width]",
                   module, shape_text(t)));
}

}  // namespace

at::Tensor hidden_state_loss(const at::Tensor& student, const at::Tensor& teacher,
                             HiddenLoss kind, const at::Tensor& mask) {
  const at::Tensor s = student.to(at::kFloat);
  const at::Tensor t = teacher.to(at::kFloat).detach();
  const at::Tensor per = kind == HiddenLoss::mse
                             ? (s - t).pow(2).mean(-1)
                             : 1 - at::cosine_similarity(s, t, /*dim=*/-1, /*eps=*/1e-8);
  if (per.dim() == 2 && mask.defined() && mask.sizes() == per.sizes()) {
    // Each sample's mean over its own tokens, then the mean over samples: a sample weighs the
    // same whatever its length, so data-parallel workers' shares add up to one process's loss.
    const at::Tensor m = (mask != 0).to(at::kFloat);
    return ((per * m).sum(1) / m.sum(1).clamp_min(1)).mean();
  }
  return per.mean();
}

SplitOutput split_output(const c10::IValue& out, size_t pairs) {
  LLMC_ASSERT(out.isTuple(), "a hidden-state variant returns a tuple");
  const auto& elements = out.toTupleRef().elements();
  LLMC_ASSERT(elements.size() == pairs + 1, "one output per hidden-state pair");
  SplitOutput split;
  split.own = elements[0];
  for (size_t i = 1; i < elements.size(); ++i) split.hidden.push_back(elements[i].toTensor());
  return split;
}

HiddenStates::HiddenStates(const std::vector<HiddenStatePair>& pairs,
                           const torch::jit::Module& student, const torch::jit::Module& teacher,
                           const std::string& student_path, const std::string& teacher_path)
    : pairs_(pairs), student_path_(student_path), teacher_path_(teacher_path) {
  if (pairs_.empty()) return;
  // Each path alone first, so that an error names the pair and the side; then all at once.
  std::vector<std::string> student_modules, teacher_modules;
  for (const auto& p : pairs_) {
    variant(p, "student", student, student_path, p.student);
    variant(p, "teacher", teacher, teacher_path, p.teacher);
    student_modules.push_back(p.student);
    teacher_modules.push_back(p.teacher);
  }
  try {
    student_ = with_module_outputs(student, student_modules);
    teacher_ = with_module_outputs(teacher, teacher_modules);
  } catch (const ModuleOutputError& e) {
    fail(pairs_.front(), "student", e.what());
  }
}

void HiddenStates::prepare(const c10::IValue& student_output, const c10::IValue& teacher_output,
                           uint64_t seed) {
  const SplitOutput s = split_output(student_output, pairs_.size());
  const SplitOutput t = split_output(teacher_output, pairs_.size());
  projections_.clear();
  student_widths_.clear();
  teacher_widths_.clear();
  for (size_t i = 0; i < pairs_.size(); ++i) {
    const auto& p = pairs_[i];
    const at::Tensor& sh = s.hidden[i];
    const at::Tensor& th = t.hidden[i];
    check_shape(p, "student", sh, p.student);
    check_shape(p, "teacher", th, p.teacher);
    if (sh.dim() != th.dim() || sh.sizes().slice(0, sh.dim() - 1) !=
                                    th.sizes().slice(0, th.dim() - 1)) {
      fail(p, "student",
           fmt::format("the student's {} outputs {} and the teacher's {} outputs {} on the same "
                       "batch; all but the last (width) dimension must agree",
                       p.student, shape_text(sh), p.teacher, shape_text(th)));
    }
    const int64_t ws = sh.size(-1);
    const int64_t wt = th.size(-1);
    student_widths_.push_back(ws);
    teacher_widths_.push_back(wt);
    Linear proj;
    if (ws != wt) {
      if (p.projection == Projection::none) {
        fail(p, "projection",
             fmt::format("projection none, but the student's {} is {} wide and the teacher's {} "
                         "is {} wide; use projection: auto (a learned Linear {} -> {})",
                         p.student, ws, p.teacher, wt, ws, wt));
      }
      // As torch.nn.Linear initialises: uniform in +-1/sqrt(fan_in), from a generator of its
      // own seeded by the recipe's seed and the pair's index.
      auto gen = at::make_generator<at::CPUGeneratorImpl>(seed * 1000003ULL + i);
      const double bound = 1.0 / std::sqrt(static_cast<double>(ws));
      proj.weight = at::empty({wt, ws}, at::kFloat).uniform_(-bound, bound, gen);
      proj.bias = at::empty({wt}, at::kFloat).uniform_(-bound, bound, gen);
      proj.weight.set_requires_grad(true);
      proj.bias.set_requires_grad(true);
    }
    projections_.push_back(proj);
  }
}

HiddenLossParts HiddenStates::loss(const std::vector<at::Tensor>& student,
                                   const std::vector<at::Tensor>& teacher,
                                   const at::Tensor& mask) const {
  HiddenLossParts parts;
  for (size_t i = 0; i < pairs_.size(); ++i) {
    const auto& proj = projections_.at(i);
    at::Tensor s = student[i].to(at::kFloat);
    if (proj.weight.defined()) s = at::linear(s, proj.weight, proj.bias);
    at::Tensor l = hidden_state_loss(s, teacher[i], pairs_[i].loss, mask);
    parts.total = parts.total.defined() ? parts.total + pairs_[i].weight * l
                                        : pairs_[i].weight * l;
    parts.pairs.push_back(l);
  }
  return parts;
}

std::vector<at::Tensor> HiddenStates::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& p : projections_) {
    if (!p.weight.defined()) continue;
    out.push_back(p.weight);
    out.push_back(p.bias);
  }
  return out;
}

util::Json HiddenStates::describe() const {
  util::Json list = util::Json::array();
  for (size_t i = 0; i < pairs_.size(); ++i) {
    const auto& p = pairs_[i];
    util::Json j = util::Json::object();
    j["teacher"] = p.teacher;
    j["student"] = p.student;
    j["loss"] = hidden_loss_name(p.loss);
    j["weight"] = p.weight;
    if (i < student_widths_.size()) {
      j["student_width"] = student_widths_[i];
      j["teacher_width"] = teacher_widths_[i];
      const auto& proj = projections_[i];
      j["projection"] =
          proj.weight.defined()
              ? fmt::format("Linear {} -> {} ({} parameters, trained, not in the artifact)",
                            student_widths_[i], teacher_widths_[i],
                            proj.weight.numel() + proj.bias.numel())
              : std::string("none (equal widths)");
    }
    list.push_back(j);
  }
  return list;
}

}  // namespace llmc::distill
