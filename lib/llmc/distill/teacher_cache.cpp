#include "llmc/distill/teacher_cache.h"

#include <algorithm>

namespace llmc::distill {

using recipe::TaskKind;

TeacherCache::TeacherCache(int64_t samples, bool enabled)
    : rows_(static_cast<size_t>(samples)), enabled_(enabled) {}

void TeacherCache::disable() {
  enabled_ = false;
  rows_.clear();
  bytes_ = 0;
}

at::Tensor TeacherCache::lookup(const std::vector<int64_t>& rows, TaskKind task) const {
  if (!enabled_) return {};
  std::vector<at::Tensor> parts;
  for (int64_t r : rows) {
    const auto& t = rows_[static_cast<size_t>(r)];
    if (!t.defined()) return {};
    parts.push_back(t);
  }
  if (task != TaskKind::language_model) return at::stack(parts).to(at::kFloat);
  int64_t longest = 0;
  for (const auto& p : parts) longest = std::max(longest, p.size(0));
  at::Tensor out = at::zeros({static_cast<int64_t>(parts.size()), longest, parts[0].size(1)});
  for (size_t i = 0; i < parts.size(); ++i) {
    out[static_cast<int64_t>(i)].narrow(0, 0, parts[i].size(0)).copy_(parts[i]);
  }
  return out;
}

std::vector<int64_t> TeacherCache::missing(const std::vector<int64_t>& rows) const {
  if (!enabled_) return rows;
  std::vector<int64_t> out;
  for (int64_t r : rows) {
    if (!rows_[static_cast<size_t>(r)].defined()) out.push_back(r);
  }
  return out;
}

void TeacherCache::store(const std::vector<int64_t>& rows, const at::Tensor& logits,
                         const std::vector<int64_t>& lengths, TaskKind task) {
  if (!enabled_) return;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto& slot = rows_[static_cast<size_t>(rows[i])];
    if (slot.defined()) continue;
    at::Tensor row = logits[static_cast<int64_t>(i)];
    // A language model's logits are large: bfloat16, only the sample's own positions.
    slot = task == TaskKind::language_model
               ? row.narrow(0, 0, lengths[i]).to(at::kBFloat16).clone()
               : row.to(at::kFloat).clone();
    bytes_ += static_cast<int64_t>(slot.numel() * slot.element_size());
  }
}

}  // namespace llmc::distill
