#include "llmc/model/load.h"
#include "llmc/bench/memory_probe.h"

#include "llmc/bench/measure.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/script.h>

#include "llmc/util/json.h"
#include "llmc/util/process.h"
#include "llmc/util/temp_file.h"
#include "llmc/model/compute_profile.h"
#include "llmc/util/threads.h"

extern char** environ;

namespace llmc::bench {

namespace fs = std::filesystem;

namespace {

// Runs argv, returns its stdout, or throws std::runtime_error.
std::string run_capture(const std::vector<std::string>& args) {
  const auto r = util::run_process(args);
  if (!r.ok()) throw std::runtime_error("the memory probe process failed: " + r.err);
  return r.out;
}

}  // namespace

MemoryStats measure_model_memory(const std::string& model_path, const data::Batch& batch,
                                 int threads, std::optional<util::ThreadPool> pool,
                                 const std::string& quantized_engine, std::string& note) {
  try {
    // mkstemps, not a guessable name: a symlink planted in $TMPDIR is never followed, and the
    // file goes away on every exit path.
    util::TempFile inputs("llmc-probe-", ".pkl");
    const std::vector<char> bytes =
        torch::jit::pickle_save(c10::ivalue::Tuple::create(batch.args));
    inputs.write_and_close(bytes.data(), bytes.size());
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    const std::string out =
        run_capture({self, "__memory-probe", model_path, inputs.path(), std::to_string(threads),
                     pool ? util::pool_name(*pool) : "auto",
                     quantized_engine.empty() ? "default" : quantized_engine});
    const auto j = util::parse_json(out);
    MemoryStats m;
    m.peak_rss_bytes = j.at("peak_rss_bytes").as_int();
    m.delta_rss_bytes = m.peak_rss_bytes - j.at("baseline_rss_bytes").as_int();
    m.isolated = true;
    return m;
  } catch (const std::exception& e) {
    note = std::string("memory measured in-process (not isolated per model): ") + e.what();
    return {};
  }
}

int memory_probe_main(const std::string& model_path, const std::string& inputs_path,
                      int threads, std::optional<util::ThreadPool> pool,
                      const std::string& quantized_engine) {
  util::configure_threads(threads, pool);
  if (quantized_engine == "onednn") at::globalContext().setQEngine(at::QEngine::ONEDNN);
  if (quantized_engine == "qnnpack") at::globalContext().setQEngine(at::QEngine::QNNPACK);
  if (quantized_engine == "fbgemm") at::globalContext().setQEngine(at::QEngine::FBGEMM);
  if (quantized_engine == "x86") at::globalContext().setQEngine(at::QEngine::X86);
  const int64_t baseline = current_rss_bytes();
  std::ifstream in(inputs_path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const c10::IValue args = torch::jit::pickle_load(bytes);
  std::vector<c10::IValue> stack(args.toTupleRef().elements().begin(),
                                 args.toTupleRef().elements().end());
  torch::jit::Module m = model::load(model_path);
  model::use_pool_for(m);
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 2; ++i) m.forward(stack);
  util::Json j = util::Json::object();
  j["baseline_rss_bytes"] = baseline;
  j["peak_rss_bytes"] = peak_rss_bytes();
  std::fputs((j.dump() + "\n").c_str(), stdout);
  return 0;
}

}  // namespace llmc::bench
