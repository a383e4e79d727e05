#include "llmc/distill/batching.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace llmc::distill {

std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& lengths,
                                                int64_t batch_size, uint64_t seed, int64_t epoch,
                                                bool group_by_length) {
  const auto n = static_cast<int64_t>(lengths.size());
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  if (group_by_length) {
    const int64_t group = batch_size * 50;
    for (int64_t start = 0; start < n; start += group) {
      const auto first = order.begin() + start;
      const auto last = order.begin() + std::min(n, start + group);
      std::stable_sort(first, last, [&](int64_t a, int64_t b) {
        return lengths[static_cast<size_t>(a)] > lengths[static_cast<size_t>(b)];
      });
    }
  }
  std::vector<std::vector<int64_t>> batches;
  for (int64_t start = 0; start < n; start += batch_size) {
    batches.emplace_back(order.begin() + start, order.begin() + std::min(n, start + batch_size));
  }
  if (group_by_length) std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

}  // namespace llmc::distill
