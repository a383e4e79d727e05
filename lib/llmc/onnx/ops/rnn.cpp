// aten::lstm -> one ONNX LSTM node per layer. PyTorch's gate order (input, forget, cell,
// output) becomes ONNX's (input, output, forget, cell); b_ih and b_hh are concatenated; layers
// are chained with their directions merged, batch_first is a Transpose on each side.
#include <fmt/format.h>

#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

at::Tensor onnx_gates(const at::Tensor& w) {  // [4H, ...] in i,f,g,o -> i,o,f,g
  const auto g = w.chunk(4, 0);
  return at::cat({g[0], g[3], g[1], g[2]}, 0);
}

}  // namespace

void register_rnn(Registry& r) {
  r.add("aten::lstm", [](LowerContext& c, const Node* n) {
    if (n->inputs().size() != 9) c.unsupported(n, "lstm with packed sequences");
    const auto t = c.dtype(n->outputs()[0]);
    const bool has_biases = c.bool_arg(n, 3);
    const int64_t layers = c.int_arg(n, 4);
    if (c.bool_arg(n, 6) && c.double_arg(n, 5) > 0) {
      c.unsupported(n, "lstm with dropout in training mode");
    }
    const bool bidirectional = c.bool_arg(n, 7);
    const bool batch_first = c.bool_arg(n, 8);
    const int64_t dirs = bidirectional ? 2 : 1;
    const auto params_v = c.static_arg(n, 2);
    std::vector<at::Tensor> params;
    for (const auto& p : params_v.toTensorList()) params.push_back(p);
    const size_t per = has_biases ? 4 : 2;
    if (params.size() != per * static_cast<size_t>(layers * dirs)) {
      c.unsupported(n, fmt::format("lstm has {} weights, {} expected (projections are not "
                                   "supported)",
                                   params.size(), per * layers * dirs));
    }
    const int64_t hidden = params[1].size(1);
    const auto hx = c.list_in(n->input(1));
    std::string x = c.in_as(n->input(0), t);
    if (batch_first) x = c.b.node1("Transpose", {x}, {attr("perm", std::vector<int64_t>{1, 0, 2})});
    std::vector<std::string> hs, cs;
    for (int64_t l = 0; l < layers; ++l) {
      std::vector<at::Tensor> W, R, B;
      for (int64_t d = 0; d < dirs; ++d) {
        const size_t base = per * static_cast<size_t>(l * dirs + d);
        W.push_back(onnx_gates(params[base]).to(t));
        R.push_back(onnx_gates(params[base + 1]).to(t));
        if (has_biases) {
          B.push_back(at::cat({onnx_gates(params[base + 2]), onnx_gates(params[base + 3])}).to(t));
        } else {
          B.push_back(at::zeros({8 * hidden}, at::TensorOptions().dtype(t)));
        }
      }
      const std::string prefix = fmt::format("lstm.l{}", l);
      const std::string w = c.b.initializer(at::stack(W), prefix + ".W");
      const std::string rr = c.b.initializer(at::stack(R), prefix + ".R");
      const std::string b = c.b.initializer(at::stack(B), prefix + ".B");
      auto slice_state = [&](const std::string& s) {
        return c.b.node1("Slice", {s, c.b.const_i64({l * dirs}), c.b.const_i64({(l + 1) * dirs}),
                                   c.b.const_i64({0})});
      };
      const std::string h0 = slice_state(c.cast(hx.at(0), c.dtype(n->input(0)), t));
      const std::string c0 = slice_state(c.cast(hx.at(1), c.dtype(n->input(0)), t));
      auto outs = c.b.node("LSTM", {x, w, rr, b, "", h0, c0}, 3,
                           {attr("hidden_size", hidden),
                            attr("direction", bidirectional ? "bidirectional" : "forward")});
      // Y [S, D, B, H] -> [S, B, D*H]
      const std::string y = c.b.node1("Transpose", {outs[0]},
                                      {attr("perm", std::vector<int64_t>{0, 2, 1, 3})});
      x = c.b.node1("Reshape", {y, c.b.const_i64({0, 0, -1})});
      hs.push_back(outs[1]);
      cs.push_back(outs[2]);
    }
    if (batch_first) x = c.b.node1("Transpose", {x}, {attr("perm", std::vector<int64_t>{1, 0, 2})});
    c.out(n->outputs()[0], x);
    c.out(n->outputs()[1], hs.size() == 1 ? hs[0] : c.b.node1("Concat", hs, {attr("axis", 0)}));
    c.out(n->outputs()[2], cs.size() == 1 ? cs[0] : c.b.node1("Concat", cs, {attr("axis", 0)}));
  });
}

}  // namespace llmc::onnx
