// The order of training samples in each epoch: a seeded shuffle, cut into batches; with
// group_by_length, samples of similar length share a batch (less padding, as Hugging Face's
// LengthGroupedSampler): the shuffled order is split into groups of 50 batches, each group
// sorted by length, cut into batches, and the batches shuffled again. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

namespace llmc::distill {

// Every sample exactly once; reproducible from (seed, epoch).
std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& lengths,
                                                int64_t batch_size, uint64_t seed, int64_t epoch,
                                                bool group_by_length);

}  // namespace llmc::distill
