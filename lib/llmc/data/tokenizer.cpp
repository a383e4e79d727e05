#include "llmc/data/tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "llmc/util/error.h"
#include "llmc/util/file_check.h"
#include "llmc_config.h"

namespace llmc::data {

namespace {

namespace fs = std::filesystem;

// The functions of libllmc_spm.so (lib/llmc/data/spm_plugin.cpp).
struct SpmApi {
  void* (*load)(const char*, char*, size_t) = nullptr;
  void (*unload)(void*) = nullptr;
  int (*encode)(void*, const char*, size_t, int**, size_t*, char*, size_t) = nullptr;
  void (*free_ids)(int*) = nullptr;
  int (*vocab_size)(void*) = nullptr;
  int (*bos_id)(void*) = nullptr;
  int (*pad_id)(void*) = nullptr;
};

std::vector<fs::path> plugin_candidates() {
  std::vector<fs::path> out;
  if (const char* env = std::getenv("LLMC_SPM_PLUGIN")) out.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path() / "libllmc_spm.so");
    out.push_back(exe.parent_path().parent_path() / "tools" / "libllmc_spm.so");
  }
  out.push_back(fs::path(LLMC_PLUGIN_DIR) / "libllmc_spm.so");
  return out;
}

// AddressSanitizer refuses dlopen(RTLD_DEEPBIND). Its builds are the fuzz targets
// (docs/development.md), which have no LibTorch, hence no second protobuf to keep apart.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kDeepBind = 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int kDeepBind = 0;
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif
#else
constexpr int kDeepBind = RTLD_DEEPBIND;
#endif

// Loaded once per process; RTLD_DEEPBIND keeps sentencepiece's bundled protobuf apart from
// LibTorch's (see spm_plugin.cpp).
const SpmApi& api() {
  static const SpmApi loaded = [] {
    std::string tried;
    for (const auto& path : plugin_candidates()) {
      if (!fs::exists(path)) {
        tried += "\n  " + path.string() + " (missing)";
        continue;
      }
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | kDeepBind);
      if (h == nullptr) {
        tried += "\n  " + path.string() + ": " + dlerror();
        continue;
      }
      SpmApi a;
      a.load = reinterpret_cast<decltype(a.load)>(dlsym(h, "llmc_spm_load"));
      a.unload = reinterpret_cast<decltype(a.unload)>(dlsym(h, "llmc_spm_unload"));
      a.encode = reinterpret_cast<decltype(a.encode)>(dlsym(h, "llmc_spm_encode"));
      a.free_ids = reinterpret_cast<decltype(a.free_ids)>(dlsym(h, "llmc_spm_free"));
      a.vocab_size = reinterpret_cast<decltype(a.vocab_size)>(dlsym(h, "llmc_spm_vocab_size"));
      a.bos_id = reinterpret_cast<decltype(a.bos_id)>(dlsym(h, "llmc_spm_bos_id"));
      a.pad_id = reinterpret_cast<decltype(a.pad_id)>(dlsym(h, "llmc_spm_pad_id"));
      if (a.load && a.unload && a.encode && a.free_ids && a.vocab_size && a.bos_id && a.pad_id) {
        return a;
      }
      tried += "\n  " + path.string() + ": missing functions";
    }
    throw InternalError("cannot load llmc's SentencePiece module libllmc_spm.so; tried:" + tried +
                        "\n(set LLMC_SPM_PLUGIN to its path)");
  }();
  return loaded;
}

}  // namespace

struct Tokenizer::Impl {
  void* handle = nullptr;
};

Tokenizer::Tokenizer(const std::string& path) : impl_(std::make_unique<Impl>()), path_(path) {
  if (const auto problem = util::input_file_problem(path)) {  // a FIFO would block the read
    throw InputError(path, "cannot read the tokenizer: " + problem->message);
  }
  std::array<char, 512> err{};
  impl_->handle = api().load(path.c_str(), err.data(), err.size());
  if (impl_->handle == nullptr) {
    throw InputError(path, std::string("not a SentencePiece model: ") + err.data(),
                     "train one with spm_train (Debian package sentencepiece) and give its "
                     ".model file");
  }
}

Tokenizer::~Tokenizer() {
  if (impl_ && impl_->handle) api().unload(impl_->handle);
}

std::vector<int> Tokenizer::encode(const std::string& text, bool add_bos) const {
  std::array<char, 512> err{};
  int* ids = nullptr;
  size_t count = 0;
  if (api().encode(impl_->handle, text.data(), text.size(), &ids, &count, err.data(),
                   err.size()) != 0) {
    throw InputError(path_, std::string("tokenization failed: ") + err.data());
  }
  std::vector<int> out;
  const int bos = api().bos_id(impl_->handle);
  if (add_bos && bos >= 0) out.push_back(bos);
  out.insert(out.end(), ids, ids + count);
  api().free_ids(ids);
  return out;
}

int Tokenizer::vocab_size() const { return api().vocab_size(impl_->handle); }

int Tokenizer::pad_id() const { return api().pad_id(impl_->handle); }

}  // namespace llmc::data
