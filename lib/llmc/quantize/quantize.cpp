// The quantize job: oneDNN's ISA cap, the attention and GELU rewrites, the scheme, and the
// coverage report; run by the job runner (job/job.h).
#include "llmc/quantize/quantize.h"

#include <fmt/format.h>

#include "llmc/passes/fuse_tanh_gelu.h"
#include "llmc/passes/optimize_attention.h"
#include "llmc/passes/pipelines.h"
#include "llmc/report/pass_details.h"
#include "llmc/quantize/coverage.h"
#include "llmc/quantize/cpu_policy.h"
#include "llmc/util/cpu_features.h"
#include "llmc/util/log.h"
#include "llmc/util/onednn.h"

namespace llmc::quantize {

void apply_onednn_isa(const QuantizeOptions& options, util::Json& details,
                      std::vector<std::string>& warnings) {
  IsaDecision d = decide_onednn_isa(util::cpu_features(), options,
                                    util::onednn_isa_from_environment());
  if (d.cap) {
    if (!util::cap_onednn_isa(*d.cap)) {
      warnings.push_back(fmt::format("onednn_isa: could not cap oneDNN at {}: it had already "
                                     "chosen its instruction set in this process",
                                     util::onednn_isa_name(*d.cap)));
      d.cap.reset();
    } else if (*d.cap != util::OnednnIsa::all) {
      details["deploy_env"] = "ONEDNN_MAX_CPU_ISA=" + util::onednn_isa_env_value(*d.cap);
      log::info("onednn_isa: oneDNN capped at {} ({}); serve the artifact with {}",
                util::onednn_isa_name(*d.cap), d.reason, details.at("deploy_env").as_string());
    }
  }
  details["onednn_isa"] = util::onednn_isa_name(util::onednn_effective_isa());
  details["onednn_isa_cap"] = d.cap ? util::onednn_isa_name(*d.cap) : std::string("none");
  details["onednn_isa_reason"] = d.reason;
}

job::Job quantize_job(const QuantizeOptions& options) {
  job::Job j;
  j.command = "quantize";
  j.transform = [options](torch::jit::Module original, const job::TransformInput& in) {
    // First: oneDNN fixes its ISA at its first primitive, and nothing has run one yet.
    util::Json isa_details = util::Json::object();
    std::vector<std::string> isa_warnings;
    apply_onednn_isa(options, isa_details, isa_warnings);
    QuantizeOutcome q;
    // The runner hands over its only handle: the rewrites below may change `original`. Its
    // methods are cloned first (they may have run while the inputs were checked); its tensors
    // are not copied.
    original = original.clone(/*inplace=*/true);
    const passes::InferenceCleanup cleanup =
        passes::inference_cleanup(original, options.optimize_attention, options.fuse_gelu);
    // int8 quantizes Linear layers: GPT-2's Conv1D layers become ones first.
    job::TransformResult canonical;
    if (options.scheme == Scheme::dynamic_int8 || options.scheme == Scheme::static_int8) {
      job::canonicalize_matrix_layers(original, canonical);
    }
    if (options.scheme == Scheme::bf16) {
      std::vector<bool> float_inputs;
      for (const auto& arg : in.latency_batch.args) {
        float_inputs.push_back(arg.isTensor() && arg.toTensor().is_floating_point());
      }
      q = cast_bf16(original, float_inputs);
    } else if (options.scheme == Scheme::fp16) {
      q = store_fp16(original);
    } else if (options.scheme == Scheme::static_int8) {
      use_engine(options.engine, options.origin);
      const data::InputSet calibration = job::calibration_batches(
          original, options.calibration_data, options.calibration_batches, in);
      q = quantize_static(original, options, calibration.batches);
      q.details["calibration_source"] = calibration.source;
      // Without calibration_data, agreement is measured on the same data: say so.
      if (!options.calibration_data) {
        q.warnings.push_back(fmt::format(
            "static-int8 was calibrated on the first {} batches of {}, which the agreement and "
            "metric figures also cover; quantize.calibration_data keeps them apart",
            q.details.at("calibration_batches").as_int(), in.inputs.source));
      }
    } else {
      use_engine(options.engine, options.origin);
      q = quantize_dynamic(original, options);
    }
    if (options.scheme == Scheme::dynamic_int8 || options.scheme == Scheme::static_int8) {
      const auto plan = plan_layers(original, options, options.scheme == Scheme::dynamic_int8);
      report_coverage(matrix_coverage(original, plan), q.details, q.warnings);
    }
    job::TransformResult t;
    t.artifact = q.quantized;
    t.details = std::move(q.details);
    report::add_details(cleanup, t.details);
    for (const auto& [key, value] : isa_details.as_object()) t.details[key] = value;
    for (const auto& [key, value] : canonical.details.as_object()) t.details[key] = value;
    t.warnings = std::move(q.warnings);
    t.warnings.insert(t.warnings.end(), canonical.warnings.begin(), canonical.warnings.end());
    t.warnings.insert(t.warnings.end(), isa_warnings.begin(), isa_warnings.end());
    if (options.scheme == Scheme::dynamic_int8 || options.scheme == Scheme::static_int8) t.quantized_engine = engine_name(options.engine);
    return t;
  };
  return j;
}

}  // namespace llmc::quantize
