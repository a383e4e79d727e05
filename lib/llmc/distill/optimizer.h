// The student's optimizer and the state the data-parallel workers exchange: AdamW as Hugging
// Face's Trainer sets it up, and tensors or the optimizer's state as bytes (rank 0 hands a
// resumed state to the other workers).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "llmc/distill/recipe.h"

namespace llmc::distill {

// AdamW over every parameter of the student; no weight decay on 1-D parameters (biases and
// normalization weights), as Hugging Face's Trainer does. `extra`: trained tensors outside the
// student (hidden-state projections), last. InputError when there is nothing to train.
std::unique_ptr<torch::optim::AdamW> make_optimizer(torch::jit::Module& student,
                                                    const DistillOptions& o,
                                                    const std::vector<at::Tensor>& extra);

// Every parameter of `m`, submodules included, in named_parameters order.
std::vector<at::Tensor> parameters(torch::jit::Module& m);

std::string tensors_bytes(const std::vector<at::Tensor>& tensors);
// Copies the tensors saved in `bytes` into `into`, in order.
void load_tensors_bytes(const std::vector<at::Tensor>& into, const std::string& bytes);

std::string optimizer_bytes(torch::optim::Optimizer& optimizer);
void load_optimizer_bytes(torch::optim::Optimizer& optimizer, const std::string& bytes);

}  // namespace llmc::distill
