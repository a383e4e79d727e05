// Storage records checked against the tensors that use them, before torch::jit::load trusts an
// archive. LibTorch 1.13 makes each storage `numel x element size` bytes long whatever its
// record (`<archive>/data/<key>`, `<archive>/constants/<key>`) holds, and each tensor a view
// (offset, sizes, strides) over its storage, checking neither: a record shorter than its tensors
// (cut before zipping, or crafted; its CRC-32 is valid) loads, and its tensors read heap memory
// beyond it. data.pkl and constants.pkl are walked here, not unpickled: nothing is allocated for
// or read from the storage records, so a 500 MB model costs the few kilobytes of its pickles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llmc::model {

// What one pickle needs of one storage record: the most any use of it reaches.
struct StorageNeed {
  std::string key;     // the record's name in the pickle's directory: "5" for data/5
  uint64_t bytes = 0;  // storage numel x element size, and every tensor's extent within it
  std::string what;    // what needs that much: "1000 Float elements", "a Float tensor of ..."
};

// The storage needs of a TorchScript pickle, one per key (the largest), in key order. Throws
// InputError (`path`: `label` ...) when `pickle` is malformed, or a tensor reaches past the end
// of the storage it views.
std::vector<StorageNeed> storage_needs(const std::string& pickle, const std::string& path,
                                       const std::string& label);

// Checks every storage record data.pkl and constants.pkl of the archive `path` reference:
// present, and at least as long as its storage and tensors need. Throws InputError naming the
// file and the record.
void check_storage_records(const std::string& path);

}  // namespace llmc::model
