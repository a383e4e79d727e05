// quantize_lstm on frozen modules calling aten::lstm: the call becomes aten::quantized_lstm on
// packed int8 cells, the result stays close to float32, and LSTMs it cannot take are reported.
#include "torch_doctest.h"
#include <torch/script.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include "llmc/passes/quantize_lstm.h"

namespace {

int count(const torch::jit::Graph& g, const char* kind) {
  int n = 0;
  for (const auto* node : g.nodes()) n += node->kind().toQualString() == std::string(kind) ? 1 : 0;
  return n;
}

// One LSTM layer (input 16, hidden 32), batch first, with or without biases.
torch::jit::Module lstm_module(bool biases, at::Tensor* first_weight = nullptr) {
  torch::manual_seed(0);
  torch::jit::Module m("M");
  m.register_parameter("w_ih", torch::randn({128, 16}) * 0.2, false);
  m.register_parameter("w_hh", torch::randn({128, 32}) * 0.2, false);
  m.register_parameter("b_ih", torch::randn({128}) * 0.1, false);
  m.register_parameter("b_hh", torch::randn({128}) * 0.1, false);
  m.define(biases ? R"JIT(
def forward(self, x):
    h0 = torch.zeros([1, x.size(0), 32])
    return torch.lstm(x, [h0, h0], [self.w_ih, self.w_hh, self.b_ih, self.b_hh], True, 1, 0.0, False, False, True)[0]
)JIT"
                  : R"JIT(
def forward(self, x):
    h0 = torch.zeros([1, x.size(0), 32])
    return torch.lstm(x, [h0, h0], [self.w_ih, self.w_hh], False, 1, 0.0, False, False, True)[0]
)JIT");
  m.eval();
  if (first_weight) *first_weight = m.attr("w_ih").toTensor();
  return torch::jit::freeze_module(m);
}

at::Tensor per_tensor_qint8(const at::Tensor& w) {
  const double scale = std::max(w.abs().max().item<double>() / 127.5, 1e-8);
  return at::quantize_per_tensor(w, scale, 0, at::kQInt8);
}

}  // namespace

TEST_CASE("aten::lstm becomes aten::quantized_lstm, close to float32") {
  at::globalContext().setQEngine(at::QEngine::ONEDNN);
  const auto x = torch::randn({3, 7, 16});
  for (const bool biases : {true, false}) {
    CAPTURE(biases);
    const at::Tensor reference = lstm_module(biases).forward({x}).toTensor();
    at::Tensor w_ih;
    torch::jit::Module m = lstm_module(biases, &w_ih);
    auto graph = m.get_method("forward").graph();
    llmc::passes::QuantizeLstmOptions o;
    std::vector<std::string> seen;
    o.select = [&](const std::string& name) {
      seen.push_back(name);
      return true;
    };
    o.quantize_weight = per_tensor_qint8;
    // The frozen list of weights has no name: the LSTM is recognised by its first weight.
    o.name_by_weight = [&](const at::Tensor& w) {
      return at::equal(w, w_ih) ? std::string("cell") : std::string();
    };
    const auto result = llmc::passes::quantize_lstm(*graph, o);
    const auto& done = result.done;
    const auto& skipped = result.left;
    torch::jit::EliminateDeadCode(graph);
    REQUIRE(done.size() == 1);
    CHECK(result.changed == 1);
    CHECK(skipped.empty());
    CHECK(seen == std::vector<std::string>{"cell"});
    CHECK(done[0].hidden_size == 32);
    CHECK(done[0].input_size == 16);
    CHECK(done[0].layers == 1);
    CHECK_FALSE(done[0].bidirectional);
    CHECK(done[0].bytes_after < done[0].bytes_before / 2);
    CHECK(count(*graph, "aten::lstm") == 0);
    CHECK(count(*graph, "aten::quantized_lstm") == 1);
    const at::Tensor out = m.forward({x}).toTensor();
    CHECK(out.sizes().equals(reference.sizes()));
    const double rel = ((out - reference).norm() / reference.norm()).item<double>();
    CHECK(rel < 0.03);
    CHECK(rel > 0);  // int8, not the float weights
  }
}

TEST_CASE("an LSTM that is not selected, or whose weights do not fit a plain LSTM, is left alone") {
  torch::jit::Module m = lstm_module(true);
  auto graph = m.get_method("forward").graph();
  llmc::passes::QuantizeLstmOptions o;
  o.select = [](const std::string&) { return false; };
  o.quantize_weight = per_tensor_qint8;
  const auto none = llmc::passes::quantize_lstm(*graph, o);
  CHECK(none.changed == 0);
  CHECK(none.left.empty());
  CHECK(count(*graph, "aten::lstm") == 1);

  // Three weights for one layer without biases: a projection (w_hr), which quantized_lstm lacks.
  torch::jit::Module p("P");
  p.register_parameter("w_ih", torch::randn({64, 8}), false);
  p.register_parameter("w_hh", torch::randn({64, 8}), false);
  p.register_parameter("w_hr", torch::randn({8, 16}), false);
  p.define(R"JIT(
def forward(self, x):
    h0 = torch.zeros([1, x.size(0), 8])
    c0 = torch.zeros([1, x.size(0), 16])
    return torch.lstm(x, [h0, c0], [self.w_ih, self.w_hh, self.w_hr], False, 1, 0.0, False, False, True)[0]
)JIT");
  p.eval();
  torch::jit::Module frozen = torch::jit::freeze_module(p);
  o.select = [](const std::string&) { return true; };
  const auto projected = llmc::passes::quantize_lstm(*frozen.get_method("forward").graph(), o);
  CHECK(projected.changed == 0);
  REQUIRE(projected.left_count() == 1);
  CHECK(projected.left[0].reason.find("proj_size") != std::string::npos);
}
