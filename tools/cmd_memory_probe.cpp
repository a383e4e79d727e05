#include "cmd_memory_probe.h"

#include <memory>

#include "llmc/bench/memory_probe.h"

namespace llmc::tools {

void setup_memory_probe(CLI::App& app) {
  struct Flags {
    std::string model;
    std::string inputs;
    int threads = 1;
    std::string pool;
    std::string engine = "default";
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("__memory-probe", "");
  sub->group("");  // not listed in --help
  sub->add_option("model", flags->model)->required();
  sub->add_option("inputs", flags->inputs)->required();
  sub->add_option("threads", flags->threads)->required();
  sub->add_option("pool", flags->pool)->required()->check(CLI::IsMember({"auto", "blas", "libtorch"}));
  sub->add_option("engine", flags->engine);
  sub->callback([flags] {
    bench::memory_probe_main(flags->model, flags->inputs, flags->threads,
                             flags->pool == "auto"   ? std::nullopt
                             : flags->pool == "blas" ? std::optional(util::ThreadPool::blas)
                                                     : std::optional(util::ThreadPool::libtorch),
                             flags->engine);
  });
}

}  // namespace llmc::tools
