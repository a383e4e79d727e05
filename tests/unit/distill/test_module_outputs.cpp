// The module-outputs pass on Hugging Face layouts, traced and scripted: each extra output equals
// what the submodule's own forward returns when called separately on the same input, the
// model's own output is unchanged, the variant shares (and trains) the original's tensors, and
// a name that does not exist lists the nearest ones that do.
#include "llmc/distill/module_outputs.h"

#include "torch_doctest.h"

#include "llmc/model/load.h"
#include "test_support.h"

using llmc::distill::ModuleOutputError;
using llmc::distill::nearest_names;
using llmc::distill::with_module_outputs;
using llmc::test::fixture;

namespace {

torch::jit::Module sub(const torch::jit::Module& m, const std::string& dotted) {
  torch::jit::Module cur = m;
  std::string part;
  std::istringstream in(dotted);
  while (std::getline(in, part, '.')) cur = cur.attr(part).toModule();
  return cur;
}

std::vector<c10::IValue> batch() {
  const auto ids = torch::tensor({{101, 7, 42, 9, 102}, {101, 300, 102, 0, 0}}, at::kLong);
  const auto mask = torch::tensor({{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}, at::kLong);
  return {ids, mask};
}

std::vector<at::Tensor> elements(const c10::IValue& out) {
  std::vector<at::Tensor> v;
  for (const auto& e : out.toTupleRef().elements()) v.push_back(e.toTensor());
  return v;
}

}  // namespace

TEST_CASE("module outputs of BERT equal the layers' own forward, traced and scripted") {
  for (const char* name : {"hf_bert_traced.pt", "hf_bert_scripted.pt"}) {
    CAPTURE(name);
    torch::jit::Module m = llmc::model::load(fixture(name));
    m.eval();
    const auto in = batch();
    const at::Tensor own = m.forward(in).toTensor();
    // The encoder and a layer inside it: exposing the layer inlines the encoder's call, whose
    // output was exposed first.
    torch::jit::Module v = with_module_outputs(
        m, {"bert.embeddings", "bert.encoder", "bert.encoder.layer.0", "bert.encoder.layer.1"});
    v.eval();
    const auto out = elements(v.forward(in));
    REQUIRE(out.size() == 5);
    CHECK(torch::allclose(out[0], own));
    // BertModel's extended mask, then each layer called on its own.
    const at::Tensor ext =
        (1.0 - in[1].toTensor().index({torch::indexing::Slice(), torch::indexing::None,
                                       torch::indexing::None, torch::indexing::Slice()})
                   .to(at::kFloat)) *
        -3.4028234663852886e38;
    const at::Tensor l0 =
        sub(m, "bert.encoder.layer.0").forward({out[1], ext}).toTensor();
    const at::Tensor l1 = sub(m, "bert.encoder.layer.1").forward({l0, ext}).toTensor();
    CHECK(out[3].sizes() == at::IntArrayRef{2, 5, 64});
    CHECK(torch::allclose(out[3], l0, 1e-5, 1e-6));
    CHECK(torch::allclose(out[4], l1, 1e-5, 1e-6));
    CHECK(torch::allclose(out[2], l1, 1e-5, 1e-6));  // the encoder returns the last layer's
    // The original keeps its interface.
    CHECK(m.forward(in).isTensor());
    CHECK(m.get_method("forward").function().getSchema().returns().size() == 1);
  }
}

TEST_CASE("module outputs of DistilBERT, traced and scripted") {
  for (const char* name : {"hf_distilbert_traced.pt", "hf_distilbert_scripted.pt"}) {
    CAPTURE(name);
    torch::jit::Module m = llmc::model::load(fixture(name));
    m.eval();
    const auto in = batch();
    torch::jit::Module v = with_module_outputs(
        m, {"distilbert.transformer.layer.1", "distilbert.embeddings",
            "distilbert.transformer.layer.0"});
    v.eval();
    const auto out = elements(v.forward(in));
    REQUIRE(out.size() == 4);
    CHECK(torch::allclose(out[0], m.forward(in).toTensor()));
    const at::Tensor l0 =
        sub(m, "distilbert.transformer.layer.0").forward({out[2], in[1]}).toTensor();
    const at::Tensor l1 =
        sub(m, "distilbert.transformer.layer.1").forward({l0, in[1]}).toTensor();
    CHECK(torch::allclose(out[3], l0, 1e-5, 1e-6));
    CHECK(torch::allclose(out[1], l1, 1e-5, 1e-6));
  }
}

TEST_CASE("the variant shares the original's parameters, and gradients reach them") {
  torch::jit::Module m = llmc::model::load(fixture("hf_bert_scripted.pt"));
  torch::jit::Module v = with_module_outputs(m, {"bert.encoder.layer.0"});
  const at::Tensor w = sub(m, "bert.encoder.layer.0").attr("output").toModule()
                           .attr("dense").toModule().attr("weight").toTensor();
  const at::Tensor vw = sub(v, "bert.encoder.layer.0").attr("output").toModule()
                            .attr("dense").toModule().attr("weight").toTensor();
  CHECK(w.data_ptr() == vw.data_ptr());
  for (const auto& p : m.parameters()) p.set_requires_grad(true);
  v.train();
  const auto out = elements(v.forward(batch()));
  out[1].pow(2).mean().backward();  // the layer's output alone
  REQUIRE(w.grad().defined());
  CHECK(w.grad().abs().sum().item<double>() > 0);
  // The classifier is after the layer: no gradient from the layer's output.
  const at::Tensor head = m.attr("classifier").toModule().attr("weight").toTensor();
  CHECK((!head.grad().defined() || head.grad().abs().sum().item<double>() == 0));
}

TEST_CASE("a module that does not exist lists the nearest that do; one never called is refused") {
  const torch::jit::Module m = llmc::model::load(fixture("hf_bert_traced.pt"));
  try {
    with_module_outputs(m, {"bert.encoder.layer.11"});
    FAIL("expected ModuleOutputError");
  } catch (const ModuleOutputError& e) {
    CHECK(e.kind == ModuleOutputError::Kind::missing);
    CHECK(e.path == "bert.encoder.layer.11");
    REQUIRE(e.candidates.size() == 8);
    CHECK(e.candidates[0] == "bert.encoder.layer.1");
    CHECK(e.candidates[1] == "bert.encoder.layer.0");
  }
  // The ModuleList itself is a module but nothing calls its forward.
  try {
    with_module_outputs(m, {"bert.encoder.layer"});
    FAIL("expected ModuleOutputError");
  } catch (const ModuleOutputError& e) {
    CHECK(e.kind == ModuleOutputError::Kind::not_called);
    CHECK(llmc::test::has(e.what(), "bert.encoder.layer exists but"));
  }
  CHECK(nearest_names("encoder", {"decoder", "a.b", "encoder"}, 2) ==
        std::vector<std::string>{"encoder", "decoder"});
}
