// libFuzzer target: the recipe parser (YAML, --set overrides, ${VAR} interpolation, the
// credential check, the common schema with its data, example_inputs, task and gates sections,
// and llmc compare's schema). The input is a recipe; the lines after a line "#--set" are --set
// overrides. A RecipeError (or another llmc error) is the
// expected outcome of bad input, with every line bounded; any other exception or a crash is a
// finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "llmc/compare/recipe.h"
#include "llmc/recipe/common.h"
#include "llmc/recipe/parse.h"
#include "llmc/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string marker = "\n#--set\n";
  const size_t split = input.find(marker);
  std::vector<std::string> sets;
  if (split != std::string::npos) {
    size_t start = split + marker.size();
    while (start < input.size() && sets.size() < 16) {
      size_t end = input.find('\n', start);
      if (end == std::string::npos) end = input.size();
      sets.push_back(input.substr(start, end - start));
      start = end + 1;
    }
  }
  const std::string& path = llmc::fuzz::write_temp(data, split == std::string::npos ? size : split,
                                                   ".yaml");
  // The common schema, and llmc compare's (its models list, reference, cost block and the
  // credential check every recipe gets).
  for (int schema = 0; schema < 2; ++schema) {
    try {
      if (schema == 0) {
        llmc::recipe::parse_recipe(path, sets, llmc::recipe::common_schema());
      } else {
        llmc::compare::parse_compare_recipe(path, sets);
      }
    } catch (const llmc::Error& e) {
      llmc::fuzz::check_message_bounded(e.what());
    } catch (const std::exception& e) {
      llmc::fuzz::finding(std::string("a non-llmc exception escaped the recipe parser: ") +
                          e.what());
    }
  }
  return 0;
}
