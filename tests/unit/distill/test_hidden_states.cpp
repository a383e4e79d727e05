// Hidden-state distillation: the MSE and cosine losses against independent formulas (padding
// tokens left out, each sample's tokens averaged first), the learned projection where widths
// differ (deterministic from the seed), and the recipe errors (exit 2) for names and shapes that
// do not fit.
#include "llmc/distill/hidden_states.h"

#include "torch_doctest.h"

#include "llmc/model/load.h"
#include "llmc/util/error.h"
#include "test_support.h"

using llmc::distill::HiddenLoss;
using llmc::distill::HiddenStatePair;
using llmc::distill::HiddenStates;
using llmc::distill::hidden_state_loss;
using llmc::test::fixture;
using llmc::test::has;

namespace {

HiddenStatePair pair(const std::string& teacher, const std::string& student,
                     HiddenLoss loss = HiddenLoss::mse, double weight = 1.0) {
  HiddenStatePair p;
  p.teacher = teacher;
  p.student = student;
  p.loss = loss;
  p.weight = weight;
  p.origin = {"r.yaml:7:5", "distill.hidden_states[0]"};
  return p;
}

std::vector<c10::IValue> batch() {
  const auto ids = torch::tensor({{101, 7, 42, 9, 102}, {101, 300, 102, 0, 0}}, at::kLong);
  const auto mask = torch::tensor({{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}, at::kLong);
  return {ids, mask};
}

std::string recipe_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const llmc::RecipeError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("hidden-state MSE and cosine average over non-padding tokens") {
  torch::manual_seed(1);
  const auto s = torch::randn({2, 3, 4});
  const auto t = torch::randn({2, 3, 4});
  const auto mask = torch::tensor({{1, 1, 1}, {1, 0, 0}}, at::kLong);
  // Only tokens (0,0), (0,1), (0,2) of sample 0 and (1,0) of sample 1 count: each sample's
  // mean over its tokens, then the mean of the two samples.
  double mse[2] = {0, 0}, cos[2] = {0, 0};
  for (auto [b, i] : std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {0, 2}, {1, 0}}) {
    const auto d = s[b][i] - t[b][i];
    const double share = b == 0 ? 1.0 / 3 : 1.0;
    mse[b] += share * (d * d).mean().item<double>();
    cos[b] += share * (1 - (s[b][i] * t[b][i]).sum().item<double>() /
                               (s[b][i].norm().item<double>() * t[b][i].norm().item<double>()));
  }
  CHECK(hidden_state_loss(s, t, HiddenLoss::mse, mask).item<double>() ==
        doctest::Approx((mse[0] + mse[1]) / 2).epsilon(1e-5));
  CHECK(hidden_state_loss(s, t, HiddenLoss::cosine, mask).item<double>() ==
        doctest::Approx((cos[0] + cos[1]) / 2).epsilon(1e-5));
  // Without a mask every token counts: torch's mse_loss (mean over all elements).
  CHECK(hidden_state_loss(s, t, HiddenLoss::mse, {}).item<double>() ==
        doctest::Approx(torch::mse_loss(s, t).item<double>()).epsilon(1e-6));
  // [batch, width] outputs: the mean over samples; zero when equal; the teacher gets no gradient.
  const auto s2 = torch::randn({3, 4}, torch::requires_grad());
  const auto t2 = torch::randn({3, 4}, torch::requires_grad());
  CHECK(hidden_state_loss(t2, t2, HiddenLoss::cosine, mask).item<double>() ==
        doctest::Approx(0).epsilon(1e-6));
  hidden_state_loss(s2, t2, HiddenLoss::mse, {}).backward();
  CHECK(s2.grad().defined());
  CHECK(!t2.grad().defined());
}

TEST_CASE("a projection joins different widths, trains, and is deterministic from the seed") {
  const torch::jit::Module teacher = llmc::model::load(fixture("distill_teacher.pt"));
  const torch::jit::Module student = llmc::model::load(fixture("distill_student.pt"));
  auto make = [&](uint64_t seed) {
    HiddenStates h({pair("bert.encoder.layer.1", "bert.encoder.layer.0")}, student, teacher,
                   "student.pt", "teacher.pt");
    h.student().eval();
    h.teacher().eval();
    torch::NoGradGuard no_grad;
    h.prepare(h.student().forward(batch()), h.teacher().forward(batch()), seed);
    return h;
  };
  HiddenStates h = make(7);
  const auto params = h.parameters();
  REQUIRE(params.size() == 2);
  CHECK(params[0].sizes() == at::IntArrayRef{64, 32});
  CHECK(params[1].sizes() == at::IntArrayRef{64});
  CHECK(torch::equal(params[0], make(7).parameters()[0]));
  CHECK(!torch::equal(params[0], make(8).parameters()[0]));
  const auto d = h.describe().dump();
  CHECK(has(d, "\"student_width\":32"));
  CHECK(has(d, "Linear 32 -> 64"));

  h.student().train();
  const auto s = llmc::distill::split_output(h.student().forward(batch()), 1);
  const auto t = llmc::distill::split_output(h.teacher().forward(batch()), 1);
  const auto loss = h.loss(s.hidden, t.hidden, batch()[1].toTensor());
  REQUIRE(loss.pairs.size() == 1);
  CHECK(loss.total.item<double>() == doctest::Approx(loss.pairs[0].item<double>()));
  loss.total.backward();
  CHECK(params[0].grad().defined());
  CHECK(params[0].grad().abs().sum().item<double>() > 0);
}

TEST_CASE("hidden-state recipe errors name the key: missing module, projection none, shape") {
  const torch::jit::Module teacher = llmc::model::load(fixture("distill_teacher.pt"));
  const torch::jit::Module student = llmc::model::load(fixture("distill_student.pt"));
  const std::string missing = recipe_error([&] {
    HiddenStates({pair("bert.encoder.layer.11", "bert.encoder.layer.0")}, student, teacher,
                 "student.pt", "teacher.pt");
  });
  CHECK(has(missing, "r.yaml:7:5: distill.hidden_states[0].teacher: the teacher (teacher.pt) "
                     "has no module \"bert.encoder.layer.11\"; its modules, nearest first: "
                     "bert.encoder.layer.1, bert.encoder.layer.0"));
  CHECK(has(missing, "more (`llmc inspect` lists the parameters, named MODULE.weight)"));

  auto none = pair("bert.encoder.layer.1", "bert.encoder.layer.0");
  none.projection = llmc::distill::Projection::none;
  const std::string widths = recipe_error([&] {
    HiddenStates h({none}, student, teacher, "student.pt", "teacher.pt");
    torch::NoGradGuard no_grad;
    h.prepare(h.student().forward(batch()), h.teacher().forward(batch()), 1);
  });
  CHECK(has(widths, "distill.hidden_states[0].projection: projection none, but the student's "
                    "bert.encoder.layer.0 is 32 wide and the teacher's bert.encoder.layer.1 is "
                    "64 wide"));

  // Outputs that do not line up: the pooler's [batch, width] against a layer's
  // [batch, seq, width].
  const std::string shapes = recipe_error([&] {
    HiddenStates h({pair("bert.encoder.layer.1", "bert.pooler")}, student, teacher, "student.pt",
                   "teacher.pt");
    torch::NoGradGuard no_grad;
    h.prepare(h.student().forward(batch()), h.teacher().forward(batch()), 1);
  });
  CHECK(has(shapes, "distill.hidden_states[0].student: the student's bert.pooler outputs [2, 32] "
                    "and the teacher's bert.encoder.layer.1 outputs [2, 5, 64]"));
}
