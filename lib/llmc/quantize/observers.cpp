#include "llmc/quantize/observers.h"

#include <limits>

namespace llmc::quantize {

torch::jit::Module dynamic_activation_observer() {
  // The passes recognise a placeholder observer by this class name.
  torch::jit::Module m("__torch__.llmc.quantize.PlaceholderObserver");
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("compute_dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("qscheme", c10::IntType::get(),
                       static_cast<int64_t>(at::kPerTensorAffine));
  // calculate_qparams is never called for a placeholder; it must exist and type-check.
  // dtype=4 is torch.int64 (dtype names do not resolve in C++ define()).
  m.define(R"JIT(
def forward(self, x: Tensor) -> Tensor:
    return x

def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    return torch.ones([1]), torch.zeros([1], dtype=4)
)JIT");
  return m;
}

torch::jit::Module weight_observer() {
  torch::jit::Module m("__torch__.llmc.quantize.MinMaxObserver");
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQInt8));
  m.register_attribute("qscheme", c10::IntType::get(),
                       static_cast<int64_t>(at::kPerTensorSymmetric));
  m.register_attribute("quant_min", c10::IntType::get(), int64_t{-128});
  m.register_attribute("quant_max", c10::IntType::get(), int64_t{127});
  m.register_attribute("eps", c10::FloatType::get(),
                       static_cast<double>(std::numeric_limits<float>::epsilon()));
  m.register_buffer("min_val", torch::tensor(std::numeric_limits<float>::infinity()));
  m.register_buffer("max_val", torch::tensor(-std::numeric_limits<float>::infinity()));
  m.define(R"JIT(
def forward(self, x_orig: Tensor) -> Tensor:
    if x_orig.numel() == 0:
        return x_orig
    x = x_orig.detach().to(self.min_val.dtype)
    min_cur, max_cur = torch.aminmax(x)
    self.min_val.copy_(torch.min(min_cur, self.min_val))
    self.max_val.copy_(torch.max(max_cur, self.max_val))
    return x_orig

def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    min_neg = torch.min(self.min_val, torch.zeros_like(self.min_val))
    max_pos = torch.max(self.max_val, torch.zeros_like(self.max_val))
    max_abs = torch.max(-min_neg, max_pos)
    scale = max_abs / (float(self.quant_max - self.quant_min) / 2.0)
    scale = torch.clamp(scale, min=self.eps).reshape([1])
    zero_point = torch.zeros([1], dtype=4)
    return scale, zero_point
)JIT");
  return m;
}

torch::jit::Module activation_minmax_observer() {
  torch::jit::Module m("__torch__.llmc.quantize.ActivationMinMaxObserver");
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("qscheme", c10::IntType::get(),
                       static_cast<int64_t>(at::kPerTensorAffine));
  m.register_attribute("quant_min", c10::IntType::get(), int64_t{0});
  m.register_attribute("quant_max", c10::IntType::get(), int64_t{255});
  m.register_attribute("eps", c10::FloatType::get(),
                       static_cast<double>(std::numeric_limits<float>::epsilon()));
  m.register_buffer("min_val", torch::tensor(std::numeric_limits<float>::infinity()));
  m.register_buffer("max_val", torch::tensor(-std::numeric_limits<float>::infinity()));
  m.define(R"JIT(
def forward(self, x_orig: Tensor) -> Tensor:
    if x_orig.numel() == 0:
        return x_orig
    x = x_orig.detach().to(self.min_val.dtype)
    min_cur, max_cur = torch.aminmax(x)
    self.min_val.copy_(torch.min(min_cur, self.min_val))
    self.max_val.copy_(torch.max(max_cur, self.max_val))
    return x_orig

def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    min_neg = torch.min(self.min_val, torch.zeros_like(self.min_val))
    max_pos = torch.max(self.max_val, torch.zeros_like(self.max_val))
    scale = (max_pos - min_neg) / float(self.quant_max - self.quant_min)
    scale = torch.clamp(scale, min=self.eps).reshape([1])
    zero_point = self.quant_min - torch.round(min_neg / scale)
    zero_point = torch.clamp(zero_point, self.quant_min, self.quant_max).to(4).reshape([1])
    return scale, zero_point
)JIT");
  return m;
}

torch::jit::Module activation_percentile_observer(double percentile) {
  torch::jit::Module m("__torch__.llmc.quantize.ActivationPercentileObserver");
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("qscheme", c10::IntType::get(),
                       static_cast<int64_t>(at::kPerTensorAffine));
  m.register_attribute("quant_min", c10::IntType::get(), int64_t{0});
  m.register_attribute("quant_max", c10::IntType::get(), int64_t{255});
  m.register_attribute("upper_q", c10::FloatType::get(), percentile / 100.0);
  m.register_attribute("eps", c10::FloatType::get(),
                       static_cast<double>(std::numeric_limits<float>::epsilon()));
  m.register_buffer("min_val", torch::tensor(std::numeric_limits<float>::infinity()));
  m.register_buffer("max_val", torch::tensor(-std::numeric_limits<float>::infinity()));
  m.define(R"JIT(
def forward(self, x_orig: Tensor) -> Tensor:
    if x_orig.numel() == 0:
        return x_orig
    x = x_orig.detach().to(self.min_val.dtype).flatten()
    step = x.numel() // 1048576 + 1
    x = x[::step]
    lo = torch.quantile(x, 1.0 - self.upper_q)
    hi = torch.quantile(x, self.upper_q)
    self.min_val.copy_(torch.min(lo, self.min_val))
    self.max_val.copy_(torch.max(hi, self.max_val))
    return x_orig

def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    min_neg = torch.min(self.min_val, torch.zeros_like(self.min_val))
    max_pos = torch.max(self.max_val, torch.zeros_like(self.max_val))
    scale = (max_pos - min_neg) / float(self.quant_max - self.quant_min)
    scale = torch.clamp(scale, min=self.eps).reshape([1])
    zero_point = self.quant_min - torch.round(min_neg / scale)
    zero_point = torch.clamp(zero_point, self.quant_min, self.quant_max).to(4).reshape([1])
    return scale, zero_point
)JIT");
  return m;
}

torch::jit::Module weight_per_channel_observer() {
  torch::jit::Module m("__torch__.llmc.quantize.PerChannelMinMaxObserver");
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQInt8));
  m.register_attribute("qscheme", c10::IntType::get(),
                       static_cast<int64_t>(at::kPerChannelSymmetric));
  m.register_attribute("ch_axis", c10::IntType::get(), int64_t{0});
  m.register_attribute("quant_min", c10::IntType::get(), int64_t{-128});
  m.register_attribute("quant_max", c10::IntType::get(), int64_t{127});
  m.register_attribute("eps", c10::FloatType::get(),
                       static_cast<double>(std::numeric_limits<float>::epsilon()));
  m.register_buffer("min_val", torch::empty({0}));
  m.register_buffer("max_val", torch::empty({0}));
  m.define(R"JIT(
def forward(self, x_orig: Tensor) -> Tensor:
    if x_orig.numel() == 0:
        return x_orig
    x = x_orig.detach().to(torch.ones([1]).dtype)
    rows = x.reshape([x.size(0), -1])
    min_cur = torch.amin(rows, 1)
    max_cur = torch.amax(rows, 1)
    if self.min_val.numel() == 0:
        self.min_val = min_cur
        self.max_val = max_cur
    else:
        self.min_val = torch.min(min_cur, self.min_val)
        self.max_val = torch.max(max_cur, self.max_val)
    return x_orig

def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    min_neg = torch.min(self.min_val, torch.zeros_like(self.min_val))
    max_pos = torch.max(self.max_val, torch.zeros_like(self.max_val))
    max_abs = torch.max(-min_neg, max_pos)
    scale = max_abs / (float(self.quant_max - self.quant_min) / 2.0)
    scale = torch.clamp(scale, min=self.eps)
    zero_point = torch.zeros(scale.size(), dtype=4)
    return scale, zero_point
)JIT");
  return m;
}

}  // namespace llmc::quantize
