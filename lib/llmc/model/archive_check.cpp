#include "llmc/model/archive_check.h"

#include <map>
#include <memory>
#include <optional>

#include <c10/core/QScheme.h>
#include <c10/core/ScalarType.h>
#include <fmt/format.h>

#include "llmc/model/pickle_opcodes.h"
#include "llmc/model/zip_directory.h"
#include "llmc/util/error.h"

namespace llmc::model {

namespace {

// What the walk keeps of a pickled value: integers (also the indices of globals and the scalar
// types of storages, as LibTorch's Unpickler keeps them), strings, tuples and tensors with the
// storage they view. Everything else (lists, dicts, objects, floats) is `other`.
struct Value {
  enum class Kind { integer, string, tuple, tensor, other };
  Kind kind = Kind::other;
  int64_t i = 0;  // integer; tensor: index of its storage, -1 when not from a storage record
  std::string s;
  std::shared_ptr<const std::vector<Value>> items;  // tuple
};

// What REDUCE and BUILD do with their argument, per GLOBAL (LibTorch's Unpickler::readGlobal).
enum class Global {
  rebuild_tensor,     // torch._utils._rebuild_tensor_v2
  rebuild_qtensor,    // torch._utils._rebuild_qtensor
  to_tensor,          // sparse tensors and tensor-table references: a tensor of no record
  first_element,      // torch.jit._pickle.build_*list, restore_type_tag: the tuple's first item
  keep,               // __main__.IntList: retags the list on top, pops nothing
  replace,            // objects, enums, torch.device, complex, OrderedDict: one value for one
};

struct Storage {
  std::string key;
  c10::ScalarType type = c10::ScalarType::Undefined;
  uint64_t bytes = 0;  // numel x element size
};

std::optional<c10::ScalarType> storage_type(const std::string& class_name) {
#define LLMC_STORAGE_TYPE(_, name) \
  if (class_name == #name "Storage") return c10::ScalarType::name;
  AT_FORALL_SCALAR_TYPES_WITH_COMPLEX_AND_QINTS(LLMC_STORAGE_TYPE)
#undef LLMC_STORAGE_TYPE
  return std::nullopt;
}

bool known_storage_type(int64_t code) {
#define LLMC_STORAGE_CODE(_, name) \
  if (code == static_cast<int64_t>(c10::ScalarType::name)) return true;
  AT_FORALL_SCALAR_TYPES_WITH_COMPLEX_AND_QINTS(LLMC_STORAGE_CODE)
#undef LLMC_STORAGE_CODE
  return false;
}

std::string ints(const std::vector<int64_t>& v) {
  return "[" + fmt::format("{}", fmt::join(v, ", ")) + "]";
}

// A walk over one pickle with the opcodes, stack, memo and globals of LibTorch's Unpickler,
// recording what each storage and tensor needs instead of building them.
class Walk {
 public:
  Walk(const std::string& bytes, const std::string& path, const std::string& label)
      : bytes_(bytes), path_(path), label_(label) {}

  std::map<std::string, StorageNeed> run() {
    if (byte() != static_cast<uint8_t>(PickleOpCode::PROTO) || byte() != 2) {
      malformed("it does not start as a protocol-2 pickle");
    }
    while (step()) {
    }
    return needs_;
  }

 private:
  [[noreturn]] void malformed(const std::string& why) const {
    throw InputError(path_, fmt::format("cannot load model: {} is malformed at byte {}: {}",
                                        label_, at_, why));
  }

  uint8_t byte() {
    if (at_ >= bytes_.size()) malformed("it ends before its STOP opcode");
    return static_cast<uint8_t>(bytes_[at_++]);
  }
  uint64_t le(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(byte()) << (8 * i);
    return v;
  }
  std::string take(uint64_t n) {
    if (n > bytes_.size() - at_) malformed("a string runs past the end");
    std::string s = bytes_.substr(at_, n);
    at_ += n;
    return s;
  }
  std::string line() {
    const size_t end = bytes_.find('\n', at_);
    if (end == std::string::npos) malformed("a GLOBAL name has no end");
    std::string s = bytes_.substr(at_, end - at_);
    at_ = end + 1;
    return s;
  }

  Value pop() {
    if (stack_.empty()) malformed("the stack is empty");
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  size_t pop_mark() {
    if (marks_.empty() || marks_.back() > stack_.size()) malformed("a MARK is missing");
    const size_t start = marks_.back();
    marks_.pop_back();
    return start;
  }
  void push_int(int64_t i) {
    Value v;
    v.kind = Value::Kind::integer;
    v.i = i;
    stack_.push_back(std::move(v));
  }
  void push_tuple(std::vector<Value> items) {
    Value v;
    v.kind = Value::Kind::tuple;
    v.items = std::make_shared<const std::vector<Value>>(std::move(items));
    stack_.push_back(std::move(v));
  }
  void push_tensor(int64_t storage) {
    Value v;
    v.kind = Value::Kind::tensor;
    v.i = storage;
    stack_.push_back(std::move(v));
  }
  void push_other() { stack_.emplace_back(); }
  void tuple_of(size_t n) {
    if (stack_.size() < n) malformed("a tuple has fewer items than it says");
    std::vector<Value> items(std::make_move_iterator(stack_.end() - static_cast<long>(n)),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(stack_.size() - n);
    push_tuple(std::move(items));
  }
  void memo_put(uint64_t id) {
    if (stack_.empty()) malformed("nothing to memoize");
    if (id > bytes_.size()) malformed("a memo index is out of range");
    if (id >= memo_.size()) memo_.resize(id + 1);
    memo_[id] = stack_.back();
  }
  void memo_get(uint64_t id) {
    if (id >= memo_.size()) malformed("a memo index is out of range");
    stack_.push_back(memo_[id]);
  }

  const Value& item(const Value& tuple, size_t i, Value::Kind kind, const char* what) const {
    if (tuple.kind != Value::Kind::tuple || i >= tuple.items->size() ||
        (*tuple.items)[i].kind != kind) {
      malformed(std::string("expected ") + what);
    }
    return (*tuple.items)[i];
  }
  std::vector<int64_t> int_tuple(const Value& v, const char* what) const {
    if (v.kind != Value::Kind::tuple) malformed(std::string("expected ") + what);
    std::vector<int64_t> out;
    for (const auto& e : *v.items) {
      if (e.kind != Value::Kind::integer) malformed(std::string("expected ") + what);
      out.push_back(e.i);
    }
    return out;
  }

  void need(const Storage& s, uint64_t bytes, std::string what) {
    auto [it, fresh] = needs_.try_emplace(s.key);
    if (fresh || bytes > it->second.bytes) it->second = StorageNeed{s.key, bytes, std::move(what)};
  }

  void global(const std::string& module, const std::string& name) {
    if (module == "torch") {
      if (name == "device") {
        add_global(Global::replace);
        return;
      }
      if (const auto type = storage_type(name)) {  // no global: the scalar type itself
        push_int(static_cast<int64_t>(*type));
        return;
      }
      for (int q = 0; q < c10::COMPILE_TIME_NUM_QSCHEMES; ++q) {
        if (name == c10::toString(static_cast<c10::QScheme>(q))) {
          push_int(q);
          return;
        }
      }
      malformed("unknown global torch." + name);
    }
    if (module == "torch._utils" && name == "_rebuild_tensor_v2") return add_global(Global::rebuild_tensor);
    if (module == "torch._utils" && name == "_rebuild_qtensor") return add_global(Global::rebuild_qtensor);
    if (module == "torch._utils" && name == "_rebuild_sparse_tensor") return add_global(Global::to_tensor);
    if (module == "torch.jit._pickle") {
      if (name == "build_tensor_from_id") return add_global(Global::to_tensor);
      if (name == "restore_type_tag" || name == "build_intlist" || name == "build_tensorlist" ||
          name == "build_doublelist" || name == "build_boollist") {
        return add_global(Global::first_element);
      }
      malformed("unknown global torch.jit._pickle." + name);
    }
    if (module == "__main__") {
      if (name == "TensorID") return add_global(Global::to_tensor);
      if (name == "IntList") return add_global(Global::keep);
      malformed("unknown global __main__." + name);
    }
    // Classes and enums of the archive's code, complex, collections.OrderedDict.
    add_global(Global::replace);
  }
  void add_global(Global g) {
    globals_.push_back(g);
    push_int(static_cast<int64_t>(globals_.size()) - 1);
  }

  // REDUCE and BUILD: <global index> <argument> on the stack.
  void call() {
    if (stack_.size() < 2) malformed("REDUCE or BUILD without a callable");
    const Value callable = stack_[stack_.size() - 2];
    if (callable.kind != Value::Kind::integer || callable.i < 0 ||
        static_cast<uint64_t>(callable.i) >= globals_.size()) {
      malformed("REDUCE or BUILD of something not a GLOBAL");
    }
    stack_.erase(stack_.end() - 2);
    switch (globals_[static_cast<size_t>(callable.i)]) {
      case Global::rebuild_tensor: return rebuild_tensor(pop(), false);
      case Global::rebuild_qtensor: return rebuild_tensor(pop(), true);
      case Global::to_tensor: pop(); return push_tensor(-1);
      case Global::first_element: {
        const Value arg = pop();
        if (arg.kind != Value::Kind::tuple || arg.items->empty()) malformed("expected a tuple");
        stack_.push_back((*arg.items)[0]);
        return;
      }
      case Global::keep: return;
      case Global::replace: pop(); return push_other();
    }
  }

  // BINPERSID ('storage', scalar type, key, location, numel): a storage on its record.
  void persistent_load() {
    const Value args = pop();
    if (item(args, 0, Value::Kind::string, "a ('storage', ...) persistent id").s != "storage") {
      malformed("a persistent id that is not a storage");
    }
    const int64_t code = item(args, 1, Value::Kind::integer, "a storage type").i;
    if (!known_storage_type(code)) malformed("a storage of unknown type");
    Storage s;
    s.key = item(args, 2, Value::Kind::string, "a storage key").s;
    s.type = static_cast<c10::ScalarType>(code);
    item(args, 3, Value::Kind::string, "a storage location");
    const int64_t numel = item(args, 4, Value::Kind::integer, "a storage size").i;
    if (numel < 0) malformed("a storage of negative size");
    const auto element = static_cast<uint64_t>(c10::elementSize(s.type));
    if (__builtin_mul_overflow(static_cast<uint64_t>(numel), element, &s.bytes)) {
      malformed("a storage larger than memory");
    }
    // LibTorch reads no record for an empty storage.
    if (numel > 0) need(s, s.bytes, fmt::format("{} {} elements", numel, c10::toString(s.type)));
    storages_.push_back(std::move(s));
    push_tensor(static_cast<int64_t>(storages_.size()) - 1);
  }

  // (storage tensor, offset, sizes, strides, [qparams,] requires_grad, hooks[, math bits]).
  void rebuild_tensor(const Value& args, bool quantized) {
    const int64_t storage = item(args, 0, Value::Kind::tensor, "a tensor's storage").i;
    const int64_t offset = item(args, 1, Value::Kind::integer, "a storage offset").i;
    if (args.items->size() < 4) malformed("expected a tensor's sizes and strides");
    const auto sizes = int_tuple((*args.items)[2], "a tensor's sizes");
    const auto strides = int_tuple((*args.items)[3], "a tensor's strides");
    if (sizes.size() != strides.size()) malformed("a tensor with more sizes than strides");
    if (storage < 0) return push_tensor(-1);
    const Storage& s = storages_[static_cast<size_t>(storage)];
    // The bytes the view reaches: (offset + 1 + sum((size - 1) x stride)) x element size, none
    // if any size is 0. An overflow reaches further than any record.
    if (offset < 0) malformed("a tensor at a negative storage offset");
    bool empty = false;
    bool overflow = false;
    uint64_t reach = static_cast<uint64_t>(offset) + 1;
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] < 0 || strides[d] < 0) malformed("a tensor with a negative size or stride");
      if (sizes[d] == 0) empty = true;
      uint64_t step = 0;
      overflow |= __builtin_mul_overflow(static_cast<uint64_t>(sizes[d] > 0 ? sizes[d] - 1 : 0),
                                         static_cast<uint64_t>(strides[d]), &step);
      overflow |= __builtin_add_overflow(reach, step, &reach);
    }
    overflow |= __builtin_mul_overflow(reach, static_cast<uint64_t>(c10::elementSize(s.type)),
                                       &reach);
    if (!empty) {
      const std::string what =
          fmt::format("a {}{} tensor of sizes {} and strides {} at offset {}",
                      quantized ? "quantized " : "", c10::toString(s.type), ints(sizes),
                      ints(strides), offset);
      if (overflow || reach > s.bytes) {
        throw InputError(path_, fmt::format("cannot load model: {} holds {} reaching past the end "
                                            "of its storage (record {}, {} bytes)",
                                            label_, what, s.key, s.bytes));
      }
      need(s, reach, what);
    }
    push_tensor(storage);
  }

  // One opcode; false after STOP. The opcodes are those LibTorch's Unpickler reads.
  bool step() {
    const auto op = static_cast<PickleOpCode>(byte());
    switch (op) {
      case PickleOpCode::STOP: return false;
      case PickleOpCode::MARK: marks_.push_back(stack_.size()); break;
      case PickleOpCode::EMPTY_LIST:
      case PickleOpCode::EMPTY_DICT:
      case PickleOpCode::NEWTRUE:
      case PickleOpCode::NEWFALSE:
      case PickleOpCode::NONE: push_other(); break;
      case PickleOpCode::EMPTY_TUPLE: push_tuple({}); break;
      case PickleOpCode::BININT1: push_int(static_cast<int64_t>(le(1))); break;
      case PickleOpCode::BININT2: push_int(static_cast<int64_t>(le(2))); break;
      case PickleOpCode::BININT: push_int(static_cast<int32_t>(le(4))); break;
      case PickleOpCode::LONG1: {
        if (byte() != 8) malformed("a LONG1 of other than 8 bytes");
        push_int(static_cast<int64_t>(le(8)));
      } break;
      case PickleOpCode::BINFLOAT: le(8); push_other(); break;
      case PickleOpCode::BINUNICODE: {
        Value v;
        v.kind = Value::Kind::string;
        v.s = take(le(4));
        stack_.push_back(std::move(v));
      } break;
      case PickleOpCode::TUPLE: tuple_of(stack_.size() - pop_mark()); break;
      case PickleOpCode::TUPLE1: tuple_of(1); break;
      case PickleOpCode::TUPLE2: tuple_of(2); break;
      case PickleOpCode::TUPLE3: tuple_of(3); break;
      case PickleOpCode::APPENDS:
      case PickleOpCode::SETITEMS: {
        const size_t start = pop_mark();
        if (start == 0) malformed("APPENDS or SETITEMS without a container");
        stack_.resize(start);
      } break;
      case PickleOpCode::LIST:
      case PickleOpCode::DICT: stack_.resize(pop_mark()); push_other(); break;
      case PickleOpCode::SETITEM: {
        if (stack_.size() < 3) malformed("SETITEM without a dict, key and value");
        stack_.resize(stack_.size() - 2);
      } break;
      case PickleOpCode::BINPUT: memo_put(le(1)); break;
      case PickleOpCode::LONG_BINPUT: memo_put(le(4)); break;
      case PickleOpCode::BINGET: memo_get(le(1)); break;
      case PickleOpCode::LONG_BINGET: memo_get(le(4)); break;
      case PickleOpCode::GLOBAL: {
        const std::string module = line();
        global(module, line());
      } break;
      case PickleOpCode::NEWOBJ: pop(); break;
      case PickleOpCode::BUILD:
      case PickleOpCode::REDUCE: call(); break;
      case PickleOpCode::BINPERSID: persistent_load(); break;
      default: malformed(fmt::format("opcode 0x{:02x}, which LibTorch does not read",
                                     static_cast<unsigned>(static_cast<uint8_t>(op))));
    }
    return true;
  }

  const std::string& bytes_;
  const std::string& path_;
  const std::string& label_;
  size_t at_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::vector<Value> memo_;
  std::vector<Global> globals_;
  std::vector<Storage> storages_;
  std::map<std::string, StorageNeed> needs_;
};

constexpr uint64_t kMaxPickleBytes = uint64_t{1} << 30;

const char* kHint =
    "the archive was cut short or altered after torch.jit.save wrote it: copy or export the "
    "model again";

}  // namespace

std::vector<StorageNeed> storage_needs(const std::string& pickle, const std::string& path,
                                       const std::string& label) {
  std::vector<StorageNeed> out;
  for (auto& [key, n] : Walk(pickle, path, label).run()) out.push_back(std::move(n));
  return out;
}

void check_storage_records(const std::string& path) {
  const auto dir = read_zip_directory(path);
  if (!dir) return;  // sniff_file names what the file is
  // LibTorch's reader takes the archive's directory from its first entry.
  const std::string& first = dir->entries.front().name;
  const size_t slash = first.find('/');
  if (slash == std::string::npos) return;
  const std::string prefix = first.substr(0, slash + 1);
  std::map<std::string, const ZipEntry*> by_name;
  for (const auto& e : dir->entries) {
    auto [it, fresh] = by_name.try_emplace(e.name, &e);
    // Of two entries of one name, the shorter is the one to fear.
    if (!fresh && e.uncompressed_size < it->second->uncompressed_size) it->second = &e;
  }
  for (const std::string archive : {"data", "constants"}) {
    const auto pkl = by_name.find(prefix + archive + ".pkl");
    if (pkl == by_name.end()) continue;  // LibTorch says what is missing
    const std::string label = pkl->first;
    const auto bytes = read_entry(path, *pkl->second, kMaxPickleBytes);
    if (!bytes) {
      throw InputError(path, fmt::format("cannot load model: its {} cannot be read", label),
                       kHint);
    }
    for (const auto& n : storage_needs(*bytes, path, label)) {
      const std::string record = prefix + archive + "/" + n.key;
      const auto r = by_name.find(record);
      if (r == by_name.end()) {
        throw InputError(path,
                         fmt::format("cannot load model: storage record {} is missing ({} "
                                     "references it for {})",
                                     record, label, n.what),
                         kHint);
      }
      if (r->second->uncompressed_size < n.bytes) {
        throw InputError(path,
                         fmt::format("cannot load model: storage record {} holds {} bytes, but "
                                     "{} needs {} bytes of it for {}",
                                     record, r->second->uncompressed_size, label, n.bytes, n.what),
                         kHint);
      }
    }
  }
}

}  // namespace llmc::model
