#include "llmc/report/pass_details.h"

#include <string>

namespace llmc::report {

void add_details(const passes::InferenceCleanup& cleanup, util::Json& details) {
  if (cleanup.attention) {
    util::Json folded = util::Json::array();
    for (const auto& f : cleanup.attention->scale_folded) {
      folded.push_back(util::Json::object(
          {{"module", f.module.empty() ? std::string("(root)") : f.module},
           {"linear", f.linear},
           {"divisor", f.divisor},
           {"exact", f.exact}}));
    }
    util::Json j = util::Json::object();
    j["scale_folded"] = folded;
    j["contiguous_transposed_operands"] = cleanup.attention->contiguous_transposed_operands;
    details["attention_rewrites"] = j;
  }
  if (cleanup.fused_gelu) details["fused_gelu"] = cleanup.fused_gelu->changed;
}

}  // namespace llmc::report
