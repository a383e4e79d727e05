// The model loader recognises what a file is before LibTorch reads it.
#include <cstdlib>
#include <fstream>

#include "torch_doctest.h"

#include "llmc/model/load.h"
#include "llmc/util/error.h"
#include "test_support.h"

using llmc::model::FileKind;
using llmc::model::sniff_file;

using llmc::test::fixture;

TEST_CASE("sniff_file tells TorchScript from pickles, ONNX, junk and truncated archives") {
  llmc::test::TempDir dir;
  CHECK(sniff_file(fixture("bert_tiny.pt")) == FileKind::torchscript);
  CHECK(sniff_file(fixture("state_dict.pt")) == FileKind::torch_pickle_zip);
  CHECK(sniff_file(fixture("model.onnx")) == FileKind::onnx);
  CHECK(sniff_file(dir.write("legacy.pt", std::string("\x80\x02", 2) + "junk")) ==
        FileKind::torch_pickle_legacy);
  CHECK(sniff_file(dir.write("e.pt", "")) == FileKind::empty);
  CHECK(sniff_file(dir.write("j.pt", "hello world")) == FileKind::unknown);
  CHECK(sniff_file((dir.path() / "none.pt").string()) == FileKind::missing);
  CHECK(sniff_file(dir.path().string()) == FileKind::directory);
  const std::string whole = llmc::test::read_text(fixture("bert_tiny.pt"));
  CHECK(sniff_file(dir.write("cut.pt", whole.substr(0, whole.size() - 100))) ==
        FileKind::truncated_zip);
}

TEST_CASE("load throws InputError with a hint, save writes a loadable archive") {
  llmc::test::TempDir dir;
  try {
    llmc::model::load(fixture("state_dict.pt"));
    FAIL("expected InputError");
  } catch (const llmc::InputError& e) {
    CHECK(std::string(e.what()).find("torch.save") != std::string::npos);
    CHECK(e.hint().find("torch.jit.save") != std::string::npos);
    CHECK(e.exit_code() == llmc::ExitCode::input);
  }
  auto m = llmc::model::load(fixture("cnn_bn.pt"));
  const auto out = (dir.path() / "copy.pt").string();
  llmc::model::save(m, out);
  CHECK(sniff_file(out) == FileKind::torchscript);
  CHECK(llmc::model::load(out).named_parameters().size() == m.named_parameters().size());
}
