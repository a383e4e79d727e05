// A tiny C interface over libsentencepiece, built as its own shared module (libllmc_spm.so)
// and loaded by data/tokenizer.cpp with dlopen(RTLD_DEEPBIND).
//
// Why: Debian's libsentencepiece bundles and exports its own copy of protobuf-lite, while
// LibTorch's process already has the full libprotobuf loaded. Linked into one executable,
// sentencepiece's generated code binds to the other protobuf and crashes at start-up. Loaded
// with RTLD_DEEPBIND, sentencepiece resolves protobuf to its own copy.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>

namespace {

void set_error(const std::string& message, char* err, size_t err_len) {
  if (err == nullptr || err_len == 0) return;
  std::strncpy(err, message.c_str(), err_len - 1);
  err[err_len - 1] = '\0';
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* llmc_spm_load(const char* path, char* err,
                                                           size_t err_len) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  const auto status = sp->Load(path);
  if (!status.ok()) {
    set_error(status.ToString(), err, err_len);
    delete sp;
    return nullptr;
  }
  return sp;
}

__attribute__((visibility("default"))) void llmc_spm_unload(void* handle) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(handle);
}

// Encodes `text`; *ids is malloc'ed (free with llmc_spm_free). Returns 0 on success.
__attribute__((visibility("default"))) int llmc_spm_encode(void* handle, const char* text,
                                                           size_t text_len, int** ids,
                                                           size_t* count, char* err,
                                                           size_t err_len) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  std::vector<int> out;
  const auto status = sp->Encode(std::string(text, text_len), &out);
  if (!status.ok()) {
    set_error(status.ToString(), err, err_len);
    return 1;
  }
  *count = out.size();
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (out.empty() ? 1 : out.size())));
  if (*ids == nullptr) return 2;
  // memcpy from an empty vector's data() (null) is undefined even for 0 bytes (UBSan, found by
  // fuzz_tokenizer on an empty text).
  if (!out.empty()) std::memcpy(*ids, out.data(), sizeof(int) * out.size());
  return 0;
}

__attribute__((visibility("default"))) void llmc_spm_free(int* ids) { std::free(ids); }

__attribute__((visibility("default"))) int llmc_spm_vocab_size(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize();
}

__attribute__((visibility("default"))) int llmc_spm_bos_id(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->bos_id();
}

__attribute__((visibility("default"))) int llmc_spm_pad_id(void* handle) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->pad_id();
}

}  // extern "C"
