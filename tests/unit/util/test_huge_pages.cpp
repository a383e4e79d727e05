// The huge-page tensor allocator: large buffers 2 MiB-aligned and reused, small ones as before.
#include <cstdint>

#include "torch_doctest.h"

#include "llmc/util/huge_pages.h"

using llmc::util::kHugePageBytes;

namespace {
uintptr_t address(const at::Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()); }
}  // namespace

TEST_CASE("large tensors get 2 MiB-aligned, reused blocks; results and small tensors unchanged") {
  const std::string status = llmc::util::install_huge_page_allocator();
  CHECK(status == llmc::util::huge_pages_status());
  CHECK(llmc::util::install_huge_page_allocator() == status);  // idempotent
  if (status.rfind("madvise", 0) != 0) {
    MESSAGE("allocator not installed on this machine: " << status);
    return;
  }
  constexpr int64_t n = int64_t{1} << 20;  // 4 MiB of floats
  at::Tensor a = at::arange(n, at::kFloat);
  CHECK(address(a) % kHugePageBytes == 0);
  CHECK(a.sum(at::kDouble).item<double>() == static_cast<double>(n) * (n - 1) / 2);
  const uintptr_t first = address(a);
  a.reset();
  // Slightly smaller still rounds up to the same two huge pages: the freed block comes back.
  at::Tensor b = at::empty({n - 1000}, at::kFloat);
  CHECK(address(b) == first);
  // That block is in use: the same size again is a fresh block.
  at::Tensor c = at::empty({n}, at::kFloat);
  CHECK(address(c) != first);
  CHECK(address(c) % kHugePageBytes == 0);
  b.reset();
  // A free block more than a quarter larger than asked is not handed out.
  at::Tensor d = at::zeros({n / 2}, at::kFloat);  // 2 MiB
  CHECK(address(d) != first);
  CHECK(d.abs().sum().item<float>() == 0.0f);
  // Small tensors: c10's 64-byte alignment.
  at::Tensor s = at::ones({1000}, at::kFloat);
  CHECK(address(s) % 64 == 0);
  CHECK(s.sum().item<float>() == 1000.0f);
  // Arithmetic across both kinds of block.
  at::Tensor m = at::matmul(at::ones({1024, 1024}), at::ones({1024, 8}));
  CHECK(m.min().item<float>() == 1024.0f);
}
