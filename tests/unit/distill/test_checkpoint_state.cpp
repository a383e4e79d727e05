// The checkpoint's training state survives its JSON round trip.
#include "llmc/distill/checkpoint.h"

#include "torch_doctest.h"

using llmc::distill::EvalRecord;
using llmc::distill::TrainState;

TEST_CASE("TrainState round-trips through JSON") {
  TrainState s;
  s.epochs_done = 2;
  s.step = 40;
  s.best = 1;
  s.train_seconds = 12.5;
  s.fingerprint["learning_rate"] = 0.001;
  for (int e = 1; e <= 2; ++e) {
    EvalRecord r;
    r.epoch = e;
    r.step = 20 * e;
    r.train_loss = 0.5 / e;
    r.task_loss = 0.4 / e;
    r.soft_loss = 0.1 / e;
    if (e == 2) {  // hidden_states pairs' losses (absent from the first record, as in old runs)
      r.hidden_loss = 0.25;
      r.hidden_losses = {0.125, 0.5};
    }
    r.samples_per_second = 100.0 * e;
    r.seconds = 6.25;
    r.eval.primary = "jaccard_samples";
    r.eval.values = {{"jaccard_samples", 0.3 * e}, {"micro_f1", 0.4 * e}};
    s.history.push_back(r);
  }
  const TrainState back = llmc::distill::train_state_from_json(
      llmc::util::parse_json(llmc::distill::to_json(s).dump(1)));
  CHECK(back.epochs_done == 2);
  CHECK(back.step == 40);
  CHECK(back.best == 1);
  CHECK(back.train_seconds == 12.5);
  CHECK(back.fingerprint.dump() == s.fingerprint.dump());
  REQUIRE(back.history.size() == 2);
  CHECK(back.history[1].eval.value("micro_f1") == doctest::Approx(0.8));
  CHECK(back.history[1].eval.primary == "jaccard_samples");
  CHECK(back.history[0].train_loss == 0.5);
  CHECK(back.history[0].hidden_losses.empty());
  CHECK(back.history[1].hidden_loss == 0.25);
  CHECK(back.history[1].hidden_losses == std::vector<double>{0.125, 0.5});
  CHECK(llmc::distill::to_json(back).dump() == llmc::distill::to_json(s).dump());
}
