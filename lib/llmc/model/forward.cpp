#include "llmc/model/forward.h"

#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::model {

std::string error_summary(const std::string& what) {
  size_t end = what.find_last_not_of(" \n");
  if (end == std::string::npos) return what;
  const size_t start = what.rfind('\n', end);
  return what.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

c10::IValue run_forward(torch::jit::Module& module, const data::Batch& batch,
                        const std::string& model_path) {
  torch::NoGradGuard no_grad;
  std::string what;
  try {
    return module.forward(batch.args);
  } catch (const c10::Error& e) {
    what = e.what_without_backtrace();
  } catch (const std::exception& e) {  // the interpreter rethrows with the model's traceback
    what = e.what();
  }
  log::debug("forward failed:\n{}", what);
  throw InputError(model_path, "forward failed on the measurement inputs: " + error_summary(what),
                   "check example_inputs (names, shapes, dtypes, ranges) or the data fields "
                   "against the model's forward (run with -v for the model's traceback)");
}

}  // namespace llmc::model
