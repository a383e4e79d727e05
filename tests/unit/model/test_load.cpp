// The model loader recognises what a file is before LibTorch reads it, and refuses archives
// whose storage records are shorter than their tensors (issue 16, F3).
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include "torch_doctest.h"

#include "llmc/model/archive_check.h"
#include "llmc/model/load.h"
#include "llmc/util/error.h"
#include "llmc/util/process.h"
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

namespace {

// A TorchScript pickle of `value` as torch.jit.save writes data.pkl: storages by key "0", "1"...
std::string pickle_of(const c10::IValue& value) {
  std::string out;
  size_t storages = 0;
  torch::jit::Pickler pickler([&out](const char* b, size_t n) { out.append(b, n); }, nullptr,
                              nullptr, nullptr,
                              [&storages](const at::Tensor&) { return std::to_string(storages++); });
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  return out;
}

std::map<std::string, uint64_t> needs_of(const std::string& pickle) {
  std::map<std::string, uint64_t> out;
  for (const auto& n : llmc::model::storage_needs(pickle, "m.pt", "data.pkl")) out[n.key] = n.bytes;
  return out;
}

// Copies the archive `from` to `to` with record `name` (relative to the archive's directory) cut
// to `size` bytes, or left out when `size` is negative. CRCs stay valid: the writer computes them.
void rewrite_archive(const std::string& from, const std::string& to, const std::string& name,
                     long size) {
  caffe2::serialize::PyTorchStreamReader reader(from);
  caffe2::serialize::PyTorchStreamWriter writer(to);
  writer.setMinVersion(reader.version());
  for (const auto& record : reader.getAllRecords()) {
    if (record == "version" || record == ".data/version") continue;  // the writer adds it
    auto [data, n] = reader.getRecord(record);
    if (record == name) {
      if (size < 0) continue;
      n = std::min<size_t>(n, static_cast<size_t>(size));
    }
    writer.writeRecord(record, data.get(), n);
  }
  writer.writeEndOfFile();
}

}  // namespace

TEST_CASE("storage_needs: each storage's size and the furthest any tensor view reaches") {
  const auto floats = torch::arange(10, torch::kFloat);      // storage "0": 40 bytes
  const auto grid = torch::arange(12, torch::kLong).view({3, 4});  // storage "1": 96 bytes
  const auto big = torch::zeros({100}, torch::kFloat);       // storage "2": 400 bytes
  const auto needs = needs_of(pickle_of(c10::ivalue::Tuple::create(
      {floats.slice(0, 2, 5), grid.t(), big.narrow(0, 10, 5), floats})));
  CHECK(needs == std::map<std::string, uint64_t>{{"0", 40}, {"1", 96}, {"2", 400}});
  // An empty storage needs no record at all (LibTorch reads none).
  CHECK(needs_of(pickle_of(torch::zeros({0}))).empty());
}

TEST_CASE("storage_needs: quantized tensors and their per-channel scales and zero points") {
  const auto w = torch::randn({4, 3});
  const auto q = torch::quantize_per_channel(w, torch::full({4}, 0.1, torch::kDouble),
                                             torch::zeros({4}, torch::kLong), 0, torch::kQInt8);
  const auto needs = needs_of(pickle_of(q));
  // The int8 storage (12 bytes), the scales (4 doubles) and zero points (4 int64s).
  REQUIRE(needs.size() == 3);
  std::multiset<uint64_t> sizes;
  for (const auto& [key, bytes] : needs) sizes.insert(bytes);
  CHECK(sizes == std::multiset<uint64_t>{12, 32, 32});
}

TEST_CASE("storage_needs refuses a tensor reaching past its storage and malformed pickles") {
  auto t = torch::zeros({4});
  t.unsafeGetTensorImpl()->set_sizes_and_strides(c10::IntArrayRef{8}, c10::IntArrayRef{1});  // a crafted view: 8 of 4 elements
  try {
    needs_of(pickle_of(t));
    FAIL("expected InputError");
  } catch (const llmc::InputError& e) {
    CHECK(std::string(e.what()) ==
          "m.pt: cannot load model: data.pkl holds a Float tensor of sizes [8] and strides [1] at "
          "offset 0 reaching past the end of its storage (record 0, 16 bytes)");
  }
  std::string cut = pickle_of(torch::zeros({4}));
  cut.resize(cut.size() / 2);
  CHECK_THROWS_AS(needs_of(cut), llmc::InputError);
  CHECK_THROWS_AS(needs_of("junk"), llmc::InputError);
  CHECK_THROWS_AS(needs_of(std::string("\x80\x02\xff", 3)), llmc::InputError);
}

TEST_CASE("load refuses a storage record shorter than its tensors, or missing, naming both") {
  llmc::test::TempDir dir;
  const auto short_record = (dir.path() / "short.pt").string();
  rewrite_archive(fixture("bert_tiny.pt"), short_record, "data/1", 1000);  // 256000 bytes
  // Not a broken zip: the CRCs match, sniff_file sees a TorchScript archive.
  CHECK(sniff_file(short_record) == FileKind::torchscript);
  try {
    llmc::model::load(short_record);
    FAIL("expected InputError");
  } catch (const llmc::InputError& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.rfind(short_record + ": cannot load model: storage record short/data/1 holds 1000 "
                                    "bytes, but short/data.pkl needs 256000 bytes of it",
                     0) == 0);
    CHECK(e.exit_code() == llmc::ExitCode::input);
  }
  const auto missing = (dir.path() / "missing.pt").string();
  rewrite_archive(fixture("hf_bert_traced.pt"), missing, "constants/0", -1);
  try {
    llmc::model::load(missing);
    FAIL("expected InputError");
  } catch (const llmc::InputError& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("storage record missing/constants/0 is missing (missing/constants.pkl "
                    "references it") != std::string::npos);
  }
  // Untouched copies load.
  const auto same = (dir.path() / "same.pt").string();
  rewrite_archive(fixture("bert_tiny.pt"), same, "", 0);
  CHECK_NOTHROW(llmc::model::load(same));
}

TEST_CASE("check_storage_records accepts every fixture archive") {
  for (const char* name : {"bert_tiny.pt", "bert_tiny_traced.pt", "cnn_bn.pt", "export_lstm.pt",
                           "export_lstm_traced.pt", "hf_bert_traced.pt", "hf_gpt2_scripted.pt",
                           "hf_llama_sdpa.pt", "hf_distilbert_sdpa.pt", "lm_teacher.pt"}) {
    CAPTURE(name);
    CHECK_NOTHROW(llmc::model::check_storage_records(fixture(name)));
  }
}

TEST_CASE("an archive without its version record is incomplete, not one of a newer PyTorch") {
  using llmc::model::load_failure_hint;
  const std::string missing = "PytorchStreamReader failed locating file version: file not found";
  CHECK(load_failure_hint(missing).find("newer PyTorch") == std::string::npos);
  CHECK(load_failure_hint(missing).find("not written by torch.jit.save") != std::string::npos);
  CHECK(load_failure_hint("Attempted to read a PyTorch file with version 10, but the maximum "
                          "supported version for reading is 7.")
            .find("written by a newer PyTorch") != std::string::npos);
  CHECK(load_failure_hint("the word version in another message") == llmc::model::export_hint());

  // A real archive: the version records dropped, every CRC valid.
  llmc::test::TempDir dir;
  const auto path = (dir.path() / "noversion.pt").string();
  const auto r = llmc::util::run_process(
      {"/usr/bin/python3", "-c",
       "import sys, zipfile\n"
       "with zipfile.ZipFile(sys.argv[1]) as zin, zipfile.ZipFile(sys.argv[2], 'w') as zout:\n"
       "    for info in zin.infolist():\n"
       "        if not info.filename.endswith('/version'):\n"
       "            zout.writestr(info, zin.read(info))\n",
       fixture("cnn_bn.pt"), path});
  REQUIRE(r.exit_code == 0);
  try {
    llmc::model::load(path);
    FAIL("expected InputError");
  } catch (const llmc::InputError& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("version") != std::string::npos);
    CHECK(e.hint().find("newer PyTorch") == std::string::npos);
    CHECK(e.hint().find("torch.jit.save") != std::string::npos);
  }
}
