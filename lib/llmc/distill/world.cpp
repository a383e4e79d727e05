#include "llmc/distill/world.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "llmc/util/error.h"

namespace llmc::distill {

namespace {

// The value of `name` as an integer in [lo, hi]; `fallback` when unset.
int int_var(const std::function<std::optional<std::string>(const std::string&)>& get,
            const std::string& name, int lo, int hi, std::optional<int> fallback) {
  const auto text = get(name);
  if (!text || text->empty()) {
    if (fallback) return *fallback;
    throw UsageError(fmt::format("{} is not set; a data-parallel run (WORLD_SIZE > 1) needs RANK, "
                                 "WORLD_SIZE, MASTER_ADDR and MASTER_PORT, as torchrun sets them "
                                 "(or use llmc distill --nproc N on one machine)",
                                 name));
  }
  char* end = nullptr;
  const long v = std::strtol(text->c_str(), &end, 10);
  if (end == text->c_str() || *end != '\0' || v < lo || v > hi) {
    throw UsageError(fmt::format("{}={}: expected an integer from {} to {}", name, *text, lo, hi));
  }
  return static_cast<int>(v);
}

}  // namespace

std::string World::name() const { return fmt::format("worker {} of {}", rank, size); }

World world_from(const std::function<std::optional<std::string>(const std::string&)>& get) {
  World w;
  w.size = int_var(get, "WORLD_SIZE", 1, 65536, 1);
  if (w.size == 1) return w;
  w.rank = int_var(get, "RANK", 0, w.size - 1, std::nullopt);
  w.local_rank = int_var(get, "LOCAL_RANK", 0, w.size - 1, w.rank);
  // torchrun sets LOCAL_WORLD_SIZE; without it every worker is taken to be on this machine.
  w.local_size = int_var(get, "LOCAL_WORLD_SIZE", 1, w.size, w.size);
  if (w.local_rank >= w.local_size) {
    throw UsageError(fmt::format("LOCAL_RANK={} must be below LOCAL_WORLD_SIZE={}", w.local_rank,
                                 w.local_size));
  }
  const auto addr = get("MASTER_ADDR");
  if (!addr || addr->empty()) {
    int_var(get, "MASTER_ADDR", 0, 0, std::nullopt);  // throws the message naming the variables
  }
  w.master_addr = *addr;
  w.master_port = int_var(get, "MASTER_PORT", 1, 65535, std::nullopt);
  return w;
}

World world_from_environment() {
  return world_from([](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
}

RowRange worker_rows(int64_t rows, int64_t per_worker, int rank) {
  RowRange r;
  r.begin = std::min(rows, per_worker * rank);
  r.end = std::min(rows, per_worker * (rank + 1));
  return r;
}

std::vector<int64_t> worker_eval_batches(int64_t batches, int rank, int size) {
  std::vector<int64_t> out;
  for (int64_t i = rank; i < batches; i += size) out.push_back(i);
  return out;
}

std::vector<std::vector<size_t>> plan_buckets(const std::vector<int64_t>& bytes, int64_t cap_bytes) {
  std::vector<std::vector<size_t>> buckets;
  int64_t filled = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (buckets.empty() || filled + bytes[i] > cap_bytes) {
      if (buckets.empty() || !buckets.back().empty()) buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(i);
    filled += bytes[i];
  }
  return buckets;
}

uint64_t worker_seed(uint64_t seed, int64_t epoch, int rank) {
  // SplitMix64's finalizer over the three numbers: nearby inputs give unrelated seeds.
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) * 0xBF58476D1CE4E5B9ULL +
               static_cast<uint64_t>(rank) * 0x94D049BB133111EBULL + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int worker_threads(int requested, int cores, int local_size) {
  const int share = std::max(1, cores / std::max(1, local_size));
  return std::max(1, std::min(requested, share));
}

}  // namespace llmc::distill
