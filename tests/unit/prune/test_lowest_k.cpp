// The k lowest importance scores without sorting: the radix select over one or several tensors
// and the per-row selection agree with a sort, ties included (dropped in position order).
#include "llmc/prune/lowest_k.h"

#include "torch_doctest.h"

#include <algorithm>
#include <numeric>

using namespace llmc::prune;

namespace {

// The positions a stable sort of `v` puts first: the k lowest, ties by position.
std::vector<bool> by_sort(const std::vector<float>& v, int64_t k) {
  std::vector<int64_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return v[a] < v[b]; });
  std::vector<bool> out(v.size(), false);
  for (int64_t i = 0; i < k; ++i) out[order[i]] = true;
  return out;
}

std::vector<float> values(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::vector<bool> flags(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::vector<bool>(c.data_ptr<bool>(), c.data_ptr<bool>() + c.numel());
}

}  // namespace

TEST_CASE("lowest_k over several tensors drops exactly the k lowest, ties in tensor order") {
  at::manual_seed(3);
  // Rounded to a few values: many ties, some at every threshold; zeros and tiny values too.
  std::vector<at::Tensor> scores = {
      at::round(at::rand({37, 11}) * 20) / 4, at::zeros({5}), at::round(at::rand({64}) * 20) / 4,
      at::rand({300}) * 1e-30f};
  std::vector<float> all;
  for (const auto& s : scores) {
    const auto v = values(s);
    all.insert(all.end(), v.begin(), v.end());
  }
  for (int64_t k : {int64_t{1}, int64_t{5}, int64_t{17}, int64_t{300}, int64_t{400},
                    static_cast<int64_t>(all.size())}) {
    CAPTURE(k);
    LowestK t = lowest_k(static_cast<int64_t>(scores.size()),
                         [&](int64_t i) { return scores[i]; }, k);
    std::vector<bool> got;
    for (const auto& s : scores) {
      at::Tensor drop = at::zeros(s.sizes(), at::kBool);
      mark_lowest(s, t, drop);
      const auto f = flags(drop);
      got.insert(got.end(), f.begin(), f.end());
    }
    CHECK(t.ties == 0);
    CHECK(got == by_sort(all, k));
  }
}

TEST_CASE("lowest_k finds a threshold between floats that share their high 16 bits") {
  // 1.0f and its next float differ only in the low mantissa bits.
  const float a = 1.0f, b = std::nextafter(1.0f, 2.0f), c = std::nextafter(b, 2.0f);
  const at::Tensor s = at::tensor({c, a, b, c, a});
  LowestK t = lowest_k(1, [&](int64_t) { return s; }, 3);
  CHECK(t.threshold == b);
  CHECK(t.ties == 1);
  at::Tensor drop = at::zeros({5}, at::kBool);
  mark_lowest(s, t, drop);
  CHECK(flags(drop) == std::vector<bool>{false, true, true, false, true});
}

TEST_CASE("mark_lowest_per_row drops the k lowest of every row, ties by column") {
  at::manual_seed(5);
  const at::Tensor s = at::round(at::rand({50, 16}) * 6);  // integers 0..6: ties in every row
  for (int64_t k : {0, 1, 4, 8, 16}) {
    CAPTURE(k);
    at::Tensor drop = at::zeros(s.sizes(), at::kBool);
    mark_lowest_per_row(s, k, drop);
    for (int64_t r = 0; r < s.size(0); ++r) {
      CHECK(flags(drop[r]) == by_sort(values(s[r]), k));
    }
  }
  // 2:4 groups, as N:M pruning views a weight.
  const at::Tensor w = at::rand({8, 12});
  at::Tensor drop = at::zeros(w.sizes(), at::kBool);
  at::Tensor groups = drop.view({-1, 4});
  mark_lowest_per_row(w.reshape({-1, 4}), 2, groups);
  CHECK(drop.view({-1, 4}).sum(1).eq(2).all().item<bool>());
}
