#include "llmc/distill/losses.h"

#include "llmc/data/inputs.h"

namespace llmc::distill {

at::Tensor task_loss(const at::Tensor& logits, const at::Tensor& labels, recipe::TaskKind task) {
  const at::Tensor z = logits.to(at::kFloat);
  switch (task) {
    case recipe::TaskKind::multi_label:
      return at::binary_cross_entropy_with_logits(z, labels.to(at::kFloat));
    case recipe::TaskKind::language_model: {
      const auto vocab = z.size(2);
      return at::cross_entropy_loss(z.slice(1, 0, -1).reshape({-1, vocab}),
                                    labels.slice(1, 1).reshape({-1}), {}, at::Reduction::Mean,
                                    data::kIgnoreIndex);
    }
    default:
      return at::cross_entropy_loss(z, labels.to(at::kLong));
  }
}

at::Tensor soft_loss(const at::Tensor& student, const at::Tensor& teacher, SoftLoss kind,
                     double temperature, const at::Tensor& mask) {
  const at::Tensor s = student.to(at::kFloat) / temperature;
  const at::Tensor t = teacher.to(at::kFloat).detach() / temperature;
  if (kind == SoftLoss::sigmoid_kl) {
    // KL(Bernoulli(p_t) || Bernoulli(p_s)) per label, in log space for stability.
    const at::Tensor p = at::sigmoid(t);
    const at::Tensor kl = p * (at::log_sigmoid(t) - at::log_sigmoid(s)) +
                          (1 - p) * (at::log_sigmoid(-t) - at::log_sigmoid(-s));
    return kl.mean();
  }
  const at::Tensor log_q = at::log_softmax(s, -1);
  const at::Tensor log_p = at::log_softmax(t, -1);
  at::Tensor kl = (log_p.exp() * (log_p - log_q)).sum(-1);  // one value per sample or token
  if (kl.dim() == 2) {  // language model: average over unmasked tokens
    if (!mask.defined()) return kl.mean();
    const at::Tensor m = mask.to(at::kFloat);
    return (kl * m).sum() / m.sum().clamp_min(1);
  }
  return kl.mean();  // batch-mean
}

LossParts distill_loss(const at::Tensor& student, const at::Tensor& teacher,
                       const at::Tensor& labels, const at::Tensor& mask, const LossConfig& c) {
  LossParts parts;
  parts.task = task_loss(student, labels, c.task);
  if (!teacher.defined()) {
    parts.total = parts.task;
    return parts;
  }
  parts.soft = soft_loss(student, teacher, c.soft, c.temperature, mask);
  parts.total = c.alpha * parts.task +
                (1 - c.alpha) * c.temperature * c.temperature * parts.soft;
  return parts;
}

}  // namespace llmc::distill
