// Raw text to token ids with a SentencePiece model (Debian's libsentencepiece), for data files
// that carry text instead of input_ids.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace llmc::data {

class Tokenizer {
 public:
  // InputError naming `path` when it is not a SentencePiece model.
  explicit Tokenizer(const std::string& path);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text`, with the model's BOS id first when `add_bos` and the model has one.
  std::vector<int> encode(const std::string& text, bool add_bos) const;
  int vocab_size() const;
  int pad_id() const;  // -1 when the model defines none
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace llmc::data
