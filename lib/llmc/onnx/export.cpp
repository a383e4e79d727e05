#include "llmc/onnx/export.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "llmc/bench/memory_probe.h"
#include "llmc/metrics/agreement.h"
#include "llmc/metrics/metric_accumulator.h"
#include "llmc/gates/gates.h"
#include "llmc/model/compute_profile.h"
#include "llmc/model/forward.h"
#include "llmc/model/inspect.h"
#include "llmc/model/load.h"
#include "llmc/onnx/annotate.h"
#include "llmc/onnx/lower.h"
#include "llmc/onnx/model_builder.h"
#include "llmc/onnx/ort.h"
#include "llmc/onnx/prepare.h"
#include "llmc/onnx/save.h"
#include "llmc/onnx/shapes.h"
#include "llmc/onnx/validate.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::onnx {

namespace fs = std::filesystem;

namespace {

// export-onnx holds the model (the ONNX graph's initializers are its tensors until written)
// while ONNX Runtime loads the file in a process of its own to verify it.
util::MemoryNeed export_memory_need(const recipe::CommonRecipe& c) {
  util::MemoryNeed need;
  need.weights = util::files_bytes({c.model});
  need.min_copies = 2;
  need.usual_copies = 2.5;
  need.what = "export-onnx holds the model while ONNX Runtime loads the file it wrote";
  return need;
}

// Models from `llmc quantize` run on onednn (x86's engine in Debian's LibTorch): selects it where
// LibTorch has it and returns its name, else "".
std::string select_onednn() {
  const auto supported = at::globalContext().supportedQEngines();
  if (std::find(supported.begin(), supported.end(), at::QEngine::ONEDNN) == supported.end()) {
    return "";
  }
  at::globalContext().setQEngine(at::QEngine::ONEDNN);
  return "onednn";
}

double max_abs_diff(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b,
                    const std::string& where) {
  if (a.size() != b.size()) {
    throw InternalError(fmt::format("ONNX Runtime returned {} outputs, LibTorch {} ({})", b.size(),
                                    a.size(), where));
  }
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].sizes() != b[i].sizes()) {
      throw InputError("", fmt::format("output {} has shape [{}] in ONNX Runtime but [{}] in "
                                       "LibTorch ({}): the exported graph is wrong for this shape",
                                       i, fmt::join(b[i].sizes(), ","), fmt::join(a[i].sizes(), ","),
                                       where));
    }
    if (a[i].numel() == 0) continue;
    const auto d = (a[i].to(at::kDouble) - b[i].to(at::kDouble)).abs().max().item<double>();
    worst = std::max(worst, std::isnan(d) ? INFINITY : d);
  }
  return worst;
}

bool has_quantized_ops(const torch::jit::Graph& g) {
  for (const auto* n : g.nodes()) {
    if (std::string(n->kind().ns().toUnqualString()) == "quantized") return true;
  }
  return false;
}


// The report's figures of the lowered file, read before saving takes its model.
struct FileFigures {
  int64_t parameter_count = 0;
  int64_t nodes = 0;
  int64_t initializers = 0;
  util::Json largest = util::Json::array();
};

FileFigures file_figures(const ::onnx::ModelProto& model) {
  FileFigures f;
  std::vector<std::pair<int64_t, const ::onnx::TensorProto*>> by_size;
  for (const auto& init : model.graph().initializer()) {
    int64_t n = 1;
    for (auto d : init.dims()) n *= d;
    f.parameter_count += n;
    by_size.push_back({tensor_proto_bytes(init), &init});
  }
  f.nodes = model.graph().node_size();
  f.initializers = model.graph().initializer_size();
  // The largest initializers: where the bytes are (and proof that tied weights are stored once).
  std::sort(by_size.begin(), by_size.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < by_size.size() && i < 5; ++i) {
    const auto* t = by_size[i].second;
    f.largest.push_back(util::Json::object(
        {{"name", t->name()},
         {"shape", fmt::format("[{}]", fmt::join(t->dims(), ", "))},
         {"dtype", onnx_dtype_name(t->data_type())},
         {"bytes", by_size[i].first}}));
  }
  return f;
}

util::Json io_json(const std::vector<IoInfo>& ios) {
  util::Json a = util::Json::array();
  for (const auto& io : ios) {
    a.push_back(util::Json::object({{"name", io.name},
                                    {"dtype", io.dtype},
                                    {"dims", fmt::format("[{}]", fmt::join(io.dims, ", "))}}));
  }
  return a;
}

// The report's details about the file: opset, checks, nodes, initializers, inputs, outputs.
util::Json file_details(const ExportOptions& o, const ValidationResult& validation,
                        const Lowered& lowered, const FileFigures& figures,
                        const SavedFiles& saved, const PreparedGraph& prepared) {
  util::Json d = util::Json::object();
  d["opset"] = o.opset;
  d["ir_version"] = kIrVersion;
  d["checker"] = validation.checker;
  d["shape_inference"] = validation.shape_inference;
  d["nodes"] = figures.nodes;
  util::Json hist = util::Json::object();
  for (const auto& [op, count] : lowered.op_histogram) hist[op] = count;
  d["op_histogram"] = hist;
  d["initializers"] = util::Json::object(
      {{"count", figures.initializers}, {"bytes", lowered.initializer_bytes}});
  d["largest_initializers"] = figures.largest;
  d["inputs"] = io_json(lowered.inputs);
  d["outputs"] = io_json(lowered.outputs);
  d["external_data"] = saved.data_path.empty()
                           ? util::Json(nullptr)
                           : util::Json(fs::path(saved.data_path).filename().string());
  util::Json passes = util::Json::array();
  for (const auto& p : prepared.passes) passes.push_back(p);
  d["torchscript_passes"] = passes;
  d["folded_nodes"] = lowered.folded_nodes;
  return d;
}

// What the ONNX file is checked against: the original as loaded, its inputs, and how the
// file's graph inputs are shaped.
struct Subject {
  torch::jit::Module& original;
  const job::Inputs& inputs;
  const ShapePlan& plan;
  std::string onnx_path;
  bool quantized = false;  // the graph has quantized ops: their tolerance, the onednn engine
  std::string engine;      // the quantized engine selected, for the memory probe
};

// Runs the file in ONNX Runtime on the plan's verification shapes against LibTorch on the
// original and fills the session's report: the verification gate and rows, agreement and task
// metrics on the recipe's batches, latency (LibTorch here, ONNX Runtime in its own process) and
// memory.
void verify_in_onnxruntime(job::Session& s, const ExportOptions& o, const Subject& subject) {
  const auto& common = s.common;
  const auto& inputs = subject.inputs;
  report::Report& r = s.report;
  util::Json& d = r.details;
  const double tolerance =
      subject.quantized ? o.verify.quantized_tolerance : o.verify.tolerance;
  const std::string runner = find_ort_runner(o.verify.runner);
  // LibTorch reference outputs per shape; shapes llmc picked that LibTorch itself rejects
  // (e.g. past the position table) are skipped with a warning.
  std::vector<Shape> kept;
  std::vector<c10::IValue> reference;
  for (auto& shape : subject.plan.verification(inputs.agreement.batches)) {
    try {
      reference.push_back(model::run_forward(subject.original, shape.batch, common.model));
      kept.push_back(std::move(shape));
    } catch (const InputError& e) {
      if (shape.user_given) throw;
      r.warnings.push_back(fmt::format("skipped verification shape {} ({}): LibTorch fails on "
                                       "it too: {}",
                                       shape.label, describe(shape.inputs), e.what()));
    }
  }
  OrtRequest req;
  req.model = subject.onnx_path;
  for (const auto& shape : kept) req.runs.push_back(shape.inputs);
  // Time the latency batch.
  req.runs.push_back(subject.plan.make("latency", inputs.latency, {}, true).inputs);
  req.timing_run = static_cast<int>(req.runs.size()) - 1;
  req.warmup = static_cast<int>(common.bench.warmup);
  req.repeats = static_cast<int>(common.bench.runs);
  req.threads = static_cast<int>(common.threads);
  log::info("verifying in ONNX Runtime on {} input shapes", kept.size());
  const OrtResponse ort = run_onnxruntime(req, runner);
  util::Json rows = util::Json::array();
  double worst = 0;
  for (size_t i = 0; i < kept.size(); ++i) {
    const double diff = max_abs_diff(metrics::output_tensors(reference[i]), ort.outputs[i],
                                     describe(kept[i].inputs));
    worst = std::max(worst, diff);
    rows.push_back(util::Json::object({{"shape", kept[i].label},
                                       {"inputs", describe(kept[i].inputs)},
                                       {"max_abs_diff", diff},
                                       {"within_tolerance", diff <= tolerance}}));
  }
  util::Json verification = util::Json::object();
  verification["runtime"] = "onnxruntime " + ort.version;
  verification["tolerance"] = tolerance;
  verification["max_abs_diff"] = worst;
  d["verification"] = verification;
  d["verified_shapes"] = rows;
  r.gates.push_back(gates::check(subject.quantized ? "export_onnx.verify.quantized_tolerance"
                                                   : "export_onnx.verify.tolerance",
                                 gates::Bound::at_most, tolerance, worst));

  // Agreement and task metrics on the recipe's batches (the first kept shapes).
  const size_t n_batches = inputs.agreement.batches.size();
  std::vector<c10::IValue> ref_out, res_out;
  for (size_t i = 0; i < n_batches && i < kept.size(); ++i) {
    ref_out.push_back(reference[i]);
    res_out.push_back(metrics::output_like(reference[i], ort.outputs[i]));
  }
  r.agreement = metrics::compare_outputs(ref_out, res_out, common.task);
  if (common.task.type != recipe::TaskKind::none) {
    std::vector<at::Tensor> labels;
    for (size_t i = 0; i < ref_out.size(); ++i) labels.push_back(inputs.agreement.batches[i].labels);
    r.original.metrics = metrics::task_metrics(ref_out, labels, common.task);
    r.result.metrics = metrics::task_metrics(res_out, labels, common.task);
  }

  // Latency: LibTorch on the original vs ONNX Runtime on the file, same batch and threads.
  const util::ThreadPool pool = model::use_pool_for(subject.original);
  log::info("timing LibTorch ({} runs, {} thread(s) in {})", common.bench.runs,
            util::thread_plan().threads, util::pool_name(pool));
  r.original.latency = job::time_runs(
      "timing", [&] { model::run_forward(subject.original, inputs.latency, common.model); },
      common.bench, inputs.latency.rows);
  r.original.latency->thread_pool = util::pool_name(pool);
  r.result.latency = bench::summarize(ort.latency_ms, inputs.latency.rows);
  std::string note;
  if (common.bench.memory) {
    r.original.memory = bench::measure_model_memory(
        common.model, inputs.latency, static_cast<int>(common.threads), s.pool,
        subject.quantized ? subject.engine : "", note);
  }
  if (!note.empty()) r.warnings.push_back(note);
  bench::MemoryStats m;
  m.peak_rss_bytes = ort.peak_rss_bytes;
  m.delta_rss_bytes = ort.peak_rss_bytes - ort.rss_before_bytes;
  m.isolated = true;
  r.result.memory = m;
  d["latency_note"] = fmt::format("original: LibTorch ({} thread(s) in {}); result: ONNX Runtime "
                                  "{} with {} intra-op thread(s), all graph optimizations",
                                  util::thread_plan().threads, util::pool_name(pool), ort.version,
                                  common.threads);
}

}  // namespace

report::Report run_export(const ExportRecipe& recipe, const job::RunOptions& options) {
  const auto& common = recipe.common;
  const auto& o = recipe.onnx;
  job::Session s("export-onnx", export_memory_need(common), common, options);
  report::Report& r = s.report;

  const std::string engine = select_onednn();
  job::Original loaded = job::load_original(common);
  torch::jit::Module& original = loaded.model;
  original.eval();
  const job::Inputs& inputs = loaded.inputs;
  // The given arguments (not None) of the latency batch are the graph inputs.
  GivenInputs given = given_inputs(inputs.latency, model::forward_argument_names(original), o,
                                   common.model);

  log::info("preparing the graph (freeze, inline, clean-up passes)");
  PreparedGraph prepared = prepare_graph(original, given.names, common.model);
  r.warnings.insert(r.warnings.end(), prepared.warnings.begin(), prepared.warnings.end());
  const ShapePlan plan(inputs.latency, std::move(given), o);
  const Shape shape_a = plan.run_a();
  const Shape shape_b = plan.run_b();
  std::vector<c10::IValue> run_a, run_b;
  for (const auto& in : shape_a.inputs) run_a.push_back(in.tensor);
  for (const auto& in : shape_b.inputs) run_b.push_back(in.tensor);

  log::info("annotating: running the graph on {} and {}", describe(shape_a.inputs),
            describe(shape_b.inputs));
  Annotation annotation = annotate(*prepared.graph, run_a, run_b, common.model, &r.warnings);
  log::info("lowering to ONNX opset {}", o.opset);
  Lowered lowered = lower_graph(prepared, annotation, o, common.model);
  const ValidationResult validation = validate(lowered.model);
  const std::string onnx_path = s.out.file("model.onnx");
  const FileFigures figures = file_figures(lowered.model);
  const SavedFiles saved = save_model(std::move(lowered.model), lowered.tensor_data, onnx_path,
                                      o.external_data, lowered.initializer_bytes);
  lowered.tensor_data.clear();  // layouts made only for the file (int8 codes, casts) go now

  job::describe_file(r.original, common.model, common.model);
  job::describe_weights(r.original, original);
  job::describe_file(r.result, (fs::path(common.output) / "model.onnx").string(), onnx_path);
  r.result.file_bytes = saved.model_bytes + saved.data_bytes;
  r.result.parameter_count = figures.parameter_count;
  r.result.parameter_bytes = lowered.initializer_bytes;
  job::describe_inputs(r, inputs);
  r.details = file_details(o, validation, lowered, figures, saved, prepared);

  const bool quantized = has_quantized_ops(*prepared.graph);
  if (o.verify.runtime == Runtime::none) {
    r.details["verification"] = util::Json::object({{"runtime", "none"}});
    r.warnings.push_back("export_onnx.verify.runtime is none: the file was checked by "
                         "::onnx::checker and shape inference but not run; no numbers compared");
  } else {
    verify_in_onnxruntime(s, o, {original, inputs, plan, onnx_path, quantized, engine});
  }
  job::add_load_notes(loaded.notes, r);
  s.finish();
  return r;
}

}  // namespace llmc::onnx
