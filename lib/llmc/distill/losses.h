// The distillation loss: alpha * task loss + (1 - alpha) * T^2 * soft loss.
//   task loss: BCE-with-logits (multi-label), cross-entropy (single-label), next-token
//              cross-entropy masked by the attention mask (language model);
//   soft loss: per-label Bernoulli KL of sigmoid(z/T) (sigmoid-kl) or
//              KL(softmax(t/T) || softmax(s/T)) (softmax-kl; batch-mean over samples, or mean
//              over unmasked tokens for a language model).
#pragma once

#include <torch/torch.h>

#include "llmc/distill/recipe.h"
#include "llmc/recipe/common.h"

namespace llmc::distill {

struct LossParts {
  at::Tensor total;
  at::Tensor task;
  at::Tensor soft;  // undefined without a teacher
};

struct LossConfig {
  recipe::TaskKind task = recipe::TaskKind::multi_label;
  SoftLoss soft = SoftLoss::sigmoid_kl;  // resolved, never automatic
  double alpha = 0.5;
  double temperature = 4.0;
};

at::Tensor task_loss(const at::Tensor& logits, const at::Tensor& labels, recipe::TaskKind task);
// `mask`: for a language model, [batch, seq] attention mask (undefined: every position).
at::Tensor soft_loss(const at::Tensor& student, const at::Tensor& teacher, SoftLoss kind,
                     double temperature, const at::Tensor& mask);
// `teacher` undefined: the task loss alone (fine-tuning).
LossParts distill_loss(const at::Tensor& student, const at::Tensor& teacher,
                       const at::Tensor& labels, const at::Tensor& mask, const LossConfig& c);

}  // namespace llmc::distill
