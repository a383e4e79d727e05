#include "llmc/freeze/eval_freeze.h"

#include <sstream>

#include <fmt/format.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/inliner.h>

#include "llmc/model/graph_nodes.h"
#include "llmc/model/forward.h"
#include "llmc/model/inline_calls.h"
#include "llmc/metrics/agreement.h"
#include "llmc/gates/gates.h"
#include "llmc/job/job.h"
#include "llmc/model/load.h"
#include "llmc/passes/bake_eval_mode.h"
#include "llmc/passes/fuse_tanh_gelu.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::freeze {

namespace {

int64_t count_nodes(const torch::jit::Module& m) {
  auto graph = m.get_method("forward").graph()->copy();
  llmc::model::inline_calls(*graph);
  int64_t n = 0;
  for (const auto* node : model::graph_nodes(*graph)) {
    if (node->kind() != c10::prim::Constant) ++n;
  }
  return n;
}

bool round_trips(const torch::jit::Module& m, std::string& why) {
  try {
    std::stringstream bytes;
    m.save(bytes);
    torch::jit::load(bytes);
    return true;
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    why = what.substr(0, what.find('\n'));
  } catch (const std::exception& e) {  // e.g. torch::jit::IRAttributeError
    why = e.what();
  }
  return false;
}

void check_preserved(const torch::jit::Module& m, const EvalFreezeOptions& options) {
  std::vector<RecipeIssue> issues;
  for (const auto& name : options.preserve) {
    if (m.find_method(name) || m.hasattr(name)) continue;
    std::string methods;
    for (const auto& method : m.get_methods()) {
      methods += (methods.empty() ? "" : ", ") + method.name();
    }
    issues.push_back({options.origin.location, options.origin.key + ".preserve",
                      fmt::format("the model has no method or attribute \"{}\" (its methods: {})",
                                  name, methods)});
  }
  if (!issues.empty()) throw RecipeError(issues);
}

}  // namespace

FreezeOutcome eval_freeze(const torch::jit::Module& model, const EvalFreezeOptions& options) {
  check_preserved(model, options);
  FreezeOutcome out;
  util::Json passes = util::Json::array();
  auto record = [&](const std::string& name, const std::string& effect) {
    util::Json p = util::Json::object();
    p["pass"] = name;
    p["effect"] = effect;
    passes.push_back(p);
  };

  // Fresh module types and methods (no graph executor has run them, so the rewrites below are
  // what runs), the same tensors.
  torch::jit::Module m = model.clone(/*inplace=*/true);
  const int64_t nodes_before = count_nodes(m);
  const auto baked = passes::bake_eval_mode(m, !options.fix_traced_training);
  if (baked.changed > 0) {
    if (!options.fix_traced_training) {
      throw InputError("", fmt::format(
          "the model was traced in training mode: {} dropout and {} batch-norm calls have "
          "train=True baked in (first at {}), so eval() cannot make it deterministic",
          baked.dropout, baked.batch_norm, baked.sites.front()),
          "re-trace the model after model.eval(), or set eval_freeze.fix_traced_training: true");
    }
    out.warnings.push_back(fmt::format(
        "the model was traced in training mode: switched {} dropout and {} batch-norm calls "
        "with train=True baked in to eval (first at {}); trace after model.eval() to avoid this",
        baked.dropout, baked.batch_norm, baked.sites.front()));
  }
  record("bake_eval_mode", fmt::format("{} dropout, {} batch_norm flags set to eval",
                                       baked.dropout, baked.batch_norm));
  m.eval();
  record("eval", "training = False on every submodule");
  // The reference: fresh methods again (count_nodes above cached optimized copies of the callees'
  // graphs from before bake_eval_mode, which a run of `m` would use), the same tensors.
  // torch::jit::freeze below clones types and methods too and shares the tensors.
  out.reference = m.clone(/*inplace=*/true);
  out.reference.eval();

  torch::jit::Module frozen = [&] {
    try {
      return torch::jit::freeze(m, options.preserve, /*optimize_numerics=*/true);
    } catch (const c10::Error& e) {
      std::string what = e.what_without_backtrace();
      throw InputError("", "torch::jit::freeze failed: " + what.substr(0, what.find('\n')),
                       "models that mutate their attributes in forward cannot be frozen; list "
                       "such attributes under eval_freeze.preserve");
    }
  }();
  record("freeze", "parameters and attributes folded into constants, submodules inlined, "
                   "dropout removed, conv/batch-norm folded");
  if (options.fuse_gelu) {
    const int64_t fused = passes::fuse_tanh_gelu(frozen).changed;
    record("fuse_tanh_gelu", fmt::format("{} written-out tanh GELU{} replaced by "
                                         "aten::gelu(approximate='tanh')",
                                         fused, fused == 1 ? "" : "s"));
  }
  if (options.optimize_for_inference) {
    try {
      std::vector<std::string> other_methods;
      for (const auto& name : options.preserve) {
        if (frozen.find_method(name)) other_methods.push_back(name);
      }
      // optimize_for_inference rewrites the module's graphs in place: keep a copy to fall back to.
      std::stringstream frozen_bytes;
      frozen.save(frozen_bytes);
      torch::jit::Module optimized = torch::jit::optimize_for_inference(frozen, other_methods);
      // Some rewrites (MKLDNN weight constants for convolutions) cannot be serialized: keep
      // only a result that survives a save/load round trip.
      std::string why;
      if (round_trips(optimized, why)) {
        frozen = optimized;
        record("optimize_for_inference", "LibTorch frozen-graph optimizations for inference");
      } else {
        frozen = torch::jit::load(frozen_bytes);
        out.warnings.push_back("optimize_for_inference produced a graph that cannot be saved (" +
                               why + "); the artifact is frozen without it");
        record("optimize_for_inference", "skipped: result not serializable");
      }
    } catch (const c10::Error& e) {
      std::string what = e.what_without_backtrace();
      out.warnings.push_back("optimize_for_inference failed and was skipped: " +
                             what.substr(0, what.find('\n')));
    }
  }
  out.frozen = frozen;
  out.details["passes"] = passes;
  out.details["forward_nodes_before"] = nodes_before;
  out.details["forward_nodes_after"] = count_nodes(frozen);
  out.details["traced_training_flags_fixed"] = baked.changed;
  return out;
}

namespace {

bool same_output(const c10::IValue& a, const c10::IValue& b) {
  const auto ta = metrics::output_tensors(a);
  const auto tb = metrics::output_tensors(b);
  if (ta.size() != tb.size()) return false;
  for (size_t i = 0; i < ta.size(); ++i) {
    if (!ta[i].sizes().equals(tb[i].sizes()) || !at::equal(ta[i], tb[i])) return false;
  }
  return true;
}

// True when the module or any of its submodules is in training mode.
bool any_training(const torch::jit::Module& m) {
  if (m.is_training()) return true;
  for (const auto& sub : m.modules()) {
    if (sub.is_training()) return true;
  }
  return false;
}

// Runs `runs` times on the batch; true when every output equals the first bitwise.
bool deterministic(torch::jit::Module& m, const data::Batch& batch, int64_t runs,
                   const std::string& path) {
  const c10::IValue first = model::run_forward(m, batch, path);
  for (int64_t i = 1; i < runs; ++i) {
    if (!same_output(first, model::run_forward(m, batch, path))) return false;
  }
  return true;
}

}  // namespace

job::Job eval_freeze_job(const EvalFreezeOptions& options) {
  job::Job j;
  j.command = "eval-freeze";
  j.transform = [options](torch::jit::Module original, const job::TransformInput& in) {
    // Deterministic as handed over? A model with a submodule in training mode gets a fresh copy
    // for that check (training-mode batch-norm would update the running statistics of the one
    // we freeze), dropped right after; a model in eval mode is run as it is.
    const bool training = any_training(original);
    const bool loaded_deterministic = [&] {
      if (!training) return deterministic(original, in.latency_batch, 2, in.common.model);
      torch::jit::Module as_loaded = model::load(in.common.model);
      return deterministic(as_loaded, in.latency_batch, 2, in.common.model);
    }();
    FreezeOutcome f = eval_freeze(original, options);
    job::TransformResult t;
    t.artifact = f.frozen;
    t.reference = f.reference;
    t.details = std::move(f.details);
    t.details["original_training_mode"] = training;
    t.details["original_deterministic_as_loaded"] = loaded_deterministic;
    t.warnings = std::move(f.warnings);
    return t;
  };
  j.verify = [options](torch::jit::Module& artifact, const job::TransformInput& in,
                       report::Report& r) {
    // Latency against the model as handed over, which is what a deployment without this step
    // would run (the report's main comparison is against the original in eval mode). Loaded
    // afresh from the file for this, and only when it was in training mode.
    if (r.details.contains("original_training_mode") &&
        r.details.at("original_training_mode").as_bool()) {
      torch::jit::Module as_loaded = model::load(in.common.model);
      const auto timing = job::time_alternating(
          "timing against the model as loaded",
          [&] { model::run_forward(as_loaded, in.latency_batch, in.common.model); },
          [&] { model::run_forward(artifact, in.latency_batch, r.result.path); }, in.common.bench,
          in.latency_batch.rows);
      r.details["as_loaded_p50_ms"] = timing.a.p50_ms;
      r.details["artifact_p50_ms_vs_as_loaded"] = timing.b.p50_ms;
      r.details["speedup_vs_as_loaded"] = timing.a.p50_ms / timing.b.p50_ms;
    }
    const bool ok = deterministic(artifact, in.latency_batch, options.determinism_runs,
                                  r.result.path);
    r.details["artifact_deterministic"] = ok;
    r.details["determinism_runs"] = options.determinism_runs;
    r.gates.push_back(gates::check("deterministic", gates::Bound::at_least, 1, ok ? 1.0 : 0.0));
    if (!ok) {
      r.warnings.push_back(fmt::format(
          "the artifact gave different outputs over {} runs on the same input",
          options.determinism_runs));
    }
  };
  return j;
}

}  // namespace llmc::freeze
