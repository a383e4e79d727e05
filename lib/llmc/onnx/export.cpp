#include "llmc/onnx/export.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "llmc/bench/measure.h"
#include "llmc/bench/memory_probe.h"
#include "llmc/metrics/agreement.h"
#include "llmc/metrics/metric_accumulator.h"
#include "llmc/model/inspect.h"
#include "llmc/model/load.h"
#include "llmc/onnx/annotate.h"
#include "llmc/onnx/lower.h"
#include "llmc/onnx/model_builder.h"
#include "llmc/onnx/ort.h"
#include "llmc/onnx/prepare.h"
#include "llmc/onnx/save.h"
#include "llmc/onnx/validate.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"
#include "llmc/util/progress.h"
#include "llmc/util/sha256.h"

namespace llmc::onnx {

namespace fs = std::filesystem;

namespace {

// One input set: forward arguments by name (only the given ones), as LibTorch and ORT see them.
struct Shape {
  std::string label;  // "recipe inputs", "resized", "verify.sizes[0]"
  std::vector<NamedTensor> inputs;  // graph order (prepared.input_names)
  data::Batch batch;                // for LibTorch's forward (with labels when known)
  bool user_given = true;           // false: llmc picked the sizes
};

std::string describe(const std::vector<NamedTensor>& inputs) {
  std::string s;
  for (const auto& in : inputs) {
    s += fmt::format("{}{}[{}]", s.empty() ? "" : " ", in.name, fmt::join(in.tensor.sizes(), ","));
  }
  return s;
}

// `t` with axis `axis` made `size` long: cut, or repeated and cut (token ids and masks stay
// valid values).
at::Tensor resize_axis(const at::Tensor& t, int64_t axis, int64_t size) {
  if (t.size(axis) >= size) return t.narrow(axis, 0, size).contiguous();
  const int64_t reps = (size + t.size(axis) - 1) / t.size(axis);
  std::vector<at::Tensor> parts(static_cast<size_t>(reps), t);
  return at::cat(parts, axis).narrow(axis, 0, size).contiguous();
}

// The dynamic axes of the given inputs: (argument index, axis, axis name).
struct Axis {
  size_t arg;
  int64_t axis;
  std::string name;
};

Shape make_shape(const std::string& label, const data::Batch& base,
                 const std::vector<size_t>& given, const std::vector<std::string>& names,
                 const std::vector<Axis>& axes, const std::map<std::string, int64_t>& sizes,
                 bool user_given) {
  Shape s;
  s.label = label;
  s.user_given = user_given;
  s.batch = base;
  for (const auto& ax : axes) {
    auto it = sizes.find(ax.name);
    if (it == sizes.end()) continue;
    auto& v = s.batch.args[ax.arg];
    v = resize_axis(v.toTensor(), ax.axis, it->second);
  }
  if (s.batch.labels.defined()) {
    // Labels follow a resized batch axis when they share its size.
    for (const auto& ax : axes) {
      const auto& t = base.args[ax.arg].toTensor();
      if (ax.axis == 0 && sizes.count(ax.name) && base.labels.dim() > 0 &&
          base.labels.size(0) == t.size(0)) {
        s.batch.labels = resize_axis(base.labels, 0, sizes.at(ax.name));
        s.batch.rows = sizes.at(ax.name);
        break;
      }
    }
  }
  for (size_t i = 0; i < given.size(); ++i) {
    s.inputs.push_back({names[i], s.batch.args[given[i]].toTensor()});
  }
  for (const auto& ax : axes) {
    if (ax.axis == 0 && sizes.count(ax.name)) s.batch.rows = sizes.at(ax.name);
  }
  return s;
}

std::vector<at::Tensor> flat_tensors(const c10::IValue& v) {
  std::vector<at::Tensor> out;
  if (v.isTensor()) {
    out.push_back(v.toTensor());
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) {
      auto sub = flat_tensors(e);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  } else if (v.isList()) {
    for (const auto& e : v.toListRef()) {
      auto sub = flat_tensors(e);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  }
  return out;
}

// ORT's flat outputs in the shape of LibTorch's output (a tensor or a tuple), for the shared
// agreement code.
c10::IValue like(const c10::IValue& reference, const std::vector<at::Tensor>& flat) {
  if (reference.isTensor()) return flat.at(0);
  std::vector<c10::IValue> elems(flat.begin(), flat.end());
  return c10::ivalue::Tuple::create(std::move(elems));
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

}  // namespace

report::Report run_export(const ExportRecipe& recipe, const job::RunOptions& options) {
  const auto& common = recipe.common;
  const auto& o = recipe.onnx;
  report::Report r;
  r.command = "export-onnx";
  r.provenance.started_at = report::utc_now_iso8601();
  const auto pool = common.thread_pool == recipe::ThreadPoolKind::libtorch
                        ? util::ThreadPool::libtorch
                        : util::ThreadPool::blas;
  const auto threads = util::configure_threads(static_cast<int>(common.threads), pool);

  job::Job memory;
  memory.command = "export-onnx";
  memory.memory_need = [](const recipe::CommonRecipe& c) {
    util::MemoryNeed need;
    need.weights = util::files_bytes({c.model});
    need.min_copies = 2;
    need.usual_copies = 3.5;
    need.what = "export-onnx holds the model and the ONNX graph's copy of its weights";
    return need;
  };
  const std::string memory_warning = job::check_memory(memory, common, options);
  if (!memory_warning.empty()) log::warn(memory_warning);
  util::OutputDir out(common.output, options.force, job::protected_paths(common, options));

  // Models from `llmc quantize` run on onednn (x86's engine in Debian's LibTorch).
  std::string engine;
  {
    const auto supported = at::globalContext().supportedQEngines();
    if (std::find(supported.begin(), supported.end(), at::QEngine::ONEDNN) != supported.end()) {
      at::globalContext().setQEngine(at::QEngine::ONEDNN);
      engine = "onednn";
    }
  }
  log::info("loading {}", common.model);
  model::LoadNotes load_notes;
  torch::jit::Module original = model::load(common.model, &load_notes);
  original.eval();
  const job::Inputs inputs = job::load_inputs(common, original);
  const auto arg_names = model::forward_argument_names(original);

  // The given arguments (not None) of the first batch are the graph inputs.
  const data::Batch& first = inputs.latency;
  std::vector<size_t> given;
  std::vector<std::string> given_names;
  for (size_t i = 0; i < first.args.size() && i < arg_names.size(); ++i) {
    if (first.args[i].isNone()) continue;
    if (!first.args[i].isTensor()) {
      throw InputError(common.model, fmt::format("forward argument `{}` is not a tensor; only "
                                                 "tensor inputs can be exported",
                                                 arg_names[i]));
    }
    given.push_back(i);
    given_names.push_back(arg_names[i]);
  }
  for (const auto& [name, axes] : o.dynamic_axes) {
    const bool by_arg = std::find(given_names.begin(), given_names.end(), name) != given_names.end();
    const bool by_input = std::find(o.input_names.begin(), o.input_names.end(), name) !=
                          o.input_names.end();
    if (!by_arg && !by_input) {
      throw RecipeError({{o.origin.location, "export_onnx.dynamic_axes." + name,
                          fmt::format("no input is called \"{}\" (the model's inputs: {})", name,
                                      fmt::join(given_names, ", "))}});
    }
  }
  if (o.input_names.size() > given.size()) {
    throw RecipeError({{o.origin.location, "export_onnx.input_names",
                        fmt::format("{} names for {} inputs ({})", o.input_names.size(),
                                    given.size(), fmt::join(given_names, ", "))}});
  }

  log::info("preparing the graph (freeze, inline, clean-up passes)");
  PreparedGraph prepared = prepare_graph(original, given_names, common.model);
  if (!memory_warning.empty()) r.warnings.push_back(memory_warning);
  r.warnings.insert(r.warnings.end(), prepared.warnings.begin(), prepared.warnings.end());
  std::vector<std::string> onnx_names;
  std::vector<Axis> axes;
  std::map<std::string, int64_t> size_a;
  for (size_t i = 0; i < given.size(); ++i) {
    onnx_names.push_back(i < o.input_names.size() ? o.input_names[i] : given_names[i]);
    auto names = axis_names(o, given_names[i]);
    if (names.empty()) names = axis_names(o, onnx_names[i]);
    const auto& t = first.args[given[i]].toTensor();
    if (static_cast<int64_t>(names.size()) > t.dim()) {
      throw RecipeError({{o.origin.location, "export_onnx.dynamic_axes." + given_names[i],
                          fmt::format("{} axes named, but `{}` has {} ([{}])", names.size(),
                                      given_names[i], t.dim(), fmt::join(t.sizes(), ","))}});
    }
    for (size_t d = 0; d < names.size(); ++d) {
      if (names[d].empty()) continue;
      axes.push_back({given[i], static_cast<int64_t>(d), names[d]});
      const int64_t s = t.size(static_cast<int64_t>(d));
      if (size_a.count(names[d]) && size_a[names[d]] != s) {
        throw RecipeError({{o.origin.location, "export_onnx.dynamic_axes",
                            fmt::format("axis \"{}\" has size {} in one input and {} in another",
                                        names[d], size_a[names[d]], s)}});
      }
      size_a[names[d]] = s;
    }
  }
  // Run B: every dynamic axis resized by a different amount, so sizes that follow an axis are
  // told apart from fixed ones.
  std::map<std::string, int64_t> size_b;
  {
    const int64_t steps[] = {3, 5, 7, 11, 13, 17, 19, 23};
    size_t k = 0;
    for (const auto& [name, s] : size_a) {
      const int64_t step = steps[k++ % 8];
      size_b[name] = s > step + 1 ? s - step : s + step;
    }
  }
  Shape shape_a = make_shape("recipe inputs", first, given, onnx_names, axes, {}, true);
  Shape shape_b = make_shape("dynamic axes resized", first, given, onnx_names, axes, size_b, false);
  std::vector<c10::IValue> run_a, run_b;
  for (const auto& in : shape_a.inputs) run_a.push_back(in.tensor);
  for (const auto& in : shape_b.inputs) run_b.push_back(in.tensor);

  log::info("annotating: running the graph on {} and {}", describe(shape_a.inputs),
            describe(shape_b.inputs));
  Annotation annotation = annotate(*prepared.graph, run_a, run_b, common.model, &r.warnings);
  log::info("lowering to ONNX opset {}", o.opset);
  Lowered lowered = lower_graph(prepared, annotation, o, common.model);
  const ValidationResult validation = validate(lowered.model);
  const std::string onnx_path = out.file("model.onnx");
  int64_t parameter_count = 0;
  for (const auto& init : lowered.model.graph().initializer()) {
    int64_t n = 1;
    for (auto d : init.dims()) n *= d;
    parameter_count += n;
  }
  const int64_t node_count = lowered.model.graph().node_size();
  // The largest initializers: where the bytes are (and proof that tied weights are stored once).
  util::Json largest = util::Json::array();
  {
    std::vector<std::pair<int64_t, const ::onnx::TensorProto*>> by_size;
    for (const auto& init : lowered.model.graph().initializer()) {
      by_size.push_back({tensor_proto_bytes(init), &init});
    }
    std::sort(by_size.begin(), by_size.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < by_size.size() && i < 5; ++i) {
      const auto* t = by_size[i].second;
      largest.push_back(util::Json::object(
          {{"name", t->name()},
           {"shape", fmt::format("[{}]", fmt::join(t->dims(), ", "))},
           {"dtype", onnx_dtype_name(t->data_type())},
           {"bytes", by_size[i].first}}));
    }
  }
  const int64_t initializer_count = lowered.model.graph().initializer_size();
  const SavedFiles saved = save_model(std::move(lowered.model), lowered.tensor_data, onnx_path,
                                      o.external_data, lowered.initializer_bytes);
  lowered.tensor_data.clear();  // layouts made only for the file (int8 codes, casts) go now

  r.original.path = common.model;
  r.result.path = (fs::path(common.output) / "model.onnx").string();
  r.original.file_bytes = bench::file_bytes(common.model);
  r.result.file_bytes = saved.model_bytes + saved.data_bytes;
  r.original.sha256 = util::sha256_file_hex(common.model);
  r.result.sha256 = util::sha256_file_hex(onnx_path);
  const auto w = model::weight_stats(original);
  r.original.parameter_count = w.count;
  r.original.parameter_bytes = w.bytes;
  r.result.parameter_count = parameter_count;
  r.result.parameter_bytes = lowered.initializer_bytes;
  r.inputs_source = inputs.agreement.source;
  r.input_rows = inputs.agreement.rows();
  r.latency_batch_rows = inputs.latency.rows;

  util::Json d = util::Json::object();
  d["opset"] = o.opset;
  d["ir_version"] = kIrVersion;
  d["checker"] = validation.checker;
  d["shape_inference"] = validation.shape_inference;
  d["nodes"] = node_count;
  util::Json hist = util::Json::object();
  for (const auto& [op, count] : lowered.op_histogram) hist[op] = count;
  d["op_histogram"] = hist;
  d["initializers"] = util::Json::object(
      {{"count", initializer_count}, {"bytes", lowered.initializer_bytes}});
  d["largest_initializers"] = largest;
  auto io_json = [](const std::vector<IoInfo>& ios) {
    util::Json a = util::Json::array();
    for (const auto& io : ios) {
      a.push_back(util::Json::object(
          {{"name", io.name}, {"dtype", io.dtype}, {"dims", fmt::format("[{}]", fmt::join(io.dims, ", "))}}));
    }
    return a;
  };
  d["inputs"] = io_json(lowered.inputs);
  d["outputs"] = io_json(lowered.outputs);
  d["external_data"] = saved.data_path.empty()
                           ? util::Json(nullptr)
                           : util::Json(fs::path(saved.data_path).filename().string());
  util::Json passes = util::Json::array();
  for (const auto& p : prepared.passes) passes.push_back(p);
  d["torchscript_passes"] = passes;
  d["folded_nodes"] = lowered.folded_nodes;

  // Verification shapes: the recipe's batches, run B, and verify.sizes (or one more of our own).
  std::vector<Shape> shapes;
  for (size_t bi = 0; bi < inputs.agreement.batches.size(); ++bi) {
    shapes.push_back(make_shape(bi == 0 ? "recipe inputs" : fmt::format("recipe inputs, batch {}", bi + 1),
                                inputs.agreement.batches[bi], given, onnx_names, axes, {}, true));
  }
  shapes.push_back(shape_b);
  size_t extra = 0;
  for (const auto& [name, list] : o.verify.sizes) extra = std::max(extra, list.size());
  for (size_t i = 0; i < extra; ++i) {
    std::map<std::string, int64_t> sizes;
    for (const auto& [name, list] : o.verify.sizes) sizes[name] = list[i % list.size()];
    shapes.push_back(make_shape(fmt::format("verify.sizes[{}]", i), first, given, onnx_names, axes,
                                sizes, true));
  }
  if (extra == 0 && !size_a.empty()) {
    std::map<std::string, int64_t> sizes;
    for (const auto& [name, s] : size_a) sizes[name] = s + 1;
    shapes.push_back(make_shape("dynamic axes + 1", first, given, onnx_names, axes, sizes, false));
  }

  const bool quantized = has_quantized_ops(*prepared.graph);
  const double tolerance = quantized ? o.verify.quantized_tolerance : o.verify.tolerance;
  util::Json verification = util::Json::object();
  if (o.verify.runtime == Runtime::none) {
    verification["runtime"] = "none";
    r.warnings.push_back("export_onnx.verify.runtime is none: the file was checked by "
                         "::onnx::checker and shape inference but not run; no numbers compared");
    d["verification"] = verification;
  } else {
    const std::string runner = find_ort_runner(o.verify.runner);
    // LibTorch reference outputs per shape; shapes llmc picked that LibTorch itself rejects
    // (e.g. past the position table) are skipped with a warning.
    std::vector<Shape> kept;
    std::vector<c10::IValue> reference;
    for (auto& s : shapes) {
      try {
        reference.push_back(job::run_forward(original, s.batch, common.model));
        kept.push_back(std::move(s));
      } catch (const InputError& e) {
        if (s.user_given) throw;
        r.warnings.push_back(fmt::format("skipped verification shape {} ({}): LibTorch fails on "
                                         "it too: {}",
                                         s.label, describe(s.inputs), e.what()));
      }
    }
    OrtRequest req;
    req.model = onnx_path;
    for (const auto& s : kept) req.runs.push_back(s.inputs);
    req.timing_run = 0;
    // Time the latency batch: the first recipe batch when it is the latency batch.
    req.runs.push_back(make_shape("latency", inputs.latency, given, onnx_names, axes, {}, true).inputs);
    req.timing_run = static_cast<int>(req.runs.size()) - 1;
    req.warmup = static_cast<int>(common.bench.warmup);
    req.repeats = static_cast<int>(common.bench.runs);
    req.threads = static_cast<int>(common.threads);
    log::info("verifying in ONNX Runtime on {} input shapes", kept.size());
    const OrtResponse ort = run_onnxruntime(req, runner);
    util::Json rows = util::Json::array();
    double worst = 0;
    for (size_t i = 0; i < kept.size(); ++i) {
      const double diff = max_abs_diff(flat_tensors(reference[i]), ort.outputs[i],
                                       describe(kept[i].inputs));
      worst = std::max(worst, diff);
      rows.push_back(util::Json::object({{"shape", kept[i].label},
                                         {"inputs", describe(kept[i].inputs)},
                                         {"max_abs_diff", diff},
                                         {"within_tolerance", diff <= tolerance}}));
    }
    verification["runtime"] = "onnxruntime " + ort.version;
    verification["tolerance"] = tolerance;
    verification["max_abs_diff"] = worst;
    d["verification"] = verification;
    d["verified_shapes"] = rows;
    report::GateResult gate;
    gate.name = quantized ? "export_onnx.verify.quantized_tolerance" : "export_onnx.verify.tolerance";
    gate.comparison = "<=";
    gate.threshold = tolerance;
    gate.actual = worst;
    gate.passed = worst <= tolerance;
    r.gates.push_back(gate);

    // Agreement and task metrics on the recipe's batches (the first kept shapes).
    const size_t n_batches = inputs.agreement.batches.size();
    std::vector<c10::IValue> ref_out, res_out;
    for (size_t i = 0; i < n_batches && i < kept.size(); ++i) {
      ref_out.push_back(reference[i]);
      res_out.push_back(like(reference[i], ort.outputs[i]));
    }
    r.agreement = metrics::compare_outputs(ref_out, res_out, common.task);
    if (common.task.type != recipe::TaskKind::none) {
      std::vector<at::Tensor> labels;
      for (size_t i = 0; i < ref_out.size(); ++i) labels.push_back(inputs.agreement.batches[i].labels);
      r.original.metrics = metrics::task_metrics(ref_out, labels, common.task);
      r.result.metrics = metrics::task_metrics(res_out, labels, common.task);
    }

    // Latency: LibTorch on the original vs ONNX Runtime on the file, same batch and threads.
    log::info("timing LibTorch ({} runs, {})", common.bench.runs, threads.describe());
    for (int64_t i = 0; i < common.bench.warmup; ++i) job::run_forward(original, inputs.latency, common.model);
    std::vector<double> times;
    log::Progress timing("timing", common.bench.runs, log::ProgressUnit::count, "runs");
    for (int64_t i = 0; i < common.bench.runs; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      job::run_forward(original, inputs.latency, common.model);
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      timing.update(i + 1);
    }
    timing.done();
    r.original.latency = bench::summarize(times, inputs.latency.rows);
    r.result.latency = bench::summarize(ort.latency_ms, inputs.latency.rows);
    std::string note;
    if (common.bench.memory) {
      r.original.memory = bench::measure_model_memory(common.model, inputs.latency,
                                                      static_cast<int>(common.threads), pool,
                                                      quantized ? engine : "", note);
    }
    if (!note.empty()) r.warnings.push_back(note);
    bench::MemoryStats m;
    m.peak_rss_bytes = ort.peak_rss_bytes;
    m.delta_rss_bytes = ort.peak_rss_bytes - ort.rss_before_bytes;
    m.isolated = true;
    r.result.memory = m;
    d["latency_note"] = fmt::format("original: LibTorch ({}); result: ONNX Runtime {} with {} "
                                    "intra-op thread(s), all graph optimizations",
                                    threads.describe(), ort.version, common.threads);
  }
  r.details = std::move(d);
  job::add_load_notes(load_notes, r);
  job::write_report(r, common, options, threads, out);
  log::info("wrote {}", common.output);
  return r;
}

}  // namespace llmc::onnx
