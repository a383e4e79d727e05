// Observer modules for LibTorch's graph-mode quantization passes, written in TorchScript source
// so no Python is needed. What the 1.13 passes use of them: InsertObservers copies them into the
// model and calls forward; InsertQuantDeQuant reads the attributes `dtype` and `qscheme` and
// calls calculate_qparams() -> (scale, zero_point); an activation observer whose class name
// contains "PlaceholderObserver" and that has `compute_dtype` marks dynamic quantization.
#pragma once

#include <torch/script.h>

namespace llmc::quantize {

// Activations of dynamic quantization: quantized at run time, nothing observed.
torch::jit::Module dynamic_activation_observer();

// Weights: min/max, symmetric per-tensor qint8 in [-128, 127] (PyTorch's
// default_weight_observer).
torch::jit::Module weight_observer();

// Activations of static quantization: running min/max over the calibration batches, affine
// per-tensor quint8 in [0, 255] (PyTorch's MinMaxObserver without reduce_range, as onednn
// wants).
torch::jit::Module activation_minmax_observer();

// Activations of static quantization, robust to outliers: the range is the lowest and highest
// per-batch percentile (`percentile` and 100 - `percentile`, e.g. 99.99) seen in calibration,
// on at most 2^20 evenly strided values of each batch.
torch::jit::Module activation_percentile_observer(double percentile);

// Weights, one scale per output channel (axis 0): symmetric per-channel qint8.
torch::jit::Module weight_per_channel_observer();

}  // namespace llmc::quantize
