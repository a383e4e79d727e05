// `llmc prune`: structured removal of feed-forward neurons and attention heads (tensors really
// shrink), then unstructured or N:M zeroing of Linear weights by magnitude or Wanda importance,
// optionally in gradual steps. The artifact is a plain TorchScript module with no masks.
#pragma once

#include "llmc/job/job.h"
#include "llmc/prune/recipe.h"

namespace llmc::prune {

job::Job prune_job(const PruneOptions& options);

// Bytes of `data` after zlib deflate (level 6): what unstructured zeros save in a compressed
// download, since dense storage does not shrink.
int64_t deflated_bytes(const std::string& data);

}  // namespace llmc::prune
