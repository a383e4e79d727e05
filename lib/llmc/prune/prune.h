// `llmc prune`: structured removal of feed-forward neurons and attention heads (tensors really
// shrink), then unstructured or N:M zeroing of Linear weights by magnitude or Wanda importance,
// optionally in gradual steps. The artifact is a plain TorchScript module with no masks.
#pragma once

#include <cstdint>
#include <istream>
#include <string>

#include "llmc/job/job.h"
#include "llmc/prune/recipe.h"

namespace llmc::prune {

job::Job prune_job(const PruneOptions& options);

// Bytes of a stream, a string or a file after zlib deflate (level 6), read in 1 MiB chunks: what
// unstructured zeros save in a compressed download, since dense storage does not shrink.
int64_t deflated_bytes(std::istream& in);
int64_t deflated_bytes(const std::string& data);

// A file's deflated size: exact for files up to `max_sampled` bytes, else estimated from evenly
// spaced 1 MiB chunks totalling about `max_sampled` bytes, each deflated on its own.
struct DeflatedSize {
  int64_t bytes = 0;          // deflated size (estimated when `estimated`)
  int64_t sampled_bytes = 0;  // bytes of the file that were deflated
  bool estimated = false;
};
DeflatedSize deflated_file_bytes(const std::string& path, int64_t max_sampled = int64_t{64} << 20);

}  // namespace llmc::prune
