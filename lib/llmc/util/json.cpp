#include "llmc/util/json.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace llmc::util {

// --- Errors and kinds ---

JsonParseError::JsonParseError(size_t line, size_t column, const std::string& message)
    : JsonError(fmt::format("line {}, column {}: {}", line, column, message)),
      line_(line),
      column_(column),
      message_(message) {}

const char* kind_name(Json::Kind kind) {
  switch (kind) {
    case Json::Kind::null: return "null";
    case Json::Kind::boolean: return "bool";
    case Json::Kind::integer: return "integer";
    case Json::Kind::number: return "number";
    case Json::Kind::string: return "string";
    case Json::Kind::array: return "array";
    case Json::Kind::object: return "object";
  }
  return "unknown";
}

namespace {

[[noreturn]] void throw_type_error(Json::Kind expected, Json::Kind actual) {
  throw JsonTypeError(
      fmt::format("JSON type error: expected {}, got {}", kind_name(expected), kind_name(actual)));
}

// Objects up to this many members are searched linearly; larger ones keep a hash index.
constexpr size_t kIndexThreshold = 16;

}  // namespace

// --- Json::Object ---

Json::Object::Object(std::initializer_list<Member> members) {
  for (const auto& member : members) set(member.first, member.second);
}

ptrdiff_t Json::Object::index_of(const std::string& key) const {
  if (!index_.empty()) {
    auto it = index_.find(key);
    return it == index_.end() ? -1 : static_cast<ptrdiff_t>(it->second);
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].first == key) return static_cast<ptrdiff_t>(i);
  }
  return -1;
}

void Json::Object::rebuild_index() {
  index_.clear();
  if (members_.size() <= kIndexThreshold) return;
  index_.reserve(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) index_.emplace(members_[i].first, i);
}

const Json* Json::Object::find(const std::string& key) const {
  ptrdiff_t i = index_of(key);
  return i < 0 ? nullptr : &members_[static_cast<size_t>(i)].second;
}

Json* Json::Object::find(const std::string& key) {
  return const_cast<Json*>(static_cast<const Object&>(*this).find(key));
}

Json& Json::Object::operator[](const std::string& key) {
  if (Json* found = find(key)) return *found;
  return set(key, Json());
}

Json& Json::Object::set(const std::string& key, Json value) {
  if (Json* found = find(key)) {
    *found = std::move(value);
    return *found;
  }
  members_.emplace_back(key, std::move(value));
  if (!index_.empty()) {
    index_.emplace(key, members_.size() - 1);
  } else if (members_.size() > kIndexThreshold) {
    rebuild_index();
  }
  return members_.back().second;
}

bool Json::Object::erase(const std::string& key) {
  ptrdiff_t i = index_of(key);
  if (i < 0) return false;
  members_.erase(members_.begin() + i);
  rebuild_index();
  return true;
}

bool operator==(const Json::Object& a, const Json::Object& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, value] : a) {
    const Json* other = b.find(key);
    if (other == nullptr || *other != value) return false;
  }
  return true;
}

// --- Json accessors ---

namespace {

// The T alternative of `value` (a Json's variant), or JsonTypeError naming `expected`.
template <typename T, typename Variant>
auto& checked(Variant& value, Json::Kind expected) {
  if (auto* found = std::get_if<T>(&value)) return *found;
  throw_type_error(expected, static_cast<Json::Kind>(value.index()));
}

}  // namespace

bool Json::as_bool() const { return checked<bool>(value_, Kind::boolean); }
int64_t Json::as_int() const { return checked<int64_t>(value_, Kind::integer); }
double Json::as_double() const {
  if (is_int()) return static_cast<double>(std::get<int64_t>(value_));
  return checked<double>(value_, Kind::number);
}
const std::string& Json::as_string() const { return checked<std::string>(value_, Kind::string); }
const Json::Array& Json::as_array() const { return checked<Array>(value_, Kind::array); }
Json::Array& Json::as_array() { return checked<Array>(value_, Kind::array); }
const Json::Object& Json::as_object() const { return checked<Object>(value_, Kind::object); }
Json::Object& Json::as_object() { return checked<Object>(value_, Kind::object); }

Json& Json::operator[](const std::string& key) { return as_object()[key]; }

const Json& Json::at(const std::string& key) const {
  const Json* found = as_object().find(key);
  if (found == nullptr) throw JsonKeyError(fmt::format("JSON object has no key \"{}\"", key));
  return *found;
}

Json& Json::at(const std::string& key) {
  return const_cast<Json&>(static_cast<const Json&>(*this).at(key));
}

const Json* Json::find(const std::string& key) const { return as_object().find(key); }
Json* Json::find(const std::string& key) { return as_object().find(key); }
bool Json::contains(const std::string& key) const { return as_object().contains(key); }

void Json::push_back(Json value) { as_array().push_back(std::move(value)); }

const Json& Json::at(size_t index) const {
  const Array& items = as_array();
  if (index < items.size()) return items[index];
  throw JsonKeyError(fmt::format("JSON array index {} out of range (size {})", index,
                                 items.size()));
}

Json& Json::at(size_t index) {
  return const_cast<Json&>(static_cast<const Json&>(*this).at(index));
}

size_t Json::size() const {
  if (is_array()) return std::get<Array>(value_).size();
  if (is_object()) return std::get<Object>(value_).size();
  throw JsonTypeError(fmt::format("JSON type error: expected array or object, got {}",
                                  kind_name(kind())));
}

// --- Writer ---

namespace {

// A JSON string literal by nlohmann's serializer: the escapes JSON requires, UTF-8 passed through
// and ill-formed UTF-8 replaced by U+FFFD.
void write_string(std::string& out, const std::string& s) {
  out += nlohmann::ordered_json(s).dump(-1, ' ', false,
                                        nlohmann::ordered_json::error_handler_t::replace);
}

// llmc's own number format, kept for byte-identical reports: shortest round trip (fmt's, which
// switches to an exponent from 1e16 where nlohmann's does from 1e15), ".0" on integral values.
void write_double(std::string& out, double d) {
  if (!std::isfinite(d)) return void(out += "null");
  std::string text = fmt::format("{}", d);
  // "1" would read back as an integer; keep it a number.
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  out += text;
}

void write_newline(std::string& out, int indent, int depth) {
  if (indent < 0) return;
  out += '\n';
  out.append(static_cast<size_t>(indent) * static_cast<size_t>(depth), ' ');
}

// `items` between `open` and `close`, comma separated, one per line when pretty. Empty
// containers stay on one line.
template <typename Items, typename WriteItem>
void write_container(std::string& out, const Items& items, char open, char close, int indent,
                     int depth, WriteItem write_item) {
  out += open;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ',';
    first = false;
    write_newline(out, indent, depth + 1);
    write_item(item);
  }
  if (!first) write_newline(out, indent, depth);
  out += close;
}

void write_value(std::string& out, const Json& value, int indent, int depth) {
  switch (value.kind()) {
    case Json::Kind::null: out += "null"; break;
    case Json::Kind::boolean: out += value.as_bool() ? "true" : "false"; break;
    case Json::Kind::integer: out += fmt::format("{}", value.as_int()); break;
    case Json::Kind::number: write_double(out, value.as_double()); break;
    case Json::Kind::string: write_string(out, value.as_string()); break;
    case Json::Kind::array:
      write_container(out, value.as_array(), '[', ']', indent, depth, [&](const Json& item) {
        write_value(out, item, indent, depth + 1);
      });
      break;
    case Json::Kind::object:
      write_container(out, value.as_object(), '{', '}', indent, depth, [&](const auto& member) {
        write_string(out, member.first);
        out += indent < 0 ? ":" : ": ";
        write_value(out, member.second, indent, depth + 1);
      });
      break;
  }
}

}  // namespace

std::string Json::dump(int indent) const {
  std::string out;
  write_value(out, *this, indent, 0);
  return out;
}

// --- Parser: nlohmann's, its SAX events building a Json ---

namespace {

// The error at byte `offset` of `text`, with a 1-based line and a column counted in characters
// (UTF-8 code points), not bytes.
JsonParseError error_at(std::string_view text, size_t offset, const std::string& message) {
  const std::string_view before = text.substr(0, std::min(offset, text.size()));
  const size_t line_start = before.rfind('\n') + 1;  // npos + 1 == 0 on the first line
  const auto line = static_cast<size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
  const auto column = static_cast<size_t>(std::count_if(
      before.begin() + static_cast<ptrdiff_t>(line_start), before.end(),
      [](char c) { return (c & 0xC0) != 0x80; }));  // skip UTF-8 continuation bytes
  return JsonParseError(line, column + 1, message);
}

// Byte offset of the '[' or '{' that first opens nesting level `level` in `text`, which is well
// formed up to there (the parser got that far).
size_t opening_of_level(std::string_view text, size_t level) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth == level) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return text.size();
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 1,
// column 2: " prefix (llmc gives the position itself, in characters).
std::string message_of(const nlohmann::ordered_json::exception& e) {
  const std::string_view what = e.what();
  size_t start = what.find(": ");
  if (start != std::string_view::npos) return std::string(what.substr(start + 2));
  start = what.find("] ");
  return std::string(start == std::string_view::npos ? what : what.substr(start + 2));
}

// Builds a Json from nlohmann's SAX events. `open_` holds the arrays and objects being filled,
// innermost last; a container's parent gets no new member while it is open, so the pointers stay
// valid.
class Builder : public nlohmann::json_sax<nlohmann::ordered_json> {
 public:
  explicit Builder(std::string_view text) : text_(text) {}

  Json take() { return std::move(root_); }

  bool null() override { return add(Json(nullptr)); }
  bool boolean(bool value) override { return add(Json(value)); }
  bool number_integer(number_integer_t value) override { return add(Json(value)); }
  // Above INT64_MAX the Json constructor makes it a number, as for other unsigned values.
  bool number_unsigned(number_unsigned_t value) override { return add(Json(value)); }
  bool number_float(number_float_t value, const string_t&) override { return add(Json(value)); }
  bool string(string_t& value) override { return add(Json(std::move(value))); }
  bool binary(binary_t&) override { return false; }  // JSON text has no binary values
  bool start_object(std::size_t) override { return open(Json::object()); }
  bool key(string_t& key) override {
    key_ = std::move(key);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::ordered_json::exception& e) override {
    // `position` counts the characters read, the offending one included.
    throw error_at(text_, position == 0 ? 0 : position - 1, message_of(e));
  }

 private:
  bool add(Json value) {
    place(std::move(value));
    return true;
  }

  // Stores `value` as the root, the next array element or the member named by the last key.
  Json& place(Json value) {
    if (open_.empty()) return root_ = std::move(value);
    Json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return parent.as_array().back();
    }
    // A repeated key keeps its first position and takes the last value.
    return parent.as_object().set(key_, std::move(value));
  }

  bool open(Json container) {
    if (open_.size() == static_cast<size_t>(kJsonMaxDepth)) {
      throw error_at(text_, opening_of_level(text_, open_.size() + 1),
                     fmt::format("nesting deeper than {} arrays/objects", kJsonMaxDepth));
    }
    open_.push_back(&place(std::move(container)));
    return true;
  }

  bool close() {
    open_.pop_back();
    return true;
  }

  std::string_view text_;
  Json root_;
  std::vector<Json*> open_;
  std::string key_;
};

}  // namespace

Json parse_json(std::string_view text) {
  Builder builder(text);
  nlohmann::ordered_json::sax_parse(text.begin(), text.end(), &builder);
  // nlohmann's lexer takes a NUL byte between tokens for the end of the input (one in a string
  // is an error), so a NUL is where a successful parse stopped.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    throw error_at(text, nul, "unexpected NUL byte after the JSON value");
  }
  return builder.take();
}

}  // namespace llmc::util
