#include "llmc/prune/prune.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "llmc/data/inputs.h"
#include "llmc/model/forward.h"
#include "llmc/model/inspect.h"
#include "llmc/model/layers.h"
#include "llmc/model/load.h"
#include "llmc/passes/fuse_tanh_gelu.h"
#include "llmc/passes/optimize_attention.h"
#include "llmc/passes/pipelines.h"
#include "llmc/report/pass_details.h"
#include "llmc/prune/capture.h"
#include "llmc/prune/structured.h"
#include "llmc/prune/unstructured.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"
#include "llmc/util/progress.h"
#include "llmc/util/temp_file.h"

namespace llmc::prune {

namespace {

using util::Json;

double round6(double v) { return std::round(v * 1e6) / 1e6; }

// `m` saved to a private temporary file (streamed: no serialized copy in memory).
std::unique_ptr<util::TempFile> saved_file(const torch::jit::Module& m) {
  auto file = std::make_unique<util::TempFile>("llmc-prune-", ".pt");
  model::write_archive(m, file->path(), file->path());
  return file;
}

// The rewritten model must compute what the original with the removed units masked computes.
void verify_structured(torch::jit::Module& pruned, torch::jit::Module& masked,
                       const std::vector<StructuredChange>& changes,
                       const job::TransformInput& in) {
  torch::NoGradGuard no_grad;
  std::vector<data::Batch> batches{in.latency_batch};
  if (!in.inputs.batches.empty()) batches.push_back(in.inputs.batches.front());
  std::string names;
  for (const auto& c : changes) names += (names.empty() ? "" : ", ") + c.layer;
  for (const auto& b : batches) {
    // The original (masked) first: inputs it cannot run on are the inputs' fault.
    at::Tensor r = model::run_forward(masked, b, in.common.model).toTensor();
    at::Tensor a;
    try {
      a = pruned.forward(b.args).toTensor();
    } catch (const std::exception& e) {
      const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
      const std::string what = c10_error ? c10_error->what_without_backtrace() : e.what();
      log::debug("the pruned model's forward failed:\n{}", what);
      throw InputError("", fmt::format("the model does not run after removing units in {}: {}; "
                                      "its forward may bake a width or head count in as a "
                                      "constant, so it cannot be pruned structurally",
                                      names, model::error_summary(what)));
    }
    const double diff = (a.to(at::kFloat) - r.to(at::kFloat)).abs().max().item<double>();
    const double scale = std::max(1.0, r.abs().max().item<double>());
    if (!(diff <= 1e-4 * scale) || a.sizes() != r.sizes()) {
      throw InputError("", fmt::format("removing units in {} changed the outputs by {:.3g} beyond "
                                      "masking them; the pattern is not what llmc can rewrite "
                                      "safely",
                                      names, diff));
    }
  }
}

// deflated_bytes, counting the bytes read on `progress` (when given).
int64_t deflated_stream_bytes(std::istream& in, log::Progress* progress) {
  z_stream z{};
  if (deflateInit(&z, 6) != Z_OK) throw InternalError("zlib deflateInit failed");
  std::vector<char> chunk(1 << 20);
  std::vector<Bytef> out(1 << 20);
  int64_t total = 0, read = 0;
  int flush = Z_NO_FLUSH;
  while (flush != Z_FINISH) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    z.next_in = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_in = static_cast<uInt>(in.gcount());
    flush = in ? Z_NO_FLUSH : Z_FINISH;
    read += in.gcount();
    if (progress != nullptr) progress->update(read);
    do {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      if (deflate(&z, flush) == Z_STREAM_ERROR) {
        deflateEnd(&z);
        throw InternalError("zlib deflate failed");
      }
      total += static_cast<int64_t>(out.size() - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return total;
}

}  // namespace

int64_t deflated_bytes(std::istream& in) { return deflated_stream_bytes(in, nullptr); }

int64_t deflated_bytes(const std::string& data) {
  std::istringstream in(data);
  return deflated_bytes(in);
}

DeflatedSize deflated_file_bytes(const std::string& path, int64_t max_sampled) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open to measure its compressed size");
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(path));
  const std::string label = "deflating " + std::filesystem::path(path).filename().string();
  if (size <= max_sampled) {
    log::Progress progress(label, size, log::ProgressUnit::bytes);
    return {deflated_stream_bytes(in, &progress), size, false};
  }
  // Evenly spaced 1 MiB chunks, each deflated on its own, scaled up to the whole file.
  constexpr int64_t kChunk = 1 << 20;
  const int64_t chunks = size / kChunk;
  const int64_t sampled = std::max<int64_t>(1, max_sampled / kChunk);
  std::string chunk(static_cast<size_t>(kChunk), '\0');
  int64_t in_bytes = 0, out_bytes = 0;
  log::Progress progress(label + " (samples)", sampled * kChunk, log::ProgressUnit::bytes);
  for (int64_t i = 0; i < sampled; ++i) {
    in.seekg(static_cast<std::streamoff>((i * chunks / sampled) * kChunk));
    in.read(chunk.data(), kChunk);
    const std::string part(chunk.data(), static_cast<size_t>(in.gcount()));
    in_bytes += static_cast<int64_t>(part.size());
    out_bytes += deflated_bytes(part);
    progress.update(in_bytes);
  }
  const double ratio = in_bytes ? static_cast<double>(out_bytes) / static_cast<double>(in_bytes) : 1.0;
  return {static_cast<int64_t>(std::llround(ratio * static_cast<double>(size))), in_bytes, true};
}

job::Job prune_job(const PruneOptions& o) {
  job::Job j;
  j.command = "prune";
  j.transform = [o](torch::jit::Module model, const job::TransformInput& in) {
    model.eval();
    job::TransformResult result;
    Json& d = result.details;
    job::canonicalize_matrix_layers(model, result);
    const data::InputSet calibration =
        o.needs_activations()
            ? job::calibration_batches(model, o.calibration_data, o.calibration_batches, in)
            : data::InputSet{};
    const std::vector<data::Batch>& batches = calibration.batches;
    const std::string& calibration_source = calibration.source;
    if (o.needs_activations()) {
      int64_t rows = 0;
      for (const auto& b : batches) rows += b.rows;
      d["calibration_rows"] = rows;
      d["calibration_source"] = calibration_source;
      if (!o.calibration_data) {
        result.warnings.push_back(fmt::format(
            "calibrated on the first {} rows of {}, which the agreement and metric figures also "
            "cover; prune.calibration_data keeps them apart",
            rows, calibration_source));
      }
    }

    // 1. Structured: whole units removed, verified against the masked original.
    if (o.structured_any()) {
      // The masked reference shares the model's tensors (no copy of a large model): the
      // rewrites below replace the tensors they change (setattr) on both sides, in place on
      // neither.
      torch::jit::Module masked = model.clone(/*inplace=*/true);
      std::map<std::string, InputStats> stats;
      const auto stat_layers = structured_stat_layers(model, o);
      if (!stat_layers.empty()) stats = capture_linear_inputs(model, stat_layers, batches);
      const auto changes = prune_structured(model, masked, o, stats);
      // A fresh copy: LibTorch keeps an optimized copy of each method graph from its first use,
      // which the width constants rewritten in place would not reach.
      {
        const auto file = saved_file(model);
        model = torch::jit::Module();
        model = torch::jit::load(file->path(), torch::kCPU);
        model.eval();
      }
      verify_structured(model, masked, changes, in);
      Json rows = Json::array();
      for (const auto& c : changes) {
        rows.push_back(Json::object({{"layer", c.layer}, {"kind", c.kind}, {"before", c.before},
                                     {"after", c.after}}));
      }
      d["structured"] = rows;
      log::info("structured: {} units groups rewritten and verified", changes.size());
    }

    // 2. Unstructured / N:M zeros, in `steps` rising steps.
    if (o.unstructured()) {
      std::vector<model::NamedLayer> layers;
      const auto all = model::linear_layers(model);
      Json tied = Json::array();
      for (const auto& l : all) {
        if (!model::selected(l.name, o.include, o.exclude)) continue;
        // Zeros in a tied weight would also zero the tensor it is tied to (GPT-2's lm_head and
        // its input embedding), which prune never changes: such layers stay dense, said aloud.
        if (const std::string other = model::tied_weight(model, l); !other.empty()) {
          result.warnings.push_back(fmt::format(
              "{} was not pruned: its weight is tied to {} (one tensor), and zeros in it would "
              "also zero that embedding",
              l.name, other));
          tied.push_back(Json::object({{"layer", l.name}, {"tied_to", other}}));
          continue;
        }
        layers.push_back(l);
      }
      if (tied.size() > 0) d["tied_layers_kept_dense"] = tied;
      if (layers.empty()) {
        throw RecipeError({{o.origin.location, recipe::join_key(o.origin.key, "include"),
                            all.empty() ? std::string("the model has no Linear layers to prune")
                                        : fmt::format("include {} minus exclude {} selects none "
                                                      "of the model's {} Linear layers (e.g. {})",
                                                      fmt::join(o.include, ", "),
                                                      o.exclude.empty() ? std::string("(nothing)")
                                                                        : fmt::format("{}", fmt::join(o.exclude, ", ")),
                                                      all.size(), all.front().name)}});
      }
      for (const auto& ov : o.overrides) {
        const bool any = std::any_of(layers.begin(), layers.end(), [&](const auto& l) {
          return model::matches_any(l.name, {ov.layers});
        });
        if (!any) {
          throw RecipeError({{ov.origin.location, recipe::join_key(ov.origin.key, "layers"),
                              fmt::format("\"{}\" matches none of the selected layers", ov.layers)}});
        }
      }
      std::vector<std::string> names;
      for (const auto& l : layers) names.push_back(l.name);
      std::vector<LayerSparsity> sparsity;
      for (int64_t step = 1; step <= o.steps; ++step) {
        std::map<std::string, InputStats> stats;
        if (o.method == Method::wanda) stats = capture_linear_inputs(model, names, batches);
        const double scale = static_cast<double>(step) / static_cast<double>(o.steps);
        sparsity = prune_unstructured(layers, o, scale, stats);
        int64_t zeros = 0, numel = 0;
        for (const auto& s : sparsity) {
          zeros += s.zeros;
          numel += s.numel;
        }
        log::info("step {}/{}: {:.2f}% of the selected weights are zero", step, o.steps,
                  100.0 * static_cast<double>(zeros) / static_cast<double>(numel));
      }
      Json rows = Json::array();
      int64_t zeros = 0, numel = 0;
      for (const auto& s : sparsity) {
        zeros += s.zeros;
        numel += s.numel;
        rows.push_back(Json::object({{"layer", s.name},
                                     {"shape", fmt::format("{}", fmt::join(s.shape, "x"))},
                                     {"target", round6(s.target)},
                                     {"sparsity", round6(s.sparsity())},
                                     {"zeros", s.zeros}}));
      }
      d["method"] = o.method == Method::wanda ? "wanda" : "magnitude";
      d["pattern"] = o.pattern;
      d["scope"] = o.scope == Scope::global ? "global" : "local";
      if (o.scope == Scope::local && o.n == 0) d["comparison"] = o.per_row() ? "row" : "layer";
      d["steps"] = o.steps;
      d["selected_weights"] = numel;
      d["zero_weights"] = zeros;
      d["sparsity"] = round6(numel ? static_cast<double>(zeros) / static_cast<double>(numel) : 0);
      d["layers"] = rows;
    }

    // 3. Inference clean-up on the final weights (after pruning: the scale must not change
    //    magnitude rankings across layers).
    report::add_details(passes::inference_cleanup(model, o.optimize_attention, o.fuse_gelu), d);

    // Dense storage does not shrink with zeros; a compressed copy does (both streamed; files
    // over 64 MiB estimated from evenly spaced samples, as zlib runs at about 20 MB/s).
    const auto a = deflated_file_bytes(in.common.model);
    const auto b = deflated_file_bytes(saved_file(model)->path());
    d["deflated_bytes_original"] = a.bytes;
    d["deflated_bytes_result"] = b.bytes;
    d["deflated_size_ratio"] = round6(static_cast<double>(b.bytes) / static_cast<double>(a.bytes));
    if (a.estimated || b.estimated) {
      d["deflated_sampled_bytes"] = std::max(a.sampled_bytes, b.sampled_bytes);
    }
    result.artifact = model;
    return result;
  };
  j.verify = [o](torch::jit::Module& artifact, const job::TransformInput&, report::Report& r) {
    // The zeros survived saving and loading: count them again in the artifact as loaded.
    if (!o.unstructured()) return;
    int64_t zeros = 0;
    for (const auto& l : model::linear_layers(artifact)) {
      if (model::selected(l.name, o.include, o.exclude)) zeros += measure_sparsity(l, 0).zeros;
    }
    const int64_t expected = r.details.at("zero_weights").as_int();
    if (zeros != expected) {
      throw InternalError(fmt::format("the saved artifact has {} zero weights where {} were set", zeros, expected));
    }
  };
  return j;
}

}  // namespace llmc::prune
