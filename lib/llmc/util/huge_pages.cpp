#include "llmc/util/huge_pages.h"

#include <gnu/libc-version.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <unordered_map>

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

namespace llmc::util {

namespace {

constexpr size_t kSmallAlignment = 64;  // what c10's own allocator uses (AVX-512 loads)
// Freed large blocks kept for reuse, at most this many bytes in all.
constexpr size_t kCacheLimitBytes = size_t{1} << 30;

std::string g_status = "not installed";

void* aligned_or_throw(size_t alignment, size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, alignment, n) != 0 || p == nullptr) {
    TORCH_CHECK(false, "DefaultCPUAllocator: can't allocate memory: you tried to allocate ", n,
                " bytes");
  }
  return p;
}

// Large blocks, sizes rounded up to whole huge pages. A model repeats its allocation sizes
// every forward pass and training step (or nearly: batches padded to different lengths), so a
// freed block is found again by best fit, at most a quarter larger than asked; reusing it
// avoids faulting (and zeroing) fresh pages each time.
class LargeBlocks {
 public:
  void* take(size_t size) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size + size / 4) {
        void* p = it->second;
        cached_bytes_ -= it->first;
        live_[p] = it->first;
        free_.erase(it);
        return p;
      }
    }
    void* p = aligned_or_throw(kHugePageBytes, size);
    // Advisory: where huge pages are not available the kernel uses small pages.
    madvise(p, size, MADV_HUGEPAGE);
    std::lock_guard<std::mutex> lock(mutex_);
    live_[p] = size;
    return p;
  }

  // False when `p` is not a large block of this cache.
  bool give_back(void* p) {
    size_t size = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const auto it = live_.find(p);
      if (it == live_.end()) return false;
      size = it->second;
      live_.erase(it);
      if (cached_bytes_ + size <= kCacheLimitBytes) {
        free_.emplace(size, p);
        cached_bytes_ += size;
        return true;
      }
    }
    std::free(p);
    return true;
  }

  size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_bytes_;
  }

  // Frees every cached block; returns their bytes.
  size_t release() {
    std::multimap<size_t, void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      blocks.swap(free_);
      cached_bytes_ = 0;
    }
    size_t bytes = 0;
    for (const auto& [size, p] : blocks) {
      bytes += size;
      std::free(p);
    }
    return bytes;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<void*, size_t> live_;
  std::multimap<size_t, void*> free_;
  size_t cached_bytes_ = 0;
};

// Never destroyed: tensors may be freed during static destruction at exit.
LargeBlocks& large_blocks() {
  static auto* blocks = new LargeBlocks();
  return *blocks;
}

void free_small(void* p) { std::free(p); }
void free_large(void* p) { large_blocks().give_back(p); }
void free_any(void* p) {
  if (!large_blocks().give_back(p)) std::free(p);
}

struct HugePageAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t n) const override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (n == 0) return {nullptr, nullptr, &free_small, cpu};
    if (n < kHugePageBytes) {
      void* p = aligned_or_throw(kSmallAlignment, n);
      return {p, p, &free_small, cpu};
    }
    const size_t size = (n + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    void* p = large_blocks().take(size);
    return {p, p, &free_large, cpu};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &free_any; }
};

HugePageAllocator g_allocator;

// The bracketed word of /sys/kernel/mm/transparent_hugepage/enabled ("always [madvise] never").
std::string kernel_thp_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(in, line)) return "";
  const auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  return line.substr(open + 1, close - open - 1);
}

constexpr const char* kHeapTunable = "glibc.malloc.hugetlb=1";

// GLIBC_TUNABLES names glibc.malloc.hugetlb (any value: the user's choice stands).
bool heap_tunable_set() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.hugetlb") != nullptr;
}

// ... with a value that puts the heap on huge pages (1: madvise, 2: hugetlbfs pages).
bool heap_on_huge_pages() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const char* at = tunables ? std::strstr(tunables, "glibc.malloc.hugetlb=") : nullptr;
  if (at == nullptr) return false;
  const char value = at[std::strlen("glibc.malloc.hugetlb=")];
  return value == '1' || value == '2';
}

// glibc >= 2.35 knows glibc.malloc.hugetlb.
bool glibc_has_hugetlb_tunable() {
  int major = 0, minor = 0;
  return std::sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) == 2 &&
         (major > 2 || (major == 2 && minor >= 35));
}

}  // namespace

void reexec_with_huge_page_heap(char** argv) {
  const char* env = std::getenv("LLMC_HUGE_PAGES");
  if (env != nullptr && std::string(env) == "0") return;
  if (std::getenv("LLMC_HEAP_REEXEC") != nullptr || heap_tunable_set()) return;
  if (kernel_thp_mode() != "madvise" || !glibc_has_hugetlb_tunable()) return;
  const char* old = std::getenv("GLIBC_TUNABLES");
  const std::string tunables =
      old != nullptr && *old != '\0' ? std::string(old) + ":" + kHeapTunable : std::string(kHeapTunable);
  setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
  setenv("LLMC_HEAP_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);
  // Not replaced (no /proc, say): go on as we are, without the tunable.
  if (old != nullptr) {
    setenv("GLIBC_TUNABLES", old, 1);
  } else {
    unsetenv("GLIBC_TUNABLES");
  }
}

std::string install_huge_page_allocator() {
  if (g_status != "not installed") return g_status;
  const char* env = std::getenv("LLMC_HUGE_PAGES");
  if (env != nullptr && std::string(env) == "0") return g_status = "off (LLMC_HUGE_PAGES=0)";
  const std::string mode = kernel_thp_mode();
  if (mode.empty()) return g_status = "off (the kernel has no transparent huge pages)";
  if (mode == "never") return g_status = "off (kernel transparent huge pages: never)";
  // Priority above c10's default registration (0), so this allocator wins.
  c10::SetCPUAllocator(&g_allocator, /*priority=*/1);
  // Smaller tensors stay with malloc. Its defaults hand blocks above an adaptive threshold out as
  // fresh mmaps and trim the heap's freed top back to the system, so a forward pass faulted in
  // about 5 000 new 4 KiB pages for its sub-2 MiB activations (the int8 benchmark encoder): below
  // 2 MiB the heap serves everything, and up to 512 MiB of freed heap stays for reuse.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kHugePageBytes));
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  return g_status = "madvise for tensors >= 2 MiB, freed blocks reused (kernel: " + mode +
                    "); smaller ones from malloc's heap, kept for reuse" +
                    (heap_on_huge_pages() ? std::string(", the heap on huge pages too (GLIBC_TUNABLES=") +
                                              std::getenv("GLIBC_TUNABLES") + ")"
                                        : std::string());
}

std::string huge_pages_status() { return g_status; }

size_t cached_memory_bytes() { return large_blocks().cached_bytes(); }

size_t release_cached_memory() {
  const size_t bytes = large_blocks().release();
  malloc_trim(0);
  return bytes;
}

}  // namespace llmc::util
