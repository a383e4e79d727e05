// The doctest main of the end-to-end suite: every test runs the built llmc binary.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
