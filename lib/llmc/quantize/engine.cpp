#include "llmc/quantize/engine.h"

#include <algorithm>

#include <ATen/Context.h>
#include <fmt/format.h>

#include "llmc/util/error.h"

namespace llmc::quantize {

std::string engine_name(Engine engine) {
  switch (engine) {
    case Engine::onednn: return "onednn";
    case Engine::qnnpack: return "qnnpack";
    case Engine::fbgemm: return "fbgemm";
    case Engine::x86: return "x86";
  }
  return "?";
}

namespace {

at::QEngine to_qengine(Engine engine) {
  switch (engine) {
    case Engine::onednn: return at::QEngine::ONEDNN;
    case Engine::qnnpack: return at::QEngine::QNNPACK;
    case Engine::fbgemm: return at::QEngine::FBGEMM;
    case Engine::x86: return at::QEngine::X86;
  }
  return at::QEngine::NoQEngine;
}

}  // namespace

std::vector<std::string> supported_engines() {
  std::vector<std::string> out;
  for (const auto e : at::globalContext().supportedQEngines()) {
    if (e == at::QEngine::ONEDNN) out.push_back("onednn");
    if (e == at::QEngine::QNNPACK) out.push_back("qnnpack");
    if (e == at::QEngine::FBGEMM) out.push_back("fbgemm");
    if (e == at::QEngine::X86) out.push_back("x86");
  }
  return out;
}

std::string engine_unavailable(Engine engine) {
  const auto supported = at::globalContext().supportedQEngines();
  if (std::find(supported.begin(), supported.end(), to_qengine(engine)) != supported.end()) {
    return "";
  }
  return fmt::format("engine {} is not available in this LibTorch build (available: {})",
                     engine_name(engine), fmt::join(supported_engines(), ", "));
}

void use_engine(Engine engine, const recipe::Origin& where) {
  if (std::string why = engine_unavailable(engine); !why.empty()) {
    throw RecipeError({{where.location, recipe::join_key(where.key, "engine"), why}});
  }
  at::globalContext().setQEngine(to_qengine(engine));
}

}  // namespace llmc::quantize
