// doctest for test files that use LibTorch. LibTorch's headers bring in glog, whose CHECK macros
// abort the process; include LibTorch first, drop glog's macros, then doctest's take their
// names. Include this instead of <doctest/doctest.h> wherever a LibTorch header is used.
#pragma once

#include <torch/script.h>

#undef CHECK
#undef CHECK_EQ
#undef CHECK_NE
#undef CHECK_LT
#undef CHECK_LE
#undef CHECK_GT
#undef CHECK_GE
#undef CHECK_NOTNULL

#include <doctest/doctest.h>
