// Torch-free parts of the trainer: the learning-rate schedule, the epoch's batches, and the
// checkpoint state's JSON round trip.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "llmc/distill/batching.h"
#include "llmc/distill/schedule.h"
#include "llmc/util/json.h"

using llmc::distill::epoch_batches;
using llmc::distill::LinearSchedule;

TEST_CASE("linear warm-up then linear decay to zero") {
  const LinearSchedule s{1e-3, 10, 110};
  CHECK(s.at(0) == 0.0);
  CHECK(s.at(5) == doctest::Approx(5e-4));
  CHECK(s.at(10) == doctest::Approx(1e-3));
  CHECK(s.at(60) == doctest::Approx(5e-4));
  CHECK(s.at(110) == 0.0);
  CHECK(s.at(200) == 0.0);
  const LinearSchedule none{1e-3, 0, 4};
  CHECK(none.at(0) == doctest::Approx(1e-3));
  CHECK(none.at(2) == doctest::Approx(5e-4));
  CHECK(llmc::distill::warmup_steps(0, 0.1, 95) == 10);
  CHECK(llmc::distill::warmup_steps(7, 0.1, 95) == 7);
}

TEST_CASE("each epoch's batches cover every sample once, reproducibly") {
  std::vector<int64_t> lengths;
  for (int i = 0; i < 1000; ++i) lengths.push_back(1 + (i * 37) % 128);
  for (bool grouped : {false, true}) {
    CAPTURE(grouped);
    const auto a = epoch_batches(lengths, 32, 7, 3, grouped);
    const auto b = epoch_batches(lengths, 32, 7, 3, grouped);
    CHECK(a == b);
    CHECK(a != epoch_batches(lengths, 32, 7, 4, grouped));  // another epoch, another order
    std::multiset<int64_t> seen;
    for (const auto& batch : a) {
      CHECK(batch.size() <= 32);
      seen.insert(batch.begin(), batch.end());
    }
    CHECK(seen.size() == 1000);
    CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == 1000);
  }
  // Grouping by length cuts the padding: sum over batches of (longest x rows).
  auto padded = [&](const std::vector<std::vector<int64_t>>& batches) {
    int64_t total = 0;
    for (const auto& batch : batches) {
      int64_t longest = 0;
      for (int64_t i : batch) longest = std::max(longest, lengths[static_cast<size_t>(i)]);
      total += longest * static_cast<int64_t>(batch.size());
    }
    return total;
  };
  CHECK(padded(epoch_batches(lengths, 32, 7, 0, true)) <
        0.7 * static_cast<double>(padded(epoch_batches(lengths, 32, 7, 0, false))));
}
