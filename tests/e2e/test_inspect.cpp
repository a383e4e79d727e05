// `llmc inspect` on fixtures, and the model loader's answers to files that are not TorchScript.
#include <fstream>

#include <doctest/doctest.h>

#include "cli.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::run_llmc;

TEST_CASE("inspect lists parameters with Hugging Face names, methods and forward ops") {
  const auto r = run_llmc({"inspect", fixture("bert_tiny.pt")});
  CHECK(r.code == 0);
  CHECK(r.out.find("training mode") != std::string::npos);
  CHECK(r.out.find("bert.encoder.layer.1.attention.self.query.weight") != std::string::npos);
  CHECK(r.out.find("forward(__torch__.") != std::string::npos);
  CHECK(r.out.find("aten::linear") != std::string::npos);
  CHECK(r.out.find("aten::dropout") != std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("inspect --json gives counts, bytes and dtypes") {
  const auto r = run_llmc({"inspect", "--json", fixture("cnn_bn.pt")});
  REQUIRE(r.code == 0);
  const auto j = llmc::util::parse_json(r.out);
  CHECK(j.at("training").as_bool());
  // conv 3->8 (216+8), bn 8 (8+8), conv 8->16 (1152+16), bn 16 (16+16), linear 16->5 (80+5)
  CHECK(j.at("parameter_count").as_int() == 216 + 8 + 16 + 1152 + 16 + 32 + 80 + 5);
  CHECK(j.at("parameter_bytes").as_int() == 4 * j.at("parameter_count").as_int());
  bool found_running_mean = false;
  for (const auto& b : j.at("buffers").as_array()) {
    if (b.at("name").as_string() == "1.running_mean") {
      found_running_mean = true;
      CHECK(b.at("dtype").as_string() == "Float");
      CHECK(b.at("numel").as_int() == 8);
    }
  }
  CHECK(found_running_mean);
  CHECK(j.at("forward_ops").at("aten::batch_norm").as_int() == 2);
}

TEST_CASE("files that are not TorchScript give exit 3 and say what they are") {
  llmc::test::TempDir dir;
  struct Case {
    std::string path;
    std::string expected;
  };
  std::ifstream whole(fixture("bert_tiny.pt"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  const Case cases[] = {
      {(dir.path() / "missing.pt").string(), "no such file"},
      {fixture("state_dict.pt"), "torch.save"},
      {fixture("model.onnx"), "an ONNX model"},
      {dir.write("random.pt", std::string(4096, '\x17')), "not a TorchScript archive"},
      {dir.write("truncated.pt", bytes.substr(0, bytes.size() / 2)), "truncated or corrupt"},
      {dir.write("empty.pt", ""), "an empty file"},
      {dir.path().string(), "a directory"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    const auto r = run_llmc({"inspect", c.path});
    CHECK(r.code == 3);
    CHECK(r.err.find("llmc: error: " + c.path + ": cannot load model") != std::string::npos);
    CHECK(r.err.find(c.expected) != std::string::npos);
    CHECK(r.out.empty());
  }
  const auto r = run_llmc({"inspect", fixture("state_dict.pt")});
  CHECK(r.err.find("llmc: hint: export a TorchScript model") != std::string::npos);
}

TEST_CASE("an archive damaged in the middle is an input error, not a crash") {
  llmc::test::TempDir dir;
  std::ifstream whole(fixture("bert_tiny.pt"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  for (size_t i = bytes.size() / 3; i < bytes.size() / 3 + 4096; ++i) bytes[i] = '\x5a';
  const auto r = run_llmc({"inspect", dir.write("damaged.pt", bytes)});
  CHECK(r.code == 3);
  CHECK(r.err.find("CRC-32") != std::string::npos);
}

TEST_CASE("usage errors exit 2") {
  CHECK(run_llmc({}).code == 2);
  CHECK(run_llmc({"frobnicate"}).code == 2);
  CHECK(run_llmc({"inspect"}).code == 2);
  const auto help = run_llmc({"--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("eval-freeze") != std::string::npos);
  const auto version = run_llmc({"--version"});
  CHECK(version.code == 0);
  CHECK(version.out.find("llmc 0.") != std::string::npos);
}
