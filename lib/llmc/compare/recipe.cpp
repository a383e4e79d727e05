#include "llmc/compare/recipe.h"

#include <filesystem>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "llmc/recipe/parse.h"

namespace llmc::compare {

namespace fs = std::filesystem;

ModelFormat ModelEntry::format() const {
  return fs::path(path).extension() == ".onnx" ? ModelFormat::onnx : ModelFormat::torchscript;
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

recipe::Section<ModelEntry> model_schema() {
  recipe::Section<ModelEntry> s;
  s.path("path", &ModelEntry::path, recipe::PathCheck::existing_file,
         "model file: TorchScript (.pt, run by LibTorch) or ONNX (.onnx, run by ONNX Runtime "
         "through the runner export-onnx uses)")
      .required();
  s.text("name", &ModelEntry::name,
         "label in the tables and charts (default: the file name, with its directory when two "
         "files share a name)");
  s.path("distill_report", &ModelEntry::distill_report, recipe::PathCheck::existing_file,
         "report.json of the `llmc distill` run that trained this model: its per-epoch history "
         "(loss and metric) is charted in report.html");
  s.origin(&ModelEntry::origin);
  return s;
}

recipe::Section<CostSpec> cost_schema() {
  recipe::Section<CostSpec> s;
  s.number("hardware_per_hour", &CostSpec::hardware_per_hour, 0, kInf,
           "price of one hour of the machine the models were measured on");
  s.number("requests_per_month", &CostSpec::requests_per_month, 0, kInf,
           "requests served per month");
  s.number("rows_per_request", &CostSpec::rows_per_request, 0, kInf,
           "rows (samples) one request sends through the model");
  s.number("tokens_per_request", &CostSpec::tokens_per_request, 0, kInf,
           "tokens one request costs at the hosted API (input and output)");
  s.number("api_price_per_1k_tokens", &CostSpec::api_price_per_1k_tokens, 0, kInf,
           "the hosted API's price per 1 000 tokens, for the comparison row");
  s.number("api_calls_per_request", &CostSpec::api_calls_per_request, 0, kInf,
           "hosted API calls one request makes");
  s.text("currency", &CostSpec::currency, "currency of the prices, as shown in the reports");
  s.origin(&CostSpec::origin);
  s.check([](const CostSpec& c, const recipe::Origin& where, recipe::Context& ctx) {
    if (c.hardware_per_hour <= 0 || c.requests_per_month <= 0) {
      ctx.error(where, "cost needs hardware_per_hour and requests_per_month (both > 0)");
    }
    if (c.api_price_per_1k_tokens && c.tokens_per_request <= 0) {
      ctx.error(where, "api_price_per_1k_tokens needs tokens_per_request (> 0)");
    }
  });
  return s;
}

std::string file_label(const std::string& path, bool with_dir) {
  const fs::path p(path);
  if (!with_dir || p.parent_path().filename().empty()) return p.filename().string();
  return (p.parent_path().filename() / p.filename()).string();
}

// Default names, then unique names and the reference's index. A reference given as a path may
// be relative to the recipe (`recipe_dir`) or, given with --set, to the working directory.
void finish(CompareRecipe& r, const std::string& recipe_dir, recipe::Context& ctx) {
  auto& models = r.compare.models;
  std::map<std::string, int> file_names;
  for (const auto& m : models) ++file_names[file_label(m.path, false)];
  for (auto& m : models) {
    if (m.name.empty()) m.name = file_label(m.path, file_names[file_label(m.path, false)] > 1);
  }
  std::map<std::string, const ModelEntry*> seen;
  for (const auto& m : models) {
    if (!seen.emplace(m.name, &m).second) {
      ctx.error(m.origin, fmt::format("two models are named \"{}\"; give each a distinct name (compare.models[].name)",
                                      m.name));
    }
  }
  if (models.empty()) {
    ctx.error(r.compare.origin, "compare.models lists no model");
    return;
  }
  const std::string& ref = r.compare.reference;
  bool found = ref.empty();
  const fs::path as_given = fs::path(ref).lexically_normal();
  const fs::path in_recipe_dir = (fs::path(recipe_dir) / ref).lexically_normal();
  for (size_t i = 0; i < models.size() && !found; ++i) {
    const fs::path path = fs::path(models[i].path).lexically_normal();
    if (models[i].name == ref || path == as_given || path == in_recipe_dir) {
      r.reference_index = i;
      found = true;
    }
  }
  if (!found) {
    std::string names;
    for (const auto& m : models) names += (names.empty() ? "" : ", ") + m.name;
    ctx.error(r.compare.reference_origin,
              fmt::format("no model is named \"{}\" (models: {})", ref, names));
    return;
  }
  const ModelEntry& reference = models[r.reference_index];
  if (reference.format() != ModelFormat::torchscript) {
    ctx.error(ref.empty() ? reference.origin : r.compare.reference_origin,
              fmt::format("the reference must be a TorchScript model (the inputs are built "
                          "against its forward), not the ONNX file {}; name another with "
                          "compare.reference",
                          reference.path));
    return;
  }
  r.common.model = reference.path;
}

}  // namespace

recipe::Section<CompareRecipe> compare_schema() {
  recipe::Section<CompareOptions> s;
  s.list("models", &CompareOptions::models, model_schema(),
         "the models measured side by side, in the order of the tables and charts")
      .required();
  s.text("reference", &CompareOptions::reference,
         "name or path of the model every other is compared with (agreement, metric drop, "
         "gates); default: the first")
      .value_origin(&CompareOptions::reference_origin);
  s.integer("batch_size", &CompareOptions::batch_size, 1, 1 << 16,
            "rows of the batch latency and memory are measured on (the first rows of data; "
            "example_inputs keep their own shape)");
  s.number("temperature", &CompareOptions::temperature, 0, kInf,
           "a distillation temperature T: report.html shows the reference's probabilities on "
           "the first row at T = 1 and at T (softmax(z / T))",
           true);
  s.optional_section("cost", &CompareOptions::cost, cost_schema(),
                     "serving-cost assumptions: each model's estimated monthly cost from its "
                     "measured throughput (docs/compare.md#cost)");
  s.path("onnx_runner", &CompareOptions::onnx_runner, recipe::PathCheck::existing_file,
         "ONNX Runtime runner script for .onnx models (default: $LLMC_ORT_RUNNER, else the one "
         "of this build, tools/ort/ort_run.cjs)");
  s.choice("quantized_engine", &CompareOptions::quantized_engine,
           {{"default", QuantizedEngine::as_loaded},
            {"onednn", QuantizedEngine::onednn},
            {"qnnpack", QuantizedEngine::qnnpack}},
           "the quantized engine every model runs with, in this process and the memory probes "
           "(int8 models from llmc quantize: the engine of their quantize.engine); default: "
           "LibTorch's")
      .value_origin(&CompareOptions::engine_origin);
  s.origin(&CompareOptions::origin);

  recipe::Section<CompareRecipe> root;
  root.inline_section(&CompareRecipe::common, recipe::common_schema());
  root.drop("model",
            "llmc compare reads its models from compare.models (and the reference from "
            "compare.reference)");
  root.section("compare", &CompareRecipe::compare, s, "compare options");
  recipe::hint_other_sections(root, "compare");
  return root;
}

CompareRecipe parse_compare_document(const std::string& name, YAML::Node root,
                                     const std::vector<std::string>& sets) {
  CompareRecipe r = recipe::parse_recipe_document(name, std::move(root), sets, compare_schema());
  recipe::Context ctx(name);
  finish(r, fs::path(name).parent_path().string(), ctx);
  ctx.throw_if_errors();
  return r;
}

CompareRecipe parse_compare_recipe(const std::string& path, const std::vector<std::string>& sets) {
  return parse_compare_document(path, recipe::load_yaml(path), sets);
}

CompareRecipe parse_compare_files(const std::vector<std::string>& files,
                                  const std::vector<std::string>& sets) {
  YAML::Node root(YAML::NodeType::Map);
  root["recipe_version"] = 1;
  root["output"] = "compare-out";
  YAML::Node models(YAML::NodeType::Sequence);
  for (const auto& f : files) {
    YAML::Node m(YAML::NodeType::Map);
    m["path"] = f;
    models.push_back(m);
  }
  root["compare"]["models"] = models;
  return parse_compare_document("command line", root, sets);
}

}  // namespace llmc::compare
