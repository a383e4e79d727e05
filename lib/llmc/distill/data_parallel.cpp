#include "llmc/distill/data_parallel.h"

#include <cstdlib>

#include <fmt/format.h>
// Debian's libtorch is built with Gloo; its header declares ProcessGroupGloo only under this.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "llmc/metrics/metric_accumulator.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::distill {

namespace {

using Clock = std::chrono::steady_clock;

// The first line of an exception's message, without LibTorch's C++ backtrace.
std::string cause_of(const std::exception& e) {
  std::string what;
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) {
    what = c->what_without_backtrace();
  } else {
    what = e.what();
  }
  const auto nl = what.find('\n');
  return nl == std::string::npos ? what : what.substr(0, nl);
}

bool loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

// The Gloo device: GLOO_SOCKET_IFNAME when set (as in PyTorch), loopback when every worker is
// on this machine, else the address this machine's hostname resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const World& w) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (loopback(w.master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

DataParallel::DataParallel(World world, std::chrono::seconds timeout)
    : world_(std::move(world)), timeout_(timeout), group_(std::make_unique<Group>()) {
  const auto start = Clock::now();
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(world_.master_port);
    o.isServer = world_.rank == 0;
    o.numWorkers = static_cast<size_t>(world_.size);
    o.waitWorkers = true;
    o.timeout = timeout_;
    group_->store = c10::make_intrusive<c10d::TCPStore>(world_.master_addr, o);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout_);
    options->devices.push_back(gloo_device(world_));
    group_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, world_.rank,
                                                               world_.size, options);
  } catch (const std::exception& e) {
    throw InternalError(fmt::format(
        "{}: cannot join the other workers at {}:{} within {} s (distill.collective_timeout_s): "
        "{}; check that every worker was started with the same MASTER_ADDR, MASTER_PORT and "
        "WORLD_SIZE, and that rank 0 is running",
        world_.name(), world_.master_addr, world_.master_port, timeout_.count(), cause_of(e)));
  }
  log::info("{} joined the others at {}:{} in {:.1f} s (Gloo, collectives time out after {} s)",
            world_.name(), world_.master_addr, world_.master_port,
            std::chrono::duration<double>(Clock::now() - start).count(), timeout_.count());
}

DataParallel::~DataParallel() = default;

template <class Start>
void DataParallel::run(const std::string& what, Start start) {
  const auto t0 = Clock::now();
  try {
    auto work = start(*group_->gloo);
    work->wait(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_));
  } catch (const std::exception& e) {
    throw InternalError(fmt::format(
        "{}: {} failed: another worker has stopped (it failed, was killed, or did not answer "
        "within {} s: distill.collective_timeout_s); the run is abandoned on every worker ({})",
        world_.name(), what, timeout_.count(), cause_of(e)));
  }
  comm_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
}

void DataParallel::broadcast_module(torch::jit::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> tensors;
  for (const auto& p : module.parameters(true)) tensors.push_back(p);
  for (const auto& b : module.buffers(true)) tensors.push_back(b);
  for (auto& t : tensors) {
    // In place when contiguous (Gloo writes into the tensor's storage), else through a copy.
    const bool in_place = t.is_contiguous();
    std::vector<at::Tensor> one{in_place ? t.detach() : t.detach().contiguous()};
    run("broadcasting rank 0's weights",
        [&](c10d::ProcessGroupGloo& g) { return g.broadcast(one); });
    if (!in_place) t.copy_(one[0]);
  }
}

void DataParallel::broadcast_bytes(std::string& bytes, const std::string& what) {
  std::vector<at::Tensor> size{at::full({1}, static_cast<int64_t>(bytes.size()), at::kLong)};
  run("broadcasting " + what, [&](c10d::ProcessGroupGloo& g) { return g.broadcast(size); });
  const int64_t n = size[0].item<int64_t>();
  std::vector<at::Tensor> data{at::empty({std::max<int64_t>(n, 1)}, at::kByte)};
  if (leader() && n > 0) std::memcpy(data[0].data_ptr(), bytes.data(), static_cast<size_t>(n));
  run("broadcasting " + what, [&](c10d::ProcessGroupGloo& g) { return g.broadcast(data); });
  if (!leader()) bytes.assign(static_cast<const char*>(data[0].data_ptr()), static_cast<size_t>(n));
}

void DataParallel::all_reduce_sum(std::vector<double>& values, const std::string& what) {
  at::Tensor t = at::tensor(values, at::kDouble);
  all_reduce_sum(t, what);
  for (size_t i = 0; i < values.size(); ++i) values[i] = t[static_cast<int64_t>(i)].item<double>();
}

void DataParallel::all_reduce_sum(at::Tensor& tensor, const std::string& what) {
  std::vector<at::Tensor> one{tensor};
  run(what, [&](c10d::ProcessGroupGloo& g) { return g.allreduce(one); });
}

void DataParallel::all_reduce_gradients(const std::vector<at::Tensor>& params,
                                        int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> bytes;
  for (const auto& p : params) bytes.push_back(p.numel() * 4);
  const auto buckets = plan_buckets(bytes, bucket_bytes);
  // Every bucket's all-reduce is started before the first is waited for: Gloo works on them
  // while the next bucket is packed.
  std::vector<std::vector<at::Tensor>> flats(buckets.size());
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  const auto t0 = Clock::now();
  try {
    for (size_t b = 0; b < buckets.size(); ++b) {
      int64_t total = 0;
      for (size_t i : buckets[b]) total += params[i].numel();
      at::Tensor flat = at::empty({total}, at::kFloat);
      int64_t offset = 0;
      for (size_t i : buckets[b]) {
        const at::Tensor& g = params[i].grad();
        auto part = flat.narrow(0, offset, params[i].numel());
        if (g.defined()) {
          part.copy_(g.reshape({-1}));
        } else {
          part.zero_();
        }
        offset += params[i].numel();
      }
      flats[b] = {flat};
      works.push_back(group_->gloo->allreduce(flats[b]));
    }
    for (auto& w : works) w->wait(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_));
  } catch (const std::exception& e) {
    throw InternalError(fmt::format(
        "{}: all-reducing the gradients failed: another worker has stopped (it failed, was "
        "killed, or did not answer within {} s: distill.collective_timeout_s); the run is "
        "abandoned on every worker ({})",
        world_.name(), timeout_.count(), cause_of(e)));
  }
  comm_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
  for (size_t b = 0; b < buckets.size(); ++b) {
    int64_t offset = 0;
    for (size_t i : buckets[b]) {
      at::Tensor p = params[i];
      auto part = flats[b][0].narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(part);
      } else {
        p.mutable_grad() = part.to(p.scalar_type()).clone();
      }
      offset += p.numel();
    }
  }
}

void DataParallel::check_same_parameters(torch::jit::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> sums;
  for (const auto& p : module.parameters(true)) {
    sums.push_back(p.to(at::kDouble).sum().reshape({1}));
    sums.push_back(p.to(at::kDouble).abs().sum().reshape({1}));
  }
  at::Tensor mine = at::cat(sums);
  std::vector<at::Tensor> leader{mine.clone()};
  run("comparing the final weights", [&](c10d::ProcessGroupGloo& g) { return g.broadcast(leader); });
  const double diff = (leader[0] - mine).abs().max().item<double>();
  const double scale = std::max(1.0, mine.abs().max().item<double>());
  if (diff > 1e-9 * scale) {
    throw InternalError(fmt::format("{}: its weights differ from rank 0's after training (largest "
                                    "difference of a checksum {:.3g})",
                                    world_.name(), diff));
  }
}

void DataParallel::barrier(const std::string& what) {
  run(what, [&](c10d::ProcessGroupGloo& g) { return g.barrier(); });
}

metrics::MetricSet sharded_metrics(DataParallel& dp, const data::InputSet& eval,
                                   const recipe::TaskSpec& task, int64_t classes,
                                   const std::function<at::Tensor(const data::Batch&)>& logits) {
  const auto mine = worker_eval_batches(static_cast<int64_t>(eval.batches.size()), dp.rank(),
                                        dp.size());
  if (task.type == recipe::TaskKind::language_model) {
    std::vector<double> sums{0, 0};  // negative log-likelihood, tokens
    for (int64_t i : mine) {
      const auto& b = eval.batches[static_cast<size_t>(i)];
      const auto [nll, tokens] = metrics::next_token_nll(logits(b), b.labels);
      sums[0] += nll;
      sums[1] += static_cast<double>(tokens);
    }
    dp.all_reduce_sum(sums, "summing the evaluation loss");
    return metrics::language_model_metrics(sums[0], static_cast<int64_t>(sums[1]));
  }
  std::vector<int64_t> offsets;
  int64_t rows = 0;
  for (const auto& b : eval.batches) {
    offsets.push_back(rows);
    rows += b.rows;
  }
  at::Tensor all = at::zeros({rows, classes}, at::kFloat);
  for (int64_t i : mine) {
    const auto& b = eval.batches[static_cast<size_t>(i)];
    all.narrow(0, offsets[static_cast<size_t>(i)], b.rows).copy_(logits(b));
  }
  dp.all_reduce_sum(all, "gathering the evaluation logits");
  metrics::MetricAccumulator metric(task);
  for (size_t i = 0; i < eval.batches.size(); ++i) {
    const auto& b = eval.batches[i];
    metric.add(c10::IValue(all.narrow(0, offsets[i], b.rows)), b);
  }
  return metric.result();
}

}  // namespace llmc::distill
