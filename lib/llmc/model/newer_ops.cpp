#include "llmc/model/newer_ops.h"

#include <cmath>
#include <limits>
#include <mutex>

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>
#include <torch/torch.h>

namespace llmc::model {

namespace {

// PyTorch's math reference of scaled_dot_product_attention (aten/src/ATen/native/transformers/
// attention.cpp, _scaled_dot_product_attention_math), written in ATen operators so that autograd
// differentiates it (registered as CompositeImplicitAutograd). Boolean masks keep where true;
// float masks are added to the scores.
at::Tensor scaled_dot_product_attention(const at::Tensor& query, const at::Tensor& key,
                                        const at::Tensor& value,
                                        const c10::optional<at::Tensor>& attn_mask,
                                        double dropout_p, bool is_causal,
                                        c10::optional<double> scale, bool enable_gqa) {
  at::Tensor k = key;
  at::Tensor v = value;
  if (enable_gqa && query.dim() >= 3 && k.size(-3) != query.size(-3)) {
    TORCH_CHECK(k.size(-3) > 0 && query.size(-3) % k.size(-3) == 0,
                "scaled_dot_product_attention: enable_gqa needs the query heads (",
                query.size(-3), ") to be a multiple of the key/value heads (", k.size(-3), ")");
    const int64_t repeats = query.size(-3) / k.size(-3);
    k = k.repeat_interleave(repeats, -3);
    v = v.repeat_interleave(repeats, -3);
  }
  const double s = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(query.size(-1)));
  at::Tensor scores = at::matmul(query, k.transpose(-2, -1)) * s;
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (is_causal) {
    TORCH_CHECK(!attn_mask.has_value() || !attn_mask->defined(),
                "scaled_dot_product_attention: is_causal with an explicit attn_mask");
    const at::Tensor keep =
        at::ones({query.size(-2), k.size(-2)}, query.options().dtype(at::kBool)).tril();
    scores = scores.masked_fill(keep.logical_not(), neg_inf);
  }
  if (attn_mask.has_value() && attn_mask->defined()) {
    scores = attn_mask->scalar_type() == at::kBool
                 ? scores.masked_fill(attn_mask->logical_not(), neg_inf)
                 : scores + *attn_mask;
  }
  at::Tensor probs = at::softmax(scores, -1);
  if (dropout_p > 0.0) probs = at::dropout(probs, dropout_p, /*train=*/true);
  return at::matmul(probs, v);
}

bool has_operator(const char* name) {
  return c10::Dispatcher::singleton().findOp(c10::OperatorName(name, "")).has_value();
}

}  // namespace

const std::vector<std::string>& newer_operator_names() {
  static const std::vector<std::string> names = {"aten::scaled_dot_product_attention"};
  return names;
}

void register_newer_operators() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (has_operator("aten::scaled_dot_product_attention")) return;
    // Lives for the process: the registration is undone when the Library is destroyed.
    static torch::Library* library =
        new torch::Library(torch::Library::FRAGMENT, "aten", c10::nullopt, __FILE__, __LINE__);
    library->def(
        "scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, "
        "Tensor? attn_mask=None, float dropout_p=0.0, bool is_causal=False, *, "
        "float? scale=None, bool enable_gqa=False) -> Tensor");
    library->impl("scaled_dot_product_attention",
                  torch::dispatch(c10::DispatchKey::CompositeImplicitAutograd,
                                  TORCH_FN(scaled_dot_product_attention)));
  });
}

}  // namespace llmc::model
