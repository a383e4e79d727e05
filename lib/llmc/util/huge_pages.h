// Tensor memory on transparent huge pages. LibTorch 1.13's CPU allocator takes every buffer
// from malloc, whose large blocks are fresh mmaps of 4 KiB pages: each forward pass re-faults
// and re-walks thousands of pages per activation. Backing buffers of 2 MiB and more with huge
// pages (madvise, as PyTorch 2's THP_MEM_ALLOC_ENABLE does), and reusing freed ones, made the
// benchmark encoder 1.27x faster in fp32 and 1.51x faster in dynamic int8 on the reference
// machine (docs/benchmarks.md). llmc installs it once at start-up; LLMC_HUGE_PAGES=0 keeps
// LibTorch's own allocator.
#pragma once

#include <cstddef>
#include <string>

namespace llmc::util {

constexpr size_t kHugePageBytes = size_t{2} << 20;

// Called first thing in main: where the kernel's transparent huge pages are `madvise` and glibc
// is 2.35 or newer, re-executes the program (/proc/self/exe, same arguments) with
// GLIBC_TUNABLES=glibc.malloc.hugetlb=1 added, so that malloc's heap — every tensor under 2 MiB
// and LibTorch's own small buffers — is on huge pages too. Measured on the 2-core Intel machine
// (2026-11-30, one thread): the benchmark encoder 176 -> 146 ms in fp32, 87 -> 77 ms in dynamic
// int8, 67 -> 46 ms in bf16; the LSTM benchmark model in int8 493 -> 390 ms. Returns without
// doing anything when LLMC_HUGE_PAGES=0, when GLIBC_TUNABLES already names the tunable (the
// re-executed process, or the user's choice), or when exec fails.
void reexec_with_huge_page_heap(char** argv);

// Installs the allocator unless LLMC_HUGE_PAGES=0 or the kernel has transparent huge pages
// off ("never"). Idempotent. Returns what was decided, for reports: see huge_pages_status().
std::string install_huge_page_allocator();

// "madvise for tensors >= 2 MiB, freed blocks reused (kernel: madvise); smaller ones from
// malloc's heap, kept for reuse" (plus ", the heap on huge pages too (GLIBC_TUNABLES=…)" when
// the tunable is set), "off (LLMC_HUGE_PAGES=0)",
// "off (kernel transparent huge pages: never)", or "not installed" before
// install_huge_page_allocator() ran.
std::string huge_pages_status();

// Gives the freed memory kept for reuse back to the system: the allocator's cached large blocks
// (up to 1 GiB) and malloc's free heap (malloc_trim). The job runner calls it between phases
// whose tensors differ (a transform's temporaries, then two reloaded models), so that one
// phase's leftovers do not add to the next one's peak. Returns the cached blocks' bytes.
size_t release_cached_memory();

// Bytes of freed large blocks the allocator keeps for reuse now (part of the resident memory).
size_t cached_memory_bytes();

}  // namespace llmc::util
