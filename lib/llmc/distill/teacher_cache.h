// The teacher-logit cache of `llmc distill`: the teacher's logits per training sample, filled
// as the samples are first trained on and reused afterwards (the inputs are fixed and the
// teacher is deterministic in eval mode). A language model's logits are kept in bfloat16 and
// only at the sample's own positions. In a data-parallel run each worker has its own.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "llmc/recipe/common.h"

namespace llmc::distill {

class TeacherCache {
 public:
  TeacherCache(int64_t samples, bool enabled);
  bool enabled() const { return enabled_; }
  void disable();
  // The batch's teacher logits when every row is cached (padded to the longest row for a
  // language model); undefined otherwise.
  at::Tensor lookup(const std::vector<int64_t>& rows, recipe::TaskKind task) const;
  // The rows whose logits are not cached yet (all of them when the cache is off).
  std::vector<int64_t> missing(const std::vector<int64_t>& rows) const;
  // Keeps row i of `logits` for sample rows[i] (its first lengths[i] positions for a language
  // model), unless that sample is cached already.
  void store(const std::vector<int64_t>& rows, const at::Tensor& logits,
             const std::vector<int64_t>& lengths, recipe::TaskKind task);
  int64_t bytes() const { return bytes_; }

 private:
  std::vector<at::Tensor> rows_;
  bool enabled_;
  int64_t bytes_ = 0;
};

}  // namespace llmc::distill
