#include "llmc/distill/optimizer.h"

#include <sstream>

#include "llmc/util/error.h"

namespace llmc::distill {

std::unique_ptr<torch::optim::AdamW> make_optimizer(torch::jit::Module& student,
                                                    const DistillOptions& o,
                                                    const std::vector<at::Tensor>& extra) {
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& p : student.named_parameters(true)) {
    at::Tensor t = p.value;
    t.set_requires_grad(true);
    (t.dim() >= 2 ? decay : no_decay).push_back(t);
  }
  for (const auto& t : extra) (t.dim() >= 2 ? decay : no_decay).push_back(t);
  if (decay.empty() && no_decay.empty()) {
    throw InputError("", "the student has no parameters to train");
  }
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(o.learning_rate)
            .betas({o.adam_betas[0], o.adam_betas[1]})
            .eps(o.adam_epsilon)
            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!decay.empty()) groups.emplace_back(decay, options(o.weight_decay));
  if (!no_decay.empty()) groups.emplace_back(no_decay, options(0.0));
  return std::make_unique<torch::optim::AdamW>(std::move(groups),
                                               torch::optim::AdamWOptions(o.learning_rate));
}

std::vector<at::Tensor> parameters(torch::jit::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters(true)) out.push_back(p);
  return out;
}

// Tensors as bytes and back, for rank 0 to hand resumed projections to the other workers.
std::string tensors_bytes(const std::vector<at::Tensor>& tensors) {
  std::ostringstream out;
  torch::save(tensors, out);
  return out.str();
}

void load_tensors_bytes(const std::vector<at::Tensor>& into, const std::string& bytes) {
  std::istringstream in(bytes);
  std::vector<at::Tensor> saved;
  torch::load(saved, in);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < into.size() && i < saved.size(); ++i) into[i].copy_(saved[i]);
}

// The optimizer's state as bytes, for rank 0 to hand a resumed state to the other workers.
std::string optimizer_bytes(torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void load_optimizer_bytes(torch::optim::Optimizer& optimizer, const std::string& bytes) {
  std::istringstream in(bytes);
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  optimizer.load(archive);
}

}  // namespace llmc::distill
