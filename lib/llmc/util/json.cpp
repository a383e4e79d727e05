#include "llmc/util/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

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

void write_string(std::string& out, const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

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

// --- Parser ---

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  static const unsigned char kLead[] = {0x00, 0xC0, 0xE0, 0xF0};
  int extra = cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;  // continuation bytes
  out += static_cast<char>(kLead[extra] | (cp >> (6 * extra)));
  for (int i = extra - 1; i >= 0; --i) out += static_cast<char>(0x80 | ((cp >> (6 * i)) & 0x3F));
}

// Length of the well-formed UTF-8 sequence at s[0..n), or 0 if it is not well formed
// (overlong forms, surrogates and code points above U+10FFFF are rejected).
size_t utf8_sequence_length(const unsigned char* s, size_t n) {
  unsigned char b = s[0];
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (n < len || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < len; ++i) {
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  }
  return len;
}

// Recursive-descent parser over one text; `pos_` is the byte offset of the next character.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Json parse_document() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") fail(0, "a UTF-8 byte order mark is not allowed");
    Json value = parse_value();
    skip_whitespace();
    if (pos_ < text_.size()) {
      fail(pos_, fmt::format("unexpected {} after the JSON value", describe(pos_)));
    }
    return value;
  }

 private:
  [[noreturn]] void fail(size_t offset, const std::string& message) const {
    std::string_view before = text_.substr(0, offset);
    size_t line_start = before.rfind('\n') + 1;  // npos + 1 == 0 on the first line
    auto line = static_cast<size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    // Count characters, not bytes: skip UTF-8 continuation bytes.
    auto column = static_cast<size_t>(std::count_if(before.begin() + line_start, before.end(),
                                                    [](char c) { return (c & 0xC0) != 0x80; }));
    throw JsonParseError(line, column + 1, message);
  }

  // "'x'", "end of input" or "byte 0xNN" for messages.
  std::string describe(size_t offset) const {
    if (offset >= text_.size()) return "end of input";
    auto byte = static_cast<unsigned char>(text_[offset]);
    if (byte >= 0x20 && byte < 0x7F) return fmt::format("character '{}'", text_[offset]);
    return fmt::format("byte 0x{:02X}", byte);
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_whitespace() {
    pos_ = std::min(text_.find_first_not_of(" \t\n\r", pos_), text_.size());
  }

  Json parse_value() {
    skip_whitespace();
    if (at_end()) fail(pos_, "unexpected end of input, expected a value");
    char c = text_[pos_];
    if (c == '{') return parse_object();
    if (c == '[') return parse_array();
    if (c == '"') return Json(parse_string());
    if (c == '-' || is_digit(c)) return parse_number();
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return parse_literal();
    fail(pos_, fmt::format("unexpected {}, expected a value", describe(pos_)));
  }

  // Consumes `c` if it is next.
  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  // Steps over the '[' or '{' at pos_, one level deeper.
  void enter() {
    if (++depth_ > kJsonMaxDepth) {
      fail(pos_, fmt::format("nesting deeper than {} arrays/objects", kJsonMaxDepth));
    }
    ++pos_;
  }

  // Back out of one level, returning the finished array or object.
  Json leave(Json value) {
    --depth_;
    return value;
  }

  Json parse_object() {
    enter();
    Json::Object members;
    skip_whitespace();
    if (consume('}')) return leave(std::move(members));
    while (true) {
      if (peek() != '"') {
        if (members.empty()) fail(pos_, "expected '\"' to start an object key, or '}'");
        if (peek() == '}') fail(pos_, "trailing comma before '}'");
        fail(pos_, "expected '\"' to start an object key");
      }
      std::string key = parse_string();
      skip_whitespace();
      if (!consume(':')) fail(pos_, "expected ':' after object key");
      members.set(key, parse_value());  // a repeated key keeps its first position, last value
      skip_whitespace();
      if (consume('}')) return leave(std::move(members));
      if (!consume(',')) fail(pos_, "expected ',' or '}' after object member");
      skip_whitespace();
    }
  }

  Json parse_array() {
    enter();
    Json::Array items;
    skip_whitespace();
    if (consume(']')) return leave(std::move(items));
    while (true) {
      items.push_back(parse_value());
      skip_whitespace();
      if (consume(']')) return leave(std::move(items));
      if (!consume(',')) fail(pos_, "expected ',' or ']' after array element");
      skip_whitespace();
      if (peek() == ']') fail(pos_, "trailing comma before ']'");
    }
  }

  // Four hex digits after "\u" at pos_ (which points at the backslash).
  uint32_t parse_hex4(size_t escape) {
    if (text_.size() - pos_ < 6) fail(escape, "\\u escape needs 4 hex digits");
    uint32_t value = 0;
    for (size_t i = 2; i < 6; ++i) {
      int digit = hex_value(text_[pos_ + i]);
      if (digit < 0) fail(escape, "\\u escape needs 4 hex digits");
      value = value * 16 + static_cast<uint32_t>(digit);
    }
    pos_ += 6;
    return value;
  }

  std::string parse_string() {
    size_t open = pos_++;
    std::string out;
    while (true) {
      // Copy a run of plain ASCII in one go.
      size_t run = pos_;
      while (run < text_.size()) {
        auto b = static_cast<unsigned char>(text_[run]);
        if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
        ++run;
      }
      out.append(text_, pos_, run - pos_);
      pos_ = run;
      if (at_end()) fail(open, "unterminated string");
      auto b = static_cast<unsigned char>(text_[pos_]);
      if (b == '"') {
        ++pos_;
        return out;
      }
      if (b < 0x20) {
        fail(pos_, fmt::format("control character U+{:04X} in string must be escaped", b));
      }
      if (b >= 0x80) {
        size_t len = utf8_sequence_length(
            reinterpret_cast<const unsigned char*>(text_.data()) + pos_, text_.size() - pos_);
        if (len == 0) fail(pos_, "invalid UTF-8 in string");
        out.append(text_, pos_, len);
        pos_ += len;
        continue;
      }
      parse_escape(out, open);
    }
  }

  // One escape sequence at pos_ (a backslash), appended to `out` as UTF-8. `open` is the
  // string's opening quote.
  void parse_escape(std::string& out, size_t open) {
    size_t escape = pos_;
    if (pos_ + 1 >= text_.size()) fail(open, "unterminated string");
    char c = text_[pos_ + 1];
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = parse_hex4(escape);
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail(escape, fmt::format("unpaired low surrogate \\u{:04X}", cp));
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (text_.substr(pos_, 2) != "\\u") {
            fail(escape, fmt::format("unpaired high surrogate \\u{:04X}", cp));
          }
          size_t second = pos_;
          uint32_t low = parse_hex4(second);
          if (low < 0xDC00 || low > 0xDFFF) {
            fail(escape, fmt::format("high surrogate \\u{:04X} not followed by a low surrogate",
                                     cp));
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, cp);
        return;  // parse_hex4 advanced pos_
      }
      default:
        if (c >= 0x20 && c < 0x7F) fail(escape, fmt::format("invalid escape '\\{}'", c));
        fail(escape, fmt::format("invalid escape: '\\' followed by {}", describe(escape + 1)));
    }
    pos_ += 2;
  }

  Json parse_number() {
    size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (!is_digit(peek())) fail(pos_, "expected a digit after '-'");
    size_t int_start = pos_;
    if (peek() == '0') {
      ++pos_;
      if (is_digit(peek())) fail(int_start, "leading zeros are not allowed in numbers");
    } else {
      while (is_digit(peek())) ++pos_;
    }
    size_t int_end = pos_;
    size_t frac_start = pos_, frac_end = pos_;
    bool integral = true;
    if (peek() == '.') {
      integral = false;
      ++pos_;
      if (!is_digit(peek())) fail(pos_, "expected a digit after the decimal point");
      frac_start = pos_;
      while (is_digit(peek())) ++pos_;
      frac_end = pos_;
    }
    int64_t exponent = 0;
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++pos_;
      bool negative = false;
      if (peek() == '+' || peek() == '-') negative = text_[pos_++] == '-';
      if (!is_digit(peek())) fail(pos_, "expected a digit in the exponent");
      while (is_digit(peek())) {
        exponent = std::min<int64_t>(exponent * 10 + (text_[pos_++] - '0'), 1'000'000'000);
      }
      if (negative) exponent = -exponent;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (integral) {
      int64_t value = 0;
      auto [ptr, ec] = std::from_chars(first, last, value);
      if (ec == std::errc() && ptr == last) return Json(value);
      // Too big for int64_t: fall through to double.
    }
    double value = 0;  // the grammar was checked above, so only the range can fail
    if (std::from_chars(first, last, value).ec == std::errc::result_out_of_range) {
      // Decimal exponent of the leading significant digit decides overflow vs. underflow.
      std::string_view int_digits = text_.substr(int_start, int_end - int_start);
      std::string_view frac_digits = text_.substr(frac_start, frac_end - frac_start);
      int64_t magnitude = exponent;
      size_t nonzero = int_digits.find_first_not_of('0');
      if (nonzero != std::string_view::npos) {
        magnitude += static_cast<int64_t>(int_digits.size() - nonzero) - 1;
      } else {
        magnitude -= static_cast<int64_t>(frac_digits.find_first_not_of('0')) + 1;
      }
      if (magnitude > 0) fail(start, "number is too large for a double");
      value = text_[start] == '-' ? -0.0 : 0.0;
    }
    return Json(value);
  }

  Json parse_literal() {
    size_t start = pos_;
    while (!at_end() && ((peek() >= 'a' && peek() <= 'z') || (peek() >= 'A' && peek() <= 'Z') ||
                         is_digit(peek()) || peek() == '_')) {
      ++pos_;
    }
    std::string_view word = text_.substr(start, pos_ - start);
    if (word == "true") return Json(true);
    if (word == "false") return Json(false);
    if (word == "null") return Json(nullptr);
    if (word.size() > 20) word = word.substr(0, 20);
    fail(start, fmt::format("invalid literal '{}' (expected true, false or null)", word));
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Json parse_json(std::string_view text) { return Parser(text).parse_document(); }

}  // namespace llmc::util
