// Precompiled header of the LibTorch half (meson cpp_pch): LibTorch's headers are most of every
// translation unit's compile time.
#include <torch/script.h>
