// `llmc distill --nproc N`: starts N workers of the same command on this machine with the
// variables torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1,
// a free MASTER_PORT), waits for all of them, and when one fails stops the others and fails
// with its exit code. Rank 0 prints the result on stdout; the others' stdout is discarded
// (their errors and warnings still reach stderr). Torch-free.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace llmc::distill {

// The command line without `--nproc N` / `--nproc=N`: what each worker runs.
std::vector<std::string> without_nproc(const std::vector<std::string>& args);

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick).
int free_local_port();

// Runs `args` (argv[0] first; the program is this executable) as `nproc` workers. Returns when
// all exit 0; throws WorkerFailure (the first failed worker's exit code, 4 for a signal) after
// stopping the others: SIGTERM, then SIGKILL after `grace`.
void run_local_workers(int nproc, const std::vector<std::string>& args,
                       std::chrono::seconds grace = std::chrono::seconds(10));

}  // namespace llmc::distill
