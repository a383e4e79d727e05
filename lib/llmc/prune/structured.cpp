#include "llmc/prune/structured.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/api/function_impl.h>

#include "llmc/model/layers.h"
#include "llmc/prune/module_graph.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::prune {

namespace {

using namespace detail;  // NOLINT: this file's helpers
using torch::jit::Node;
using torch::jit::Value;

void set_tensor(torch::jit::Module& m, const char* name, const at::Tensor& t) {
  m.setattr(name, t.detach().clone().contiguous());
}

// Updates an int attribute the forward may read (nn.Linear's in/out_features are class
// constants, which the forward never reads and which cannot be set).
void set_int_if_present(torch::jit::Module& m, const char* name, int64_t value) {
  if (m.type()->hasAttribute(name) && m.attr(name).isInt()) m.setattr(name, value);
}

// A traced layer's width constants: in `layer`'s forward, the last entry of a view/reshape of the
// output of its linear on self.weight (output side), or of the view/reshape feeding it (input
// side), set from `before` to `after`. Scripted layers read sizes at run time (or an int
// attribute such as Conv1D's nf, set separately).
void rewrite_width_constants(torch::jit::Module& layer, bool output_side, int64_t before,
                             int64_t after) {
  torch::jit::Function* f = layer.type()->findMethod("forward");
  auto* gf = f ? dynamic_cast<torch::jit::GraphFunction*>(f) : nullptr;
  if (gf == nullptr) return;
  auto graph = gf->graph();
  const auto rewrite_last = [&](Node* view) {
    if (view->kind() != c10::aten::view && view->kind() != c10::aten::reshape) return;
    Node* list = view->input(1)->node();
    if (list->kind() != c10::prim::ListConstruct || list->inputs().empty()) return;
    const auto c = torch::jit::toIValue(list->inputs().back());
    if (!c || !c->isInt() || c->toInt() != before) return;
    torch::jit::WithInsertPoint at(list);
    list->replaceInput(list->inputs().size() - 1, graph->insertConstant(after));
  };
  for (Node* n : graph->nodes()) {
    if (n->kind() != c10::aten::linear) continue;
    const Node* w = n->input(1)->node();
    if (w->kind() != c10::prim::GetAttr || w->s(c10::attr::name) != "weight") continue;
    if (output_side) {
      for (const auto& use : n->output()->uses()) rewrite_last(use.user);
    } else {
      rewrite_last(n->input(0)->node());
    }
  }
}

// Indices [0, n) minus the `remove` lowest of `importance`, ascending.
std::vector<int64_t> keep_indices(const at::Tensor& importance, int64_t remove) {
  const int64_t n = importance.numel();
  remove = std::min(remove, n - 1);
  std::vector<int64_t> keep;
  if (remove <= 0) {
    for (int64_t i = 0; i < n; ++i) keep.push_back(i);
    return keep;
  }
  const auto order = std::get<1>(importance.to(at::kDouble).sort(/*stable=*/true, 0, false));
  std::vector<int64_t> all(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + n);
  keep.assign(all.begin() + remove, all.end());
  std::sort(keep.begin(), keep.end());
  return keep;
}

at::Tensor index_tensor(const std::vector<int64_t>& idx) {
  return at::tensor(idx, at::TensorOptions().dtype(at::kLong));
}

at::Tensor stat_norm(const std::map<std::string, InputStats>& stats, const std::string& layer) {
  const auto it = stats.find(layer);
  if (it == stats.end()) {
    throw InputError("", fmt::format("importance: activation: the calibration run saw no input "
                                     "of {}; use importance: magnitude",
                                     layer));
  }
  return it->second.norm().to(at::kFloat);
}

// Rewrites a traced attention module's head views ([..., H, D] -> [..., H', D], and the key/value
// ones [..., KV, D] -> [..., KV', D]), its merge view ([..., H * D] -> [..., H' * D]) and the
// split of a fused projection into thirds (H * D -> H' * D). Views of [..., -1, D] need nothing.
void rewrite_traced_heads(torch::jit::Module& m, const AttentionUnit& u, int64_t kept,
                          int64_t kept_kv) {
  const auto g = own_forward(m);
  if (!g) return;
  const int64_t width = u.heads * u.head_dim;
  for (Node* n : g->nodes()) {
    if (n->kind() == c10::aten::split && !u.fused.empty()) {
      const auto size = torch::jit::toIValue(n->input(1));
      if (size && size->isInt() && size->toInt() == width) {
        torch::jit::WithInsertPoint at(n);
        n->replaceInput(1, g->insertConstant(kept * u.head_dim));
      }
      continue;
    }
    if (n->kind() != c10::aten::view && n->kind() != c10::aten::reshape) continue;
    Node* list = n->input(1)->node();
    if (list->kind() != c10::prim::ListConstruct || list->inputs().empty()) continue;
    const size_t last = list->inputs().size() - 1;
    const auto [h, d] = last_two(n);
    torch::jit::WithInsertPoint at(list);
    if (d == u.head_dim && (h == u.heads || h == u.kv_heads)) {
      list->replaceInput(last - 1, g->insertConstant(h == u.heads ? kept : kept_kv));
      continue;
    }
    const auto c = torch::jit::toIValue(list->inputs()[last]);
    if (c && c->isInt() && c->toInt() == width) {
      list->replaceInput(last, g->insertConstant(kept * u.head_dim));
    }
  }
}

// The rows of the kept heads' [h * D, (h + 1) * D) blocks.
std::vector<int64_t> head_rows(const std::vector<int64_t>& heads, int64_t head_dim, int64_t offset) {
  std::vector<int64_t> rows;
  for (int64_t h : heads) {
    for (int64_t d = 0; d < head_dim; ++d) rows.push_back(offset + h * head_dim + d);
  }
  return rows;
}

}  // namespace

std::vector<StructuredChange> prune_structured(torch::jit::Module& model,
                                               torch::jit::Module& masked,
                                               const PruneOptions& o,
                                               const std::map<std::string, InputStats>& stats) {
  torch::NoGradGuard no_grad;
  std::vector<StructuredChange> changes;
  const bool by_activation = o.structured.importance == Importance::activation;
  if (o.structured.ffn > 0) {
    std::vector<FfnPair> pairs;
    for (const auto& p : find_ffn_pairs(model)) {
      if (model::selected(p.up, o.include, o.exclude)) pairs.push_back(p);
    }
    if (pairs.empty()) {
      throw RecipeError({{o.origin.location, recipe::join_key(o.origin.key, "structured.ffn"),
                          "no feed-forward pair (Linear -> activation -> Linear) among the "
                          "selected layers; nothing to prune"}});
    }
    for (const auto& p : pairs) {
      auto up = submodule(model, p.up);
      auto down = submodule(model, p.down);
      const at::Tensor w_up = param(up, "weight"), w_down = param(down, "weight");
      const int64_t n = w_up.size(0);
      const at::Tensor out_norm = w_down.to(at::kFloat).norm(2, {0});
      at::Tensor in_norm = w_up.to(at::kFloat).norm(2, {1});
      for (const auto& other : p.also_up) {
        in_norm = in_norm * param(submodule(model, other), "weight").to(at::kFloat).norm(2, {1});
      }
      const at::Tensor score = by_activation ? stat_norm(stats, p.down) * out_norm
                                             : in_norm * out_norm;
      const auto keep = keep_indices(score, std::llround(o.structured.ffn * static_cast<double>(n)));
      const at::Tensor idx = index_tensor(keep);
      // The masked reference: the removed neurons' outgoing weights zeroed.
      auto masked_down = submodule(masked, p.down);
      at::Tensor zeroed = param(masked_down, "weight").clone();
      at::Tensor col_mask = at::zeros({n}, zeroed.options());
      col_mask.index_fill_(0, idx, 1);
      set_tensor(masked_down, "weight", zeroed * col_mask.unsqueeze(0));

      std::vector<std::string> rows_of{p.up};
      rows_of.insert(rows_of.end(), p.also_up.begin(), p.also_up.end());
      for (const auto& name : rows_of) {
        auto layer = submodule(model, name);
        set_tensor(layer, "weight", param(layer, "weight").index_select(0, idx));
        if (param(layer, "bias").defined()) {
          set_tensor(layer, "bias", param(layer, "bias").index_select(0, idx));
        }
        set_int_if_present(layer, "out_features", static_cast<int64_t>(keep.size()));
        set_int_if_present(layer, "nf", static_cast<int64_t>(keep.size()));  // GPT-2's Conv1D
        rewrite_width_constants(layer, /*output_side=*/true, n, static_cast<int64_t>(keep.size()));
      }
      set_tensor(down, "weight", w_down.index_select(1, idx));
      rewrite_width_constants(down, /*output_side=*/false, n, static_cast<int64_t>(keep.size()));
      set_int_if_present(down, "in_features", static_cast<int64_t>(keep.size()));
      changes.push_back({p.up, "ffn", n, static_cast<int64_t>(keep.size())});
    }
  }
  if (o.structured.heads > 0) {
    std::vector<AttentionUnit> units;
    for (const auto& u : find_attention(model)) {
      if (model::selected(u.path, o.include, o.exclude)) units.push_back(u);
    }
    if (units.empty()) {
      throw RecipeError({{o.origin.location, recipe::join_key(o.origin.key, "structured.heads"),
                          "no attention module (a head count attribute, or in a trace head "
                          "views [..., heads, head_dim], with query/key/value projections) among "
                          "the selected modules; nothing to prune" +
                              unrecognised_attention(model)}});
    }
    for (const auto& u : units) {
      auto out = submodule(model, u.out);
      const at::Tensor w_out = param(out, "weight").to(at::kFloat);
      const at::Tensor w_proj = param(submodule(model, u.v), "weight").to(at::kFloat);
      // Units removed together: key/value groups of heads / kv_heads query heads (one query head
      // each without grouped-query attention).
      const int64_t group = u.heads / u.kv_heads;
      const int64_t v_offset = u.fused.empty() ? 0 : 2 * u.heads * u.head_dim;
      std::vector<double> scores(static_cast<size_t>(u.kv_heads), 0.0);
      for (int64_t h = 0; h < u.heads; ++h) {
        const int64_t kv = h / group;
        double s = w_out.narrow(1, h * u.head_dim, u.head_dim).norm().item<double>();
        if (by_activation) {
          s *= stat_norm(stats, u.out).narrow(0, h * u.head_dim, u.head_dim).norm().item<double>();
        } else {
          s *= w_proj.narrow(0, v_offset + kv * u.head_dim, u.head_dim).norm().item<double>();
        }
        scores[static_cast<size_t>(kv)] += s;
      }
      const int64_t remove = std::llround(o.structured.heads * static_cast<double>(u.kv_heads));
      if (group > 1 &&
          std::abs(static_cast<double>(remove) / static_cast<double>(u.kv_heads) - o.structured.heads) >
              0.5 / static_cast<double>(u.heads) + 1e-9) {
        throw RecipeError({{o.origin.location, recipe::join_key(o.origin.key, "structured.heads"),
                            fmt::format("{} cannot be honoured on {}: grouped-query attention "
                                        "removes whole key/value groups ({} groups of {} query "
                                        "heads), so the fractions it can remove are multiples of "
                                        "1/{} (nearest: {:g})",
                                        o.structured.heads, u.path, u.kv_heads, group, u.kv_heads,
                                        static_cast<double>(remove) / static_cast<double>(u.kv_heads))}});
      }
      const auto keep_groups = keep_indices(at::tensor(scores), remove);
      std::vector<int64_t> keep_heads;
      for (int64_t g : keep_groups) {
        for (int64_t r = 0; r < group; ++r) keep_heads.push_back(g * group + r);
      }
      const auto kept = static_cast<int64_t>(keep_heads.size());
      const auto kept_kv = static_cast<int64_t>(keep_groups.size());
      const std::vector<int64_t> q_rows = head_rows(keep_heads, u.head_dim, 0);
      const at::Tensor q_idx = index_tensor(q_rows);
      auto masked_out = submodule(masked, u.out);
      at::Tensor col_mask = at::zeros({u.heads * u.head_dim}, w_out.options());
      col_mask.index_fill_(0, q_idx, 1);
      set_tensor(masked_out, "weight", param(masked_out, "weight") * col_mask.unsqueeze(0).to(param(masked_out, "weight").scalar_type()));

      const auto cut_rows = [&](const std::string& path, const std::vector<int64_t>& rows) {
        auto lin = submodule(model, path);
        const at::Tensor idx = index_tensor(rows);
        const int64_t before = param(lin, "weight").size(0);
        set_tensor(lin, "weight", param(lin, "weight").index_select(0, idx));
        if (param(lin, "bias").defined()) set_tensor(lin, "bias", param(lin, "bias").index_select(0, idx));
        set_int_if_present(lin, "out_features", static_cast<int64_t>(rows.size()));
        set_int_if_present(lin, "nf", static_cast<int64_t>(rows.size()));  // GPT-2's Conv1D
        // A traced Conv1D views its output as [batch, seq, nf] with nf a constant.
        rewrite_width_constants(lin, /*output_side=*/true, before, static_cast<int64_t>(rows.size()));
      };
      if (!u.fused.empty()) {
        // q, k and v thirds of the fused projection, each cut to the kept heads.
        std::vector<int64_t> rows;
        for (int64_t third = 0; third < 3; ++third) {
          const auto part = head_rows(keep_heads, u.head_dim, third * u.heads * u.head_dim);
          rows.insert(rows.end(), part.begin(), part.end());
        }
        cut_rows(u.fused, rows);
      } else {
        cut_rows(u.q, q_rows);
        const auto kv_rows = head_rows(keep_groups, u.head_dim, 0);
        cut_rows(u.k, kv_rows);
        cut_rows(u.v, kv_rows);
      }
      set_tensor(out, "weight", param(out, "weight").index_select(1, q_idx));
      set_int_if_present(out, "in_features", static_cast<int64_t>(q_rows.size()));
      auto attention = submodule(model, u.path);
      if (u.traced) {
        rewrite_traced_heads(attention, u, kept, kept_kv);
      } else {
        attention.setattr(u.heads_attr, kept);
        if (!u.kv_heads_attr.empty()) attention.setattr(u.kv_heads_attr, kept_kv);
      }
      for (const auto& name : u.width_attrs) {
        attention.setattr(name, static_cast<int64_t>(q_rows.size()));
      }
      changes.push_back({u.path, "heads", u.heads, kept});
    }
  }
  if (o.structured.channels > 0) {
    std::vector<ConvChain> chains;
    for (const auto& c : find_conv_chains(model)) {
      if (model::selected(c.conv, o.include, o.exclude)) chains.push_back(c);
    }
    if (chains.empty()) {
      throw RecipeError({{o.origin.location, recipe::join_key(o.origin.key, "structured.channels"),
                          "no Conv2d among the selected layers feeds exactly one other Conv2d "
                          "or Linear (through batch norm, activations, pooling); nothing to "
                          "prune"}});
    }
    for (const auto& c : chains) {
      auto conv = submodule(model, c.conv);
      auto next = submodule(model, c.next);
      const at::Tensor w = param(conv, "weight"), w_next = param(next, "weight");
      const int64_t n = w.size(0);
      // Outgoing weight norm per channel: dim 1 of the next layer's weight.
      const at::Tensor w_next_f = w_next.to(at::kFloat);
      const at::Tensor out_norm = w_next_f.transpose(0, 1).reshape({n, -1}).norm(2, {1});
      at::Tensor score;
      if (by_activation) {
        score = stat_norm(stats, c.next) * out_norm;
      } else {
        score = w.to(at::kFloat).reshape({n, -1}).norm(2, {1}) * out_norm;
        if (!c.bn.empty()) {
          auto bn = submodule(model, c.bn);
          score = score * param(bn, "weight").to(at::kFloat).abs() /
                  (param(bn, "running_var").to(at::kFloat) + 1e-5).sqrt();
        }
      }
      const auto keep = keep_indices(score, std::llround(o.structured.channels * static_cast<double>(n)));
      const at::Tensor idx = index_tensor(keep);
      auto masked_next = submodule(masked, c.next);
      at::Tensor channel_mask = at::zeros({n}, w_next.options());
      channel_mask.index_fill_(0, idx, 1);
      std::vector<int64_t> shape(static_cast<size_t>(w_next.dim()), 1);
      shape[1] = n;
      set_tensor(masked_next, "weight", param(masked_next, "weight") * channel_mask.reshape(shape));

      set_tensor(conv, "weight", w.index_select(0, idx));
      if (param(conv, "bias").defined()) set_tensor(conv, "bias", param(conv, "bias").index_select(0, idx));
      if (!c.bn.empty()) {
        auto bn = submodule(model, c.bn);
        for (const char* name : {"weight", "bias", "running_mean", "running_var"}) {
          if (param(bn, name).defined()) set_tensor(bn, name, param(bn, name).index_select(0, idx));
        }
      }
      set_tensor(next, "weight", w_next.index_select(1, idx));
      changes.push_back({c.conv, "channels", n, static_cast<int64_t>(keep.size())});
    }
  }
  return changes;
}

}  // namespace llmc::prune
