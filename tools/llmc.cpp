// llmc: main only wires the subcommands and turns every outcome into a message and an exit
// code, in one place (docs/cli.md#exit-codes).
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include "cmd_inspect.h"
#include "cmd_memory_probe.h"
#include "cmd_run.h"
#include "cmd_schema.h"
#include "cmd_validate.h"
#include "common.h"
#include "llmc/command_table.h"
#include "llmc/util/error.h"
#include "llmc/util/huge_pages.h"
#include "llmc/util/log.h"
#include "llmc/util/signal_cleanup.h"
#include "llmc_config.h"

namespace {

int report_error(const std::string& message, llmc::ExitCode code) {
  llmc::log::progress_done();
  size_t start = 0;
  while (start <= message.size()) {
    const size_t end = message.find('\n', start);
    const std::string line = message.substr(start, end == std::string::npos ? end : end - start);
    if (!line.empty()) std::fprintf(stderr, "llmc: error: %s\n", line.c_str());
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return static_cast<int>(code);
}


// Subcommands that load and run models (command_table()'s runs_models): only they are worth
// re-executing for the huge-page heap (LibTorch's start-up, about 0.6 s here, is paid twice).
bool runs_models(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;  // global flags (--json, -q, -v) come without values
    const llmc::CommandRow* row = llmc::find_command_row(argv[i]);
    return row != nullptr && row->name == argv[i] && row->runs_models;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (runs_models(argc, argv)) llmc::util::reexec_with_huge_page_heap(argv);
  llmc::tools::set_command_line(argc, argv);
  llmc::util::install_huge_page_allocator();
  // SIGINT and SIGTERM remove what the run registered (staging, temporary files, children).
  llmc::util::install_signal_cleanup();
  CLI::App app{"llmc: make trained TorchScript models ready for production, with a report that "
               "proves what it cost in quality"};
  app.set_version_flag("--version", std::string("llmc ") + LLMC_VERSION);
  app.require_subcommand(1);
  llmc::tools::GlobalFlags global;
  app.add_flag("--json", global.json, "print the result as one JSON object on stdout");
  app.add_flag("-q,--quiet", global.quiet, "only warnings and errors on stderr");
  app.add_flag("-v,--verbose", global.verbose, "debug logs on stderr");
  app.parse_complete_callback([&global] {
    llmc::log::set_level(global.quiet     ? llmc::log::Level::quiet
                         : global.verbose ? llmc::log::Level::debug
                                          : llmc::log::Level::info);
  });
  // Global flags are accepted after the subcommand too.
  app.fallthrough();
  llmc::tools::setup_run_commands(app, global);
  llmc::tools::setup_validate(app, global);
  llmc::tools::setup_inspect(app, global);
  llmc::tools::setup_schema(app, global);
  llmc::tools::setup_memory_probe(app);

  try {
    app.parse(argc, argv);
    return static_cast<int>(llmc::ExitCode::ok);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(llmc::ExitCode::usage);
  } catch (const llmc::GateFailure& e) {
    return report_error(e.what(), e.exit_code());
  } catch (const llmc::InputError& e) {
    const int code = report_error(e.what(), e.exit_code());
    if (!e.hint().empty()) std::fprintf(stderr, "llmc: hint: %s\n", e.hint().c_str());
    return code;
  } catch (const llmc::Error& e) {
    return report_error(e.what(), e.exit_code());
  } catch (const c10::Error& e) {
    return report_error(std::string("LibTorch: ") + e.what_without_backtrace(),
                        llmc::ExitCode::internal);
  } catch (const std::bad_alloc&) {
    return report_error("out of memory", llmc::ExitCode::internal);
  } catch (const std::exception& e) {
    return report_error(std::string("internal error: ") + e.what(), llmc::ExitCode::internal);
  }
}
