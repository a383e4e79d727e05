// The distillation loss against independent formulas: the classic recipe's
// KLDivLoss(log_softmax(s/T), softmax(t/T), batchmean), the Bernoulli KL of sigmoids, BCE and
// next-token CE with padding ignored; and the alpha / T^2 combination.
#include "llmc/distill/losses.h"

#include "torch_doctest.h"

#include "llmc/data/inputs.h"

using llmc::distill::distill_loss;
using llmc::distill::LossConfig;
using llmc::distill::soft_loss;
using llmc::distill::SoftLoss;
using llmc::distill::task_loss;
using llmc::recipe::TaskKind;

TEST_CASE("softmax-kl is KLDivLoss(batchmean) of the classic recipe") {
  torch::manual_seed(0);
  const auto s = torch::randn({5, 7});
  const auto t = torch::randn({5, 7}) * 3;
  const double T = 4.0;
  // torch.nn.KLDivLoss(reduction="batchmean")(log_softmax(s/T), softmax(t/T)) = sum / batch.
  const auto expected =
      torch::kl_div(torch::log_softmax(s / T, 1), torch::softmax(t / T, 1), at::Reduction::Sum) / 5;
  const auto got = soft_loss(s, t, SoftLoss::softmax_kl, T, {});
  CHECK(got.item<double>() == doctest::Approx(expected.item<double>()).epsilon(1e-6));
  // Zero when the student matches the teacher, positive otherwise.
  CHECK(soft_loss(t, t, SoftLoss::softmax_kl, T, {}).item<double>() == doctest::Approx(0).epsilon(1e-7));
  CHECK(got.item<double>() > 0);
}

TEST_CASE("sigmoid-kl is the per-label Bernoulli KL, averaged") {
  // One label: teacher logit 2 (T 1 -> p = 0.8808), student logit 0 (q = 0.5).
  const auto s = torch::tensor({{0.0f}});
  const auto t = torch::tensor({{2.0f}});
  const double p = 1 / (1 + std::exp(-2.0)), q = 0.5;
  const double kl = p * std::log(p / q) + (1 - p) * std::log((1 - p) / (1 - q));
  CHECK(soft_loss(s, t, SoftLoss::sigmoid_kl, 1.0, {}).item<double>() == doctest::Approx(kl).epsilon(1e-5));
  // Temperature divides both logits first.
  const double p2 = 1 / (1 + std::exp(-1.0));
  const double kl2 = p2 * std::log(p2 / q) + (1 - p2) * std::log((1 - p2) / (1 - q));
  CHECK(soft_loss(s, t, SoftLoss::sigmoid_kl, 2.0, {}).item<double>() == doctest::Approx(kl2).epsilon(1e-5));
  // Stable for extreme logits (no NaN from log(0)).
  const auto big = soft_loss(torch::tensor({{-80.0f}}), torch::tensor({{80.0f}}), SoftLoss::sigmoid_kl, 1.0, {});
  CHECK(std::isfinite(big.item<double>()));
  CHECK(big.item<double>() == doctest::Approx(80.0).epsilon(1e-3));
}

TEST_CASE("task losses: BCE-with-logits, cross-entropy, next-token CE without padding") {
  const auto z = torch::tensor({{1.0f, -2.0f}, {0.5f, 0.0f}});
  const auto y = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  double bce = 0;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      const double x = z[i][j].item<double>(), t = y[i][j].item<double>();
      const double sig = 1 / (1 + std::exp(-x));
      bce += -(t * std::log(sig) + (1 - t) * std::log(1 - sig));
    }
  }
  CHECK(task_loss(z, y, TaskKind::multi_label).item<double>() == doctest::Approx(bce / 4).epsilon(1e-6));
  const auto ce = task_loss(z, torch::tensor({0, 1}), TaskKind::single_label);
  CHECK(ce.item<double>() == doctest::Approx(torch::cross_entropy_loss(z, torch::tensor({0, 1})).item<double>()));

  // LM: logits [1, 3, 4]; ids [1, 2, pad]; position 0 predicts 2, position 1 predicts the pad
  // (ignored), so the loss is the CE of position 0 alone.
  torch::manual_seed(1);
  const auto logits = torch::randn({1, 3, 4});
  const auto ids = torch::tensor({{1, 2, 0}});
  const auto mask = torch::tensor({{1, 1, 0}});
  const auto labels = llmc::data::language_model_labels(ids, mask);
  CHECK(labels[0][2].item<int64_t>() == llmc::data::kIgnoreIndex);
  const auto expected = torch::cross_entropy_loss(logits[0].slice(0, 0, 1), torch::tensor({2}));
  CHECK(task_loss(logits, labels, TaskKind::language_model).item<double>() ==
        doctest::Approx(expected.item<double>()).epsilon(1e-6));
}

TEST_CASE("alpha * task + (1 - alpha) * T^2 * soft; no teacher: the task loss alone") {
  torch::manual_seed(2);
  const auto s = torch::randn({3, 4});
  const auto t = torch::randn({3, 4});
  const auto y = torch::tensor({0, 3, 1});
  LossConfig c{TaskKind::single_label, SoftLoss::softmax_kl, 0.25, 2.0};
  const auto parts = distill_loss(s, t, y, {}, c);
  const double expected = 0.25 * parts.task.item<double>() + 0.75 * 4.0 * parts.soft.item<double>();
  CHECK(parts.total.item<double>() == doctest::Approx(expected).epsilon(1e-6));
  const auto alone = distill_loss(s, {}, y, {}, c);
  CHECK_FALSE(alone.soft.defined());
  CHECK(alone.total.item<double>() == doctest::Approx(parts.task.item<double>()));
  // Gradients flow to the student only.
  auto sg = s.clone().requires_grad_(true);
  auto tg = t.clone().requires_grad_(true);
  distill_loss(sg, tg, y, {}, c).total.backward();
  CHECK(sg.grad().defined());
  CHECK_FALSE(tg.grad().defined());
}
