// export-onnx's pieces on graphs written by hand: the annotation's static/dynamic split, If
// inlining, the lowering of sizes on fixed vs dynamic axes, and ModelBuilder's storage rules.
#include <fstream>
#include <map>

#include <torch/csrc/jit/ir/irparser.h>

#include "test_support.h"
#include "torch_doctest.h"

#include "llmc/onnx/annotate.h"
#include "llmc/onnx/lower.h"
#include "llmc/onnx/model_builder.h"
#include "llmc/onnx/save.h"
#include "llmc/onnx/validate.h"
#include "llmc/util/error.h"

namespace {

std::shared_ptr<torch::jit::Graph> parse(const std::string& ir) {
  auto g = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(ir, g.get());
  return g;
}

const torch::jit::Value* find_output(const torch::jit::Graph& g, const std::string& kind, int nth = 0) {
  for (const auto* n : g.nodes()) {
    if (n->kind().toQualString() == kind && nth-- == 0) return n->output();
  }
  FAIL("no node " << kind);
  return nullptr;
}

const char* kReshapeIR = R"IR(
graph(%x : Tensor):
  %0 : int = prim::Constant[value=0]()
  %1 : int = prim::Constant[value=1]()
  %b : int = aten::size(%x, %0)
  %h : int = aten::size(%x, %1)
  %s : int = aten::mul(%b, %h)
  %l : int[] = prim::ListConstruct(%s)
  %y : Tensor = aten::reshape(%x, %l)
  return (%y)
)IR";

}  // namespace

TEST_CASE("annotate: a size on a dynamic axis is dynamic, one on a fixed axis folds") {
  auto g = parse(kReshapeIR);
  const auto ann = llmc::onnx::annotate(*g, {at::randn({2, 3})}, {at::randn({5, 3})}, "m.pt");
  const auto* b = find_output(*g, "aten::size", 0);
  const auto* h = find_output(*g, "aten::size", 1);
  CHECK(ann.at(b).dynamic);
  CHECK(ann.at(b).a.toInt() == 2);
  CHECK(ann.at(b).b.toInt() == 5);
  CHECK_FALSE(ann.at(h).dynamic);
  CHECK_FALSE(ann.at(h).data);  // shapes, not data
  CHECK(ann.at(find_output(*g, "aten::mul")).dynamic);
  CHECK(llmc::onnx::merged_sizes(ann.at(find_output(*g, "aten::reshape"))) ==
        std::vector<int64_t>{-1});
}

TEST_CASE("annotate: an if on a static condition is inlined, one on input data is refused") {
  auto g = parse(R"IR(
graph(%x : Tensor):
  %two : int = prim::Constant[value=2]()
  %d : int = aten::dim(%x)
  %c : bool = aten::eq(%d, %two)
  %y : Tensor = prim::If(%c)
    block0():
      %t : Tensor = aten::relu(%x)
      -> (%t)
    block1():
      %u : Tensor = aten::neg(%x)
      -> (%u)
  return (%y)
)IR");
  llmc::onnx::annotate(*g, {at::randn({2, 3})}, {at::randn({5, 3})}, "m.pt");
  int ifs = 0, relus = 0, negs = 0;
  for (const auto* n : g->nodes()) {
    ifs += n->kind() == c10::prim::If;
    relus += n->kind() == c10::aten::relu;
    negs += n->kind() == c10::aten::neg;
  }
  CHECK(ifs == 0);
  CHECK(relus == 1);
  CHECK(negs == 0);

  auto data_if = parse(R"IR(
graph(%x : Tensor):
  %none : NoneType = prim::Constant()
  %s : Tensor = aten::sum(%x, %none)
  %c : bool = aten::Bool(%s)
  %y : Tensor = prim::If(%c)
    block0():
      %t : Tensor = aten::relu(%x)
      -> (%t)
    block1():
      -> (%x)
  return (%y)
)IR");
  try {
    llmc::onnx::annotate(*data_if, {at::ones({2, 3})}, {at::ones({5, 3})}, "m.pt");
    FAIL("expected an InputError");
  } catch (const llmc::InputError& e) {
    CHECK(std::string(e.what()).find("data-dependent control flow") != std::string::npos);
  }
}

TEST_CASE("lower: sizes on dynamic axes are computed in the graph, fixed ones are constants") {
  auto g = parse(kReshapeIR);
  const auto ann = llmc::onnx::annotate(*g, {at::randn({2, 3})}, {at::randn({5, 3})}, "m.pt");
  llmc::onnx::PreparedGraph prepared;
  prepared.graph = g;
  prepared.input_names = {"x"};
  llmc::onnx::ExportOptions options;
  options.dynamic_axes["x"] = {"batch"};
  auto lowered = llmc::onnx::lower_graph(prepared, ann, options, "m.pt");
  CHECK(lowered.op_histogram.at("Shape") == 1);   // only the batch size is read at run time
  CHECK(lowered.op_histogram.at("Gather") == 1);
  CHECK(lowered.op_histogram.at("Mul") == 1);     // batch * 3
  CHECK(lowered.op_histogram.at("Reshape") == 1);
  CHECK(lowered.inputs.at(0).dims == std::vector<std::string>{"batch", "3"});
  CHECK(lowered.outputs.at(0).dims == std::vector<std::string>{"output_dim0"});
  CHECK(llmc::onnx::validate(lowered.model).checker == "passed");
}

TEST_CASE("lower: rsqrt is written as 1 / Sqrt, the spelling ONNX Runtime's RMSNorm fusion matches") {
  // LLaMA's RMSNorm, x * rsqrt(mean(x^2) + eps) * w: SimplifiedLayerNormFusion looks for Pow,
  // ReduceMean, Add, Sqrt, Div, Mul (tests/bench/ort_fusions.cjs shows it firing).
  auto g = parse(R"IR(
graph(%x : Tensor):
  %0 : Tensor = aten::rsqrt(%x)
  return (%0)
)IR");
  const auto ann = llmc::onnx::annotate(*g, {at::rand({2, 3}) + 1}, {at::rand({4, 3}) + 1}, "m.pt");
  llmc::onnx::PreparedGraph prepared;
  prepared.graph = g;
  prepared.input_names = {"x"};
  auto lowered = llmc::onnx::lower_graph(prepared, ann, llmc::onnx::ExportOptions{}, "m.pt");
  CHECK(lowered.op_histogram.at("Sqrt") == 1);
  CHECK(lowered.op_histogram.at("Div") == 1);
  CHECK(lowered.op_histogram.count("Reciprocal") == 0);
  CHECK(llmc::onnx::validate(lowered.model).checker == "passed");
}

TEST_CASE("lower: every op without a lowering is listed at once") {
  auto g = parse(R"IR(
graph(%x : Tensor):
  %1 : int = prim::Constant[value=1]()
  %none : NoneType = prim::Constant()
  %a : Tensor = aten::cumprod(%x, %1, %none)
  %l : int[] = prim::ListConstruct(%1)
  %b : Tensor = aten::flip(%a, %l)
  return (%b)
)IR");
  const auto ann = llmc::onnx::annotate(*g, {at::randn({2, 3})}, {at::randn({5, 3})}, "m.pt");
  llmc::onnx::PreparedGraph prepared;
  prepared.graph = g;
  prepared.input_names = {"x"};
  try {
    llmc::onnx::lower_graph(prepared, ann, {}, "m.pt");
    FAIL("expected UnsupportedOp");
  } catch (const llmc::UnsupportedOp& e) {
    const std::string what = e.what();
    CHECK(what.find("aten::cumprod") != std::string::npos);
    CHECK(what.find("aten::flip") != std::string::npos);
    CHECK(what.find("2 operators") != std::string::npos);
  }
}

TEST_CASE("ModelBuilder: a tensor is stored once; distinct tensors never share a name") {
  llmc::onnx::ModelBuilder b(17);
  const at::Tensor w = at::randn({4, 3});
  const std::string n1 = b.initializer(w, "w");
  CHECK(b.initializer(w, "w_again") == n1);
  CHECK(b.initializer(w.t(), "wt") != n1);  // same storage, other strides: another tensor
  // Temporaries freed between calls cannot alias an earlier entry.
  std::set<std::string> names;
  for (int i = 0; i < 8; ++i) names.insert(b.initializer(at::full({4, 3}, double(i)), "tmp"));
  CHECK(names.size() == 8);
  CHECK(b.scalar_i64(7) == b.scalar_i64(7));
  CHECK(b.scalar(0.5, at::kFloat) != b.scalar(0.5, at::kDouble));
  CHECK(b.graph().initializer_size() == 2 + 8 + 3);  // w, w.t(), 8 temporaries, 3 constants
}

TEST_CASE("save_model: the weights are written from their tensors, inline and as external data") {
  llmc::onnx::ModelBuilder b(17);
  const at::Tensor w = at::arange(600, at::kFloat).reshape({200, 3});  // 2 400 bytes: deferred
  const std::string wt = b.initializer(w.t(), "w.T");                 // a view, laid out on write
  const std::string small = b.initializer(at::ones({3}), "bias");      // 12 bytes: inline now
  b.input("x", at::kFloat, {-1, 200}, {"batch", ""});
  const std::string y = b.node1("MatMul", {"x", b.node1("Transpose", {wt})});
  b.node_named("Add", {y, small}, {"y"});
  b.output("y", at::kFloat, {-1, 3}, {"batch", ""});
  REQUIRE(b.tensor_data().count(wt) == 1);
  CHECK(b.graph().initializer(0).raw_data().size() == 1);  // the placeholder byte
  CHECK(llmc::onnx::validate(b.model()).checker == "passed");
  const std::string expected(static_cast<const char*>(w.t().contiguous().data_ptr()), 2400);

  llmc::test::TempDir dir;
  for (const auto mode : {llmc::onnx::ExternalData::never, llmc::onnx::ExternalData::always}) {
    CAPTURE(static_cast<int>(mode));
    const std::string path =
        (dir.path() / (mode == llmc::onnx::ExternalData::never ? "a.onnx" : "b.onnx")).string();
    const auto saved = llmc::onnx::save_model(b.model(), b.tensor_data(), path, mode, 2412);
    ::onnx::ModelProto back;
    std::ifstream in(path, std::ios::binary);
    REQUIRE(back.ParseFromIstream(&in));
    CHECK(back.producer_name() == "llmc");
    CHECK(back.graph().node_size() == 3);
    CHECK(back.graph().output(0).name() == "y");
    REQUIRE(back.graph().initializer_size() == 2);
    std::map<std::string, const ::onnx::TensorProto*> by_name;
    for (const auto& init : back.graph().initializer()) by_name[init.name()] = &init;
    const auto& weight = *by_name.at(wt);
    CHECK(weight.dims(0) == 3);
    CHECK(weight.dims(1) == 200);
    CHECK(by_name.at(small)->raw_data().size() == 12);
    if (mode == llmc::onnx::ExternalData::never) {
      CHECK(saved.data_path.empty());
      CHECK(weight.raw_data() == expected);
    } else {
      CHECK(weight.raw_data().empty());
      CHECK(weight.data_location() == ::onnx::TensorProto::EXTERNAL);
      REQUIRE(!saved.data_path.empty());
      const std::string data = llmc::test::read_text(saved.data_path);
      CHECK(data.size() == 2400);
      CHECK(data == expected);
    }
  }
}
