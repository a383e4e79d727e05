// The contract of llmc's graph passes (one pass a file in passes/, run in the order
// pipelines.cpp lists).
//
// A pass is a function over a torch::jit::Graph or a torch::jit::Module that rewrites it in
// place and returns a PassResult: what it changed, counted (`changed`, and where when the pass
// can name it, `sites`), and what it looked at but left alone, each with the reason (`left`).
// A pass that needs to say more (the divisors it folded, the bytes an embedding table saved,
// an LSTM's shape) returns a struct deriving from PassResult that adds only that payload.
//
// - Idempotent: run a second time on its own output, a pass changes nothing (changed == 0).
// - Silent: a pass never logs a warning or writes a report; its caller maps the result to the
//   report's details and to warnings (report/pass_details.h), so the same keys and messages
//   come out whichever subcommand runs it. describe() is the one-line form for the debug log.
// - Walks: a pass that rewrites as it walks keeps its own loop over a block's nodes; a walk
//   that only reads uses model::graph_nodes (LibTorch's DepthFirstGraphNodeIterator).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torch::jit {
struct Node;
}  // namespace torch::jit

namespace llmc::passes {

// Something a pass looked at and did not rewrite: where (a module name, a constant's name, a
// source location with the op) and why.
struct LeftAlone {
  std::string site;
  std::string reason;
};

struct PassResult {
  int64_t changed = 0;             // rewrites made (nodes, expressions, layers, tensors …)
  std::vector<std::string> sites;  // where, for the passes that name them (may be empty)
  std::vector<LeftAlone> left;     // candidates left as they were, with the reason

  int64_t left_count() const { return static_cast<int64_t>(left.size()); }
  // How many of `left` were left for `reason`.
  int64_t left_count(const std::string& reason) const;
  // Adds `other`'s counts and lists to this one (a module pass summing its graphs).
  PassResult& operator+=(const PassResult& other);
};

// "name: 3 changed, 1 left alone (site: reason)" — one line for the debug log.
std::string describe(const std::string& name, const PassResult& result);

// A node's place for `sites` and `left`: "file.py:12 aten::dropout" when the graph kept its
// source, else the op alone.
std::string node_site(const torch::jit::Node* node);

}  // namespace llmc::passes
