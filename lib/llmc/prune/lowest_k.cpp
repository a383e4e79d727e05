#include "llmc/prune/lowest_k.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <ATen/Parallel.h>

#include "llmc/util/error.h"

namespace llmc::prune {

namespace {

constexpr int kBuckets = 1 << 16;

uint32_t bits_of(float v) {
  uint32_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

float float_of(uint32_t b) {
  float v = 0;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

at::Tensor flat_scores(const at::Tensor& t) {
  if (t.scalar_type() != at::kFloat) {
    throw InternalError("prune: importance scores must be float32");
  }
  return t.contiguous().view({-1});
}

// Adds to `counts` the scores of `flat` by bucket: their high 16 bits, or (match_high) the low
// 16 bits of those whose high 16 bits are `high`.
void count(const at::Tensor& flat, bool match_high, uint32_t high,
           std::array<int64_t, kBuckets>& counts) {
  const float* p = flat.data_ptr<float>();
  const int64_t n = flat.numel();
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t b = bits_of(p[i]) & 0x7fffffffu;  // -0.0 counts as 0
    if (match_high) {
      if ((b >> 16) != high) continue;
      ++counts[b & 0xffffu];
    } else {
      ++counts[b >> 16];
    }
  }
}

// The bucket holding the k-th (1-based) count and how many lie in the buckets before it.
std::pair<uint32_t, int64_t> bucket_of(const std::array<int64_t, kBuckets>& counts, int64_t k) {
  int64_t below = 0;
  for (uint32_t b = 0; b < kBuckets; ++b) {
    if (below + counts[b] >= k) return {b, below};
    below += counts[b];
  }
  throw InternalError("prune: fewer scores than the number to drop");
}

}  // namespace

LowestK lowest_k(int64_t count_tensors, const std::function<at::Tensor(int64_t)>& score,
                 int64_t k) {
  if (k <= 0) throw InternalError("prune: lowest_k needs k >= 1");
  // Pass 1: the high 16 bits (sign, exponent and 7 bits of mantissa).
  std::array<int64_t, kBuckets> counts{};
  for (int64_t i = 0; i < count_tensors; ++i) count(flat_scores(score(i)), false, 0, counts);
  const auto [high, below_high] = bucket_of(counts, k);
  // Pass 2: the low 16 bits of the scores in that bucket.
  counts.fill(0);
  for (int64_t i = 0; i < count_tensors; ++i) count(flat_scores(score(i)), true, high, counts);
  const auto [low, below_low] = bucket_of(counts, k - below_high);
  LowestK t;
  t.threshold = float_of((high << 16) | low);
  t.ties = k - below_high - below_low;  // at least 1: the k-th score itself
  return t;
}

void mark_lowest(const at::Tensor& scores, LowestK& t, at::Tensor& drop) {
  const at::Tensor flat = flat_scores(scores);
  const at::Tensor d = drop.view({-1});
  const float* p = flat.data_ptr<float>();
  bool* out = d.data_ptr<bool>();
  const int64_t n = flat.numel();
  const uint32_t thr = bits_of(t.threshold);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t b = bits_of(p[i]) & 0x7fffffffu;
    if (b < thr) {
      out[i] = true;
    } else if (b == thr && t.ties > 0) {
      out[i] = true;
      --t.ties;
    }
  }
}

void mark_lowest_per_row(const at::Tensor& scores, int64_t k, at::Tensor& drop) {
  if (k <= 0) return;
  if (scores.dim() != 2 || scores.scalar_type() != at::kFloat || !drop.is_contiguous() ||
      drop.scalar_type() != at::kBool || drop.sizes() != scores.sizes()) {
    throw InternalError("prune: mark_lowest_per_row needs [rows, cols] float scores and a bool "
                        "mask of their shape");
  }
  const at::Tensor s = scores.contiguous();
  const int64_t rows = s.size(0), cols = s.size(1);
  if (k > cols) throw InternalError("prune: more weights to drop than a row has");
  const float* p = s.data_ptr<float>();
  bool* out = drop.data_ptr<bool>();
  at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> row(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      const float* v = p + r * cols;
      for (int64_t j = 0; j < cols; ++j) row[j] = bits_of(v[j]) & 0x7fffffffu;
      std::nth_element(row.begin(), row.begin() + (k - 1), row.end());
      const uint32_t thr = row[k - 1];
      int64_t ties = k;
      for (int64_t j = 0; j < cols; ++j) ties -= (bits_of(v[j]) & 0x7fffffffu) < thr;
      bool* o = out + r * cols;
      for (int64_t j = 0; j < cols; ++j) {
        const uint32_t b = bits_of(v[j]) & 0x7fffffffu;
        if (b < thr) {
          o[j] = true;
        } else if (b == thr && ties > 0) {
          o[j] = true;
          --ties;
        }
      }
    }
  });
}

}  // namespace llmc::prune
