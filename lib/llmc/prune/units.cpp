// Finding the units structured pruning removes: feed-forward neurons, attention heads (scripted
// head-count attributes or, in traces, the view constants), conv channels.
#include "llmc/prune/structured.h"

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>

#include "llmc/model/layers.h"
#include "llmc/prune/module_graph.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::prune {

namespace {

using namespace detail;  // NOLINT: this file's helpers
using torch::jit::Node;
using torch::jit::Value;

// Element-wise operations a feed-forward neuron's value may pass through between its two Linears.
bool is_ffn_elementwise(const Node* n) {
  static const std::set<std::string> kinds = {
      "aten::mul", "aten::add", "aten::sub", "aten::rsub", "aten::div", "aten::pow",
      "aten::neg", "aten::exp", "aten::erf", "aten::sqrt", "aten::abs", "aten::square",
      "aten::clamp", "aten::mul_", "aten::add_", "aten::tanh_", "aten::sigmoid_"};
  return is_elementwise(n) || kinds.count(n->kind().toQualString()) > 0;
}

// An operand that does not vary per neuron: not a tensor, or a constant with one element.
bool is_scalar_like(const Value* v) {
  if (!v->type()->isSubtypeOf(*c10::TensorType::get())) return true;
  const auto c = torch::jit::toIValue(v);
  return c && c->isTensor() && c->toTensor().numel() == 1;
}

// view/reshape(x, [..., last]) whose last entry is x's last size: a constant (checked against the
// layer widths when the constants are rewritten) or size(x, -1).
bool keeps_last_dim(const Node* view) {
  const Value* list = view->input(1);
  // x.size()[:-1] + (self.nf,): the last entry is the second list's (scripted Conv1D).
  while (list->node()->kind() == c10::aten::add && list->node()->inputs().size() == 2 &&
         list->type()->kind() == c10::TypeKind::ListType) {
    list = list->node()->input(1);
  }
  if (list->node()->kind() != c10::prim::ListConstruct || list->node()->inputs().empty()) {
    return false;
  }
  const Value* last = list->node()->inputs().back();
  if (torch::jit::toIValue(last)) return true;
  // An int attribute of the layer (Conv1D's nf), which pruning sets with the weights.
  if (last->node()->kind() == c10::prim::GetAttr) return true;
  const Node* size = last->node();
  if (size->kind() == c10::aten::Int) size = size->input(0)->node();
  if (size->kind() == c10::prim::NumToTensor) size = size->input(0)->node();
  if (size->kind() != c10::aten::size || size->inputs().size() != 2) return false;
  const auto dim = torch::jit::toIValue(size->input(1));
  return size->input(0) == view->input(0) && dim && dim->isInt() && dim->toInt() == -1;
}

// The head views of a traced attention module's forward: view/reshape(proj(x), [..., H, D])
// right after each projection's call (or after the split of a fused projection into thirds).
// D is a constant; H a constant or -1 (LLaMA's view(b, s, -1, head_dim)), then the projection's
// width over D. `heads` is the query projection's H and `kv_heads` the key/value ones' (equal
// unless grouped-query attention); 0 when the views are not found for all three.
struct TracedHeadViews {
  int64_t heads = 0;
  int64_t kv_heads = 0;
};

const Node* projection_call(const Value* v, const torch::jit::Graph& g) {
  const Node* call = v->node();
  if (call->kind() != c10::prim::CallMethod || call->s(c10::attr::name) != "forward") return nullptr;
  const Node* attr = call->input(0)->node();
  if (attr->kind() != c10::prim::GetAttr || attr->input(0) != g.inputs().at(0)) return nullptr;
  return attr;
}

// The projection a head view reads, as "child" or, for a third of a fused projection split in
// forward, "child#i".
std::string view_source(const Value* v, const torch::jit::Graph& g) {
  if (const Node* attr = projection_call(v, g)) return attr->s(c10::attr::name);
  const Node* unpack = v->node();
  if (unpack->kind() != c10::prim::ListUnpack) return "";
  const Node* split = unpack->input(0)->node();
  if (split->kind() != c10::aten::split) return "";
  const Node* attr = projection_call(split->input(0), g);
  if (attr == nullptr) return "";
  for (size_t i = 0; i < unpack->outputs().size(); ++i) {
    if (unpack->outputs()[i] == v) return fmt::format("{}#{}", attr->s(c10::attr::name), i);
  }
  return "";
}

TracedHeadViews traced_head_views(const torch::jit::Module& m,
                                  const std::array<std::string, 3>& sources,
                                  const std::array<int64_t, 3>& widths) {
  TracedHeadViews out;
  const auto g = own_forward(m);
  if (!g) return out;
  std::map<std::string, int64_t> heads_of;
  for (const Node* n : g->nodes()) {
    if (n->kind() != c10::aten::view && n->kind() != c10::aten::reshape) continue;
    const std::string source = view_source(n->input(0), *g);
    const auto it = std::find(sources.begin(), sources.end(), source);
    if (it == sources.end()) continue;
    const int64_t width = widths[static_cast<size_t>(it - sources.begin())];
    auto [h, d] = last_two(n);
    if (h == -1 && d > 0 && width % d == 0) h = width / d;
    if (h > 0 && d > 0 && h * d == width) heads_of[source] = h;
  }
  if (heads_of.size() != 3 || heads_of[sources[1]] != heads_of[sources[2]]) return out;
  out.heads = heads_of[sources[0]];
  out.kv_heads = heads_of[sources[1]];
  return out;
}

}  // namespace

using namespace detail;  // NOLINT

std::vector<FfnPair> find_ffn_pairs(const torch::jit::Module& model) {
  auto graph = inlined_forward(model);
  std::vector<FfnPair> pairs;
  std::set<std::string> seen;
  for_each_node(*graph, [&](Node* a) {
    if (a->kind() != c10::aten::linear) return;
    const std::string up = linear_module_path(a);
    if (up.empty() || seen.count(up)) return;
    FfnPair pair{up, "", {}};
    std::set<const Value*> region{a->output()};
    std::deque<Value*> queue{a->output()};
    std::set<const Node*> sources{a};
    std::set<const Value*> pending;
    while (!queue.empty()) {
      if (region.size() > 64) return;
      Value* v = queue.front();
      queue.pop_front();
      for (const auto& use : v->uses()) {
        Node* user = use.user;
        if (user->kind() == c10::aten::linear && use.offset == 0) {
          const std::string down = linear_module_path(user);
          if (down.empty() || (!pair.down.empty() && pair.down != down)) return;
          pair.down = down;
          continue;
        }
        // Shape reads (size, dim) carry no values on.
        bool tensor_out = false;
        for (const Value* o : user->outputs()) {
          tensor_out = tensor_out || o->type()->isSubtypeOf(*c10::TensorType::get());
        }
        if (!tensor_out && user->kind() != c10::prim::Return) continue;
        // A view that keeps the neurons as the last dimension (Conv1D's x.view(-1, nx) and
        // its output view): its width constants are rewritten with the layers.
        if ((user->kind() == c10::aten::view || user->kind() == c10::aten::reshape) &&
            use.offset == 0 && keeps_last_dim(user)) {
          if (region.insert(user->output()).second) queue.push_back(user->output());
          continue;
        }
        if (!is_ffn_elementwise(user) || user->outputs().size() != 1) {
          log::debug("structured.ffn: {} is not a feed-forward layer: its output reaches {}",
                     up, user->kind().toQualString());
          return;
        }
        for (size_t i = 0; i < user->inputs().size(); ++i) {
          Value* other = user->input(i);
          if (i == use.offset || region.count(other) || is_scalar_like(other)) continue;
          // A gated MLP's other branch: a Linear of the same input. Anything else must turn
          // out to be part of the region (the walk may not have reached it yet).
          Node* b = other->node();
          const std::string path = b->kind() == c10::aten::linear ? linear_module_path(b) : "";
          if (path.empty() || b->input(0) != a->input(0) || sources.count(b)) {
            pending.insert(other);
            continue;
          }
          sources.insert(b);
          pair.also_up.push_back(path);
          region.insert(other);
          queue.push_back(other);
        }
        if (region.insert(user->output()).second) queue.push_back(user->output());
      }
    }
    for (const Value* p : pending) {
      if (!region.count(p)) {
        log::debug("structured.ffn: {} is not a feed-forward layer: an operand from outside "
                   "reaches its activation",
                   up);
        return;
      }
    }
    if (pair.down.empty() || pair.down == up) return;
    for (const auto& other : pair.also_up) {
      if (other == pair.down) return;
    }
    seen.insert(up);
    for (const auto& other : pair.also_up) seen.insert(other);
    pairs.push_back(pair);
  });
  return pairs;
}

std::vector<ConvChain> find_conv_chains(const torch::jit::Module& model) {
  auto graph = inlined_forward(model);
  // conv2d(input, weight, bias, stride, padding, dilation, groups), or what tracing records:
  // _convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
  // groups, ...) with a 2-D kernel and transposed false.
  auto is_conv2d = [](const Node* n) {
    if (n->kind() == c10::aten::conv2d) return true;
    if (n->kind() != c10::aten::_convolution || n->inputs().size() < 9) return false;
    const auto transposed = torch::jit::toIValue(n->input(6));
    return transposed && transposed->isBool() && !transposed->toBool() &&
           constant_ints(n->input(3)).size() == 2;
  };
  auto groups_of = [](const Node* conv) {
    const auto g = torch::jit::toIValue(conv->input(conv->kind() == c10::aten::conv2d ? 6 : 8));
    return g && g->isInt() ? g->toInt() : -1;
  };
  // Uses that only inspect a tensor (its rank, size, device) do not carry its values on.
  auto value_uses = [](const Value* v) {
    std::vector<torch::jit::Use> out;
    for (const auto& u : v->uses()) {
      bool tensor_out = false;
      for (const Value* o : u.user->outputs()) tensor_out = tensor_out || o->type()->isSubtypeOf(*c10::TensorType::get());
      if (tensor_out || u.user->kind() == c10::prim::Return) out.push_back(u);
    }
    return out;
  };
  static const std::set<std::string> pools = {"aten::max_pool2d", "aten::avg_pool2d",
                                              "aten::adaptive_avg_pool2d"};
  std::vector<ConvChain> chains;
  for_each_node(*graph, [&](Node* a) {
    if (!is_conv2d(a) || groups_of(a) != 1) return;
    ConvChain c;
    c.conv = linear_module_path(a);
    if (c.conv.empty()) return;
    Value* v = a->output();
    bool spatial_one = false, flat = false;
    for (int depth = 0; depth < 12; ++depth) {
      const auto uses = value_uses(v);
      if (uses.size() != 1 || uses[0].offset != 0) return;
      Node* n = uses[0].user;
      const std::string kind = n->kind().toQualString();
      if (is_conv2d(n) && !flat) {
        if (groups_of(n) != 1) return;
        c.next = linear_module_path(n);
        break;
      }
      if (kind == "aten::linear" && flat) {
        c.next = linear_module_path(n);
        break;
      }
      if (kind == "aten::batch_norm" && c.bn.empty() && !flat) {
        c.bn = linear_module_path(n);  // its weight is input 1, like a Linear's
        if (c.bn.empty()) return;      // affine=False: no per-channel parameters to follow
      } else if (pools.count(kind) && !flat) {
        if (kind == "aten::adaptive_avg_pool2d") {
          // A constant output size, possibly through list_with_default (nn.AdaptiveAvgPool2d).
          const Value* size_value = n->input(1);
          if (size_value->node()->kind().toQualString() == std::string("aten::list_with_default")) {
            size_value = size_value->node()->input(0);
          }
          spatial_one = constant_ints(size_value) == std::vector<int64_t>{1, 1};
        }
      } else if (kind == "aten::flatten" && spatial_one) {
        const auto start = torch::jit::toIValue(n->input(1));
        if (!start || !start->isInt() || start->toInt() != 1) return;
        flat = true;
      } else if (!is_elementwise(n)) {
        return;
      }
      v = n->output();
    }
    if (!c.next.empty() && c.next != c.conv) chains.push_back(c);
  });
  return chains;
}

std::vector<AttentionUnit> find_attention(const torch::jit::Module& model) {
  auto graph = inlined_forward(model);
  // Linear module path -> its aten::linear node(s) in the inlined graph.
  std::map<std::string, Node*> linear_node;
  for_each_node(*graph, [&](Node* n) {
    if (n->kind() == c10::aten::linear) {
      const auto p = linear_module_path(n);
      if (!p.empty() && !linear_node.count(p)) linear_node[p] = n;
    }
  });
  const auto rows = [&](const std::string& path) {
    return param(submodule(model, path), "weight").size(0);
  };
  std::vector<AttentionUnit> units;
  for (const auto& sub : model.named_modules()) {
    const auto& m = sub.value;
    const std::string where = sub.name.empty() ? "(root)" : sub.name;
    std::string heads_attr;
    for (const char* name : {"num_heads", "num_attention_heads", "n_head", "n_heads", "heads"}) {
      if (m.type()->hasAttribute(name) && m.attr(name).isInt()) heads_attr = name;
      if (m.type()->hasConstant(name)) {
        throw InputError("", fmt::format("{}: the head count {} is a constant of the module's "
                                        "class, baked into its code; its heads cannot be "
                                        "removed safely",
                                        where, name));
      }
    }
    AttentionUnit u;
    u.path = sub.name;
    std::array<std::string, 3> sources;  // what the traced head views read
    for (const auto& names : std::vector<std::array<const char*, 3>>{
             {"query", "key", "value"}, {"q_proj", "k_proj", "v_proj"},
             {"q_lin", "k_lin", "v_lin"}, {"q", "k", "v"}}) {
      if (m.hasattr(names[0]) && m.hasattr(names[1]) && m.hasattr(names[2]) &&
          m.attr(names[0]).isModule() && m.attr(names[1]).isModule() &&
          m.attr(names[2]).isModule()) {
        sources = {names[0], names[1], names[2]};
        u.q = join_path(sub.name, names[0]);
        u.k = join_path(sub.name, names[1]);
        u.v = join_path(sub.name, names[2]);
        break;
      }
    }
    if (u.q.empty() && m.hasattr("c_attn") && m.attr("c_attn").isModule()) {
      u.fused = u.q = u.k = u.v = join_path(sub.name, "c_attn");
      sources = {"c_attn#0", "c_attn#1", "c_attn#2"};
    }
    if (u.q.empty()) {
      if (heads_attr.empty()) continue;
      throw InputError("", fmt::format("attention module {} has neither separate query/key/value "
                                      "projections nor a fused one llmc recognises (c_attn, "
                                      "split in thirds); its heads cannot be removed safely",
                                      where));
    }
    std::string not_called;  // a projection that is not a Linear forward calls
    for (const auto* p : {&u.q, &u.k, &u.v}) {
      if (!model::is_linear(submodule(model, *p)) || !linear_node.count(*p)) not_called = *p;
    }
    if (!not_called.empty()) {
      if (heads_attr.empty()) continue;  // traced: not an attention module llmc knows
      throw InputError("", fmt::format("{} is not a Linear that forward calls; the heads of {} "
                                      "cannot be removed safely",
                                      not_called, where));
    }
    {
      if (!u.fused.empty() && rows(u.fused) % 3 != 0) {
        throw InputError("", fmt::format("{}: the fused projection {} has {} outputs, not three "
                                        "equal thirds for query, key and value",
                                        where, u.fused, rows(u.fused)));
      }
      const int64_t width = u.fused.empty() ? rows(u.q) : rows(u.fused) / 3;
      const int64_t kv_width = u.fused.empty() ? rows(u.k) : width;
      if (u.fused.empty() && rows(u.v) != kv_width) {
        throw InputError("", fmt::format("{}: {} has {} outputs but {} has {}; its heads cannot be "
                                        "removed safely",
                                        where, u.k, kv_width, u.v, rows(u.v)));
      }
      if (heads_attr.empty()) {
        // A trace keeps no head count: it is in the view constants after the projections.
        const auto views = traced_head_views(m, sources, {width, kv_width, kv_width});
        if (views.heads <= 0) continue;
        u.heads = views.heads;
        u.kv_heads = views.kv_heads;
        u.traced = true;
      } else {
        u.heads_attr = heads_attr;
        u.heads = m.attr(heads_attr).toInt();
        for (const char* name : {"num_key_value_heads", "num_kv_heads", "n_kv_heads", "n_kv_head"}) {
          if (m.type()->hasAttribute(name) && m.attr(name).isInt()) {
            u.kv_heads_attr = name;
            u.kv_heads = m.attr(name).toInt();
          }
        }
      }
      if (u.heads <= 0 || width % u.heads != 0) {
        throw InputError("", fmt::format("{}: {} = {} does not divide the projection width {}",
                                        where, heads_attr.empty() ? "the head count" : heads_attr,
                                        u.heads, width));
      }
      u.head_dim = width / u.heads;
      if (u.kv_heads == 0 && kv_width % u.head_dim == 0) u.kv_heads = kv_width / u.head_dim;
      if (u.kv_heads <= 0 || u.kv_heads * u.head_dim != kv_width || u.heads % u.kv_heads != 0) {
        throw InputError("", fmt::format(
            "{}: the key/value projection {} has {} outputs, which are not whole key/value heads "
            "of {} ({} query heads of {}); its heads cannot be removed safely",
            where, u.k, kv_width, u.head_dim, u.heads, u.head_dim));
      }
      for (const char* name : {"all_head_size", "dim", "inner_dim", "split_size"}) {
        if (m.type()->hasAttribute(name) && m.attr(name).isInt() && m.attr(name).toInt() == width) {
          u.width_attrs.push_back(name);
        }
      }
      if (!u.fused.empty()) {
        // The thirds are split off by a size llmc can change: a constant (a trace) or an
        // attribute it sets (HF's split_size), not the input width (which pruning keeps).
        for (const auto& use : linear_node[u.fused]->output()->uses()) {
          if (use.user->kind() != c10::aten::split) continue;
          const Node* size = use.user->input(1)->node();
          const auto c = torch::jit::toIValue(use.user->input(1));
          const bool attr = size->kind() == c10::prim::GetAttr &&
                            std::find(u.width_attrs.begin(), u.width_attrs.end(),
                                      size->s(c10::attr::name)) != u.width_attrs.end();
          if (!(c && c->isInt() && c->toInt() == width) && !attr) {
            throw InputError("", fmt::format(
                "{}: the fused projection {} is split in thirds by a size computed in forward "
                "(not a constant or an attribute such as split_size); its heads cannot be "
                "removed safely",
                where, u.fused));
          }
        }
      }
      // The output projection: the first Linear the value projection's output reaches.
      std::deque<Value*> queue{linear_node[u.v]->output()};
      std::set<Value*> visited;
      while (!queue.empty() && u.out.empty()) {
        Value* val = queue.front();
        queue.pop_front();
        if (!visited.insert(val).second || visited.size() > 200) continue;
        for (const auto& use : val->uses()) {
          if (use.user->kind() == c10::aten::linear && use.offset == 0) {
            const auto p = linear_module_path(use.user);
            if (!p.empty() && p != u.q && p != u.k && p != u.v) {
              u.out = p;
              break;
            }
          }
          for (Value* o : use.user->outputs()) queue.push_back(o);
          // Returned from a branch of an if (scripted LLaMA's repeat_kv or repeat_interleave):
          // on to the if's output.
          Node* owner = use.user->owningBlock()->owningNode();
          if (use.user == use.user->owningBlock()->return_node() && owner != nullptr &&
              use.offset < owner->outputs().size()) {
            queue.push_back(owner->output(use.offset));
          }
        }
      }
      if (u.out.empty()) {
        throw InputError("", fmt::format("no output projection (a Linear) follows the value "
                                        "projection {}; the heads of {} cannot be removed safely",
                                        u.v, where));
      }
      units.push_back(u);
    }
  }
  return units;
}

std::vector<std::string> structured_stat_layers(const torch::jit::Module& model,
                                                const PruneOptions& o) {
  std::vector<std::string> out;
  if (o.structured.importance != Importance::activation) return out;
  if (o.structured.ffn > 0) {
    for (const auto& p : find_ffn_pairs(model)) {
      if (model::selected(p.up, o.include, o.exclude)) out.push_back(p.down);
    }
  }
  if (o.structured.heads > 0) {
    for (const auto& u : find_attention(model)) {
      if (model::selected(u.path, o.include, o.exclude)) out.push_back(u.out);
    }
  }
  if (o.structured.channels > 0) {
    for (const auto& c : find_conv_chains(model)) {
      if (model::selected(c.conv, o.include, o.exclude)) out.push_back(c.next);
    }
  }
  return out;
}

}  // namespace llmc::prune
