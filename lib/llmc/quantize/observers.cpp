#include "llmc/quantize/observers.h"

#include <limits>
#include <string>

namespace llmc::quantize {

namespace {

// The pieces observers share. dtype=4 is torch.int64: dtype names do not resolve in C++
// define().
constexpr const char* kMinMaxForward = R"JIT(
def forward(self, x_orig: Tensor) -> Tensor:
    if x_orig.numel() == 0:
        return x_orig
    x = x_orig.detach().to(self.min_val.dtype)
    min_cur, max_cur = torch.aminmax(x)
    self.min_val.copy_(torch.min(min_cur, self.min_val))
    self.max_val.copy_(torch.max(max_cur, self.max_val))
    return x_orig
)JIT";

// Symmetric: scale from the largest magnitude, zero point 0 (per tensor or per channel).
constexpr const char* kSymmetricQParams = R"JIT(
def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    min_neg = torch.min(self.min_val, torch.zeros_like(self.min_val))
    max_pos = torch.max(self.max_val, torch.zeros_like(self.max_val))
    max_abs = torch.max(-min_neg, max_pos)
    scale = max_abs / (float(self.quant_max - self.quant_min) / 2.0)
    scale = torch.clamp(scale, min=self.eps).reshape([-1])
    zero_point = torch.zeros(scale.size(), dtype=4)
    return scale, zero_point
)JIT";

// Affine: the range [min, max] (widened to include 0) mapped onto [quant_min, quant_max].
constexpr const char* kAffineQParams = R"JIT(
def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    min_neg = torch.min(self.min_val, torch.zeros_like(self.min_val))
    max_pos = torch.max(self.max_val, torch.zeros_like(self.max_val))
    scale = (max_pos - min_neg) / float(self.quant_max - self.quant_min)
    scale = torch.clamp(scale, min=self.eps).reshape([1])
    zero_point = self.quant_min - torch.round(min_neg / scale)
    zero_point = torch.clamp(zero_point, self.quant_min, self.quant_max).to(4).reshape([1])
    return scale, zero_point
)JIT";

// A range observer: the attributes the passes read, the quantization range, and min/max state
// (scalars, or empty tensors that the first batch sizes per channel).
torch::jit::Module range_observer(const std::string& name, at::ScalarType dtype,
                                  at::QScheme qscheme, int64_t quant_min, int64_t quant_max,
                                  bool per_channel) {
  torch::jit::Module m("__torch__.llmc.quantize." + name);
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(dtype));
  m.register_attribute("qscheme", c10::IntType::get(), static_cast<int64_t>(qscheme));
  m.register_attribute("quant_min", c10::IntType::get(), quant_min);
  m.register_attribute("quant_max", c10::IntType::get(), quant_max);
  m.register_attribute("eps", c10::FloatType::get(),
                       static_cast<double>(std::numeric_limits<float>::epsilon()));
  if (per_channel) {
    m.register_attribute("ch_axis", c10::IntType::get(), int64_t{0});
    m.register_buffer("min_val", torch::empty({0}));
    m.register_buffer("max_val", torch::empty({0}));
  } else {
    m.register_buffer("min_val", torch::tensor(std::numeric_limits<float>::infinity()));
    m.register_buffer("max_val", torch::tensor(-std::numeric_limits<float>::infinity()));
  }
  return m;
}

}  // namespace

torch::jit::Module dynamic_activation_observer() {
  // The passes recognise a placeholder observer by this class name, and dynamic quantization
  // by the presence of `compute_dtype`.
  torch::jit::Module m("__torch__.llmc.quantize.PlaceholderObserver");
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("compute_dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("qscheme", c10::IntType::get(),
                       static_cast<int64_t>(at::kPerTensorAffine));
  // calculate_qparams is never called for a placeholder; it must exist and type-check.
  m.define(R"JIT(
def forward(self, x: Tensor) -> Tensor:
    return x

def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    return torch.ones([1]), torch.zeros([1], dtype=4)
)JIT");
  return m;
}

torch::jit::Module weight_observer() {
  torch::jit::Module m =
      range_observer("MinMaxObserver", at::kQInt8, at::kPerTensorSymmetric, -128, 127, false);
  m.define(std::string(kMinMaxForward) + kSymmetricQParams);
  return m;
}

torch::jit::Module activation_minmax_observer() {
  torch::jit::Module m = range_observer("ActivationMinMaxObserver", at::kQUInt8,
                                        at::kPerTensorAffine, 0, 255, false);
  m.define(std::string(kMinMaxForward) + kAffineQParams);
  return m;
}

torch::jit::Module activation_percentile_observer(double percentile) {
  torch::jit::Module m = range_observer("ActivationPercentileObserver", at::kQUInt8,
                                        at::kPerTensorAffine, 0, 255, false);
  m.register_attribute("upper_q", c10::FloatType::get(), percentile / 100.0);
  m.define(std::string(R"JIT(
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
)JIT") + kAffineQParams);
  return m;
}

torch::jit::Module weight_per_channel_observer() {
  torch::jit::Module m = range_observer("PerChannelMinMaxObserver", at::kQInt8,
                                        at::kPerChannelSymmetric, -128, 127, true);
  m.define(std::string(R"JIT(
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
)JIT") + kSymmetricQParams);
  return m;
}

}  // namespace llmc::quantize
