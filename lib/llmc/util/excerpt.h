// Bounded echoes of user input in messages: a value quoted back in an error (an 8 MB YAML
// scalar, a JSON value) is cut to its beginning plus its length, and a list of errors to its
// first entries, so that no error grows with the input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llmc::util {

// The longest echo of a value in a message, in bytes.
inline constexpr size_t kMaxEcho = 80;
// The most errors listed at once; the rest are counted ("… and 2987 more").
inline constexpr size_t kMaxListedErrors = 50;

// `text` on one line (newlines, tabs and other control characters escaped: \n, \t, \x01) when
// it has at most `max_bytes` bytes, else its first `max_bytes` bytes (not cutting a UTF-8
// sequence), escaped, followed by "… (N bytes)".
std::string excerpt(std::string_view text, size_t max_bytes = kMaxEcho);

}  // namespace llmc::util
