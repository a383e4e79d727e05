#include "llmc/onnx/ort.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "llmc/util/error.h"
#include "llmc/util/json.h"
#include "llmc/util/process.h"
#include "llmc_config.h"

namespace llmc::onnx {

namespace fs = std::filesystem;

namespace {

std::string ort_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    case at::kShort: return "int16";
    default: throw InputError("", fmt::format("inputs of dtype {} cannot be passed to ONNX Runtime",
                                              c10::toString(t)));
  }
}

at::ScalarType torch_dtype(const std::string& t) {
  if (t == "float32") return at::kFloat;
  if (t == "float64") return at::kDouble;
  if (t == "int64") return at::kLong;
  if (t == "int32") return at::kInt;
  if (t == "int8") return at::kChar;
  if (t == "uint8") return at::kByte;
  if (t == "bool") return at::kBool;
  if (t == "int16") return at::kShort;
  throw InternalError("ONNX Runtime returned an output of dtype " + t);
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const fs::path& p, const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  std::ofstream out(p, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()),
            static_cast<std::streamsize>(c.numel() * c.element_size()));
  if (!out) throw InternalError("cannot write " + p.string());
}

// A temporary directory removed on scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "llmc-ort-XXXXXX").string();
    if (!mkdtemp(templ.data())) throw InternalError("cannot create a temporary directory");
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

std::string find_ort_runner(const std::string& configured) {
  std::vector<std::string> tried;
  auto ok = [&](const std::string& p) {
    tried.push_back(p);
    return fs::is_regular_file(p);
  };
  if (!configured.empty()) {
    if (ok(configured)) return configured;
  } else {
    if (const char* env = std::getenv("LLMC_ORT_RUNNER"); env && *env && ok(env)) return env;
    if (ok(LLMC_ORT_RUNNER)) return LLMC_ORT_RUNNER;
  }
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
  throw InternalError(fmt::format(
      "ONNX Runtime runner not found (looked for {}); install it with `npm ci --ignore-scripts "
      "--prefix tools/ort` in the llmc source tree and point $LLMC_ORT_RUNNER at "
      "tools/ort/ort_run.cjs, or set export_onnx.verify.runtime: none",
      list.empty() ? "nothing" : list));
}

OrtResponse run_onnxruntime(const OrtRequest& request, const std::string& runner) {
  TempDir dir;
  util::Json runs = util::Json::array();
  int file_no = 0;
  for (const auto& run : request.runs) {
    util::Json inputs = util::Json::array();
    for (const auto& in : run) {
      const std::string file = fmt::format("in_{}.bin", file_no++);
      write_bytes(dir.path / file, in.tensor);
      util::Json shape = util::Json::array();
      for (auto d : in.tensor.sizes()) shape.push_back(d);
      inputs.push_back(util::Json::object({{"name", in.name},
                                           {"dtype", ort_dtype(in.tensor.scalar_type())},
                                           {"shape", shape},
                                           {"file", file}}));
    }
    runs.push_back(util::Json::object({{"inputs", inputs}}));
  }
  util::Json req = util::Json::object(
      {{"model", fs::absolute(request.model).string()}, {"threads", request.threads}, {"runs", runs}});
  if (request.timing_run >= 0) {
    req["timing"] = util::Json::object({{"run", request.timing_run},
                                        {"warmup", request.warmup},
                                        {"repeats", request.repeats}});
  } else {
    req["timing"] = nullptr;
  }
  {
    std::ofstream out(dir.path / "request.json");
    out << req.dump();
  }
  util::ProcessResult pr;
  try {
    pr = util::run_process({"node", runner, dir.path.string()});
  } catch (const std::exception& e) {
    throw InternalError(std::string("cannot run Node.js for ONNX Runtime: ") + e.what() +
                        " (install nodejs, or set export_onnx.verify.runtime: none)");
  }
  if (!pr.ok()) {
    std::string msg = pr.err;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (pr.exit_code == 3 || pr.exit_code == 2) throw InternalError(msg);
    throw InputError(request.model, "ONNX Runtime failed: " + msg);
  }
  const util::Json resp = util::parse_json(read_all(dir.path / "response.json"));
  OrtResponse r;
  r.version = resp.at("ort_version").is_string() ? resp.at("ort_version").as_string() : "";
  for (const auto& n : resp.at("output_names").as_array()) r.output_names.push_back(n.as_string());
  for (const auto& run : resp.at("outputs").as_array()) {
    std::vector<at::Tensor> outs;
    for (const auto& o : run.as_array()) {
      std::vector<int64_t> shape;
      for (const auto& d : o.at("shape").as_array()) shape.push_back(d.as_int());
      const auto dtype = torch_dtype(o.at("dtype").as_string());
      const std::string bytes = read_all(dir.path / o.at("file").as_string());
      at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
      if (static_cast<size_t>(t.numel() * t.element_size()) != bytes.size()) {
        throw InternalError("ONNX Runtime output " + o.at("name").as_string() +
                            " has the wrong byte count");
      }
      std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
      outs.push_back(t);
    }
    r.outputs.push_back(std::move(outs));
  }
  for (const auto& l : resp.at("latency_ms").as_array()) r.latency_ms.push_back(l.as_double());
  r.rss_before_bytes = resp.at("rss_before_bytes").as_int();
  r.rss_session_bytes = resp.at("rss_session_bytes").as_int();
  r.peak_rss_bytes = resp.at("peak_rss_bytes").as_int();
  return r;
}

}  // namespace llmc::onnx
