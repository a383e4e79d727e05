// Which weights to zero: the k lowest of non-negative importance scores (|W|, Wanda's
// |W| x ||X||), chosen without sorting or copying the scores. at::topk, which prune used before,
// holds a (value, index) pair per score on the CPU: 16 bytes per weight, 392 MiB for a 32 000 x
// 768 output layer, and 16 bytes per selected weight of the whole model for a global threshold.
// Here a whole tensor (or several: the global scope) is searched by a radix select on the
// scores' float bit patterns (non-negative floats order as their bits do): two counting passes
// over 65 536 buckets. Rows of a matrix (per-row and N:M comparison) use nth_element on one
// row's copy. Ties at the threshold are broken by position: the first ones are dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/ATen.h>

namespace llmc::prune {

// The k-th lowest score over `scores` (float tensors of non-negative values, in order) and how
// many scores equal to it are dropped with the k - ties scores below it.
struct LowestK {
  float threshold = 0;
  int64_t ties = 0;  // of the scores == threshold, the first `ties` (in tensor order) are dropped
};
// k in [1, total numel]. Reads each score twice; scores are produced by `score(i)` one tensor at
// a time so that a caller can compute them per layer instead of holding all of them.
LowestK lowest_k(int64_t count, const std::function<at::Tensor(int64_t)>& score, int64_t k);

// Marks in `drop` (kBool, the shape of `scores`) the scores of `scores` below `t.threshold` and
// the first `t.ties` equal to it, consuming t.ties.
void mark_lowest(const at::Tensor& scores, LowestK& t, at::Tensor& drop);

// Marks in `drop` (kBool, [rows, cols]) the k lowest scores of each row of `scores` ([rows,
// cols], float, non-negative); ties broken by column order. k in [0, cols].
void mark_lowest_per_row(const at::Tensor& scores, int64_t k, at::Tensor& drop);

}  // namespace llmc::prune
