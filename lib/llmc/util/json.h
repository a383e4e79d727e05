// A small JSON value type with an insertion-ordered object and a writer (compact or pretty) that
// keeps llmc's number format; parsing and string escaping are nlohmann's (Debian
// nlohmann-json3-dev), whose header only json.cpp includes. Used for reports, manifests and
// model config files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace llmc::util {

// Base of all JSON errors, so callers can catch them in one place and rethrow as an llmc error
// that names the file (InputError, RecipeError, ...).
class JsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An accessor was used on a value of another kind ("expected string, got integer").
class JsonTypeError : public JsonError {
 public:
  using JsonError::JsonError;
};

// at() on a missing object key or an out-of-range array index.
class JsonKeyError : public JsonError {
 public:
  using JsonError::JsonError;
};

// Malformed JSON text. line() and column() are 1-based and give the last character nlohmann's
// parser read (the end of the offending token); the column counts characters (UTF-8 code
// points), not bytes. what() is "line L, column C: message", message being nlohmann's.
class JsonParseError : public JsonError {
 public:
  JsonParseError(size_t line, size_t column, const std::string& message);
  size_t line() const { return line_; }
  size_t column() const { return column_; }
  // The message without the position prefix.
  const std::string& message() const { return message_; }

 private:
  size_t line_;
  size_t column_;
  std::string message_;
};

class Json {
 public:
  enum class Kind { null, boolean, integer, number, string, array, object };

  using Array = std::vector<Json>;

  // A JSON object that keeps its keys in insertion order. Setting an existing key replaces the
  // value in place. Lookups are linear for small objects and hashed for large ones.
  class Object {
   public:
    using Member = std::pair<std::string, Json>;

    Object() = default;
    Object(std::initializer_list<Member> members);

    size_t size() const { return members_.size(); }
    bool empty() const { return members_.empty(); }
    // Read-only iteration in insertion order; change values through operator[] or find().
    std::vector<Member>::const_iterator begin() const { return members_.begin(); }
    std::vector<Member>::const_iterator end() const { return members_.end(); }
    const std::vector<Member>& members() const { return members_; }

    const Json* find(const std::string& key) const;
    Json* find(const std::string& key);
    bool contains(const std::string& key) const { return find(key) != nullptr; }
    // The value for `key`, appending a null member if it is missing.
    Json& operator[](const std::string& key);
    // Sets `key` (replacing in place if present) and returns the stored value.
    Json& set(const std::string& key, Json value);
    // Removes `key`; false if it was not there. Later members keep their order.
    bool erase(const std::string& key);

    // Same members with equal values, in any order.
    friend bool operator==(const Object& a, const Object& b);
    friend bool operator!=(const Object& a, const Object& b) { return !(a == b); }

   private:
    ptrdiff_t index_of(const std::string& key) const;
    void rebuild_index();

    std::vector<Member> members_;
    std::unordered_map<std::string, size_t> index_;  // key -> position; empty while small
  };

  // Construction. Integers of any width become the integer kind (unsigned values above
  // INT64_MAX become numbers, as the parser does); floating point becomes the number kind.
  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool value) : value_(value) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                 !std::is_same_v<T, char> && !std::is_same_v<T, wchar_t> &&
                                 !std::is_same_v<T, char16_t> && !std::is_same_v<T, char32_t>,
                             int> = 0>
  Json(T value) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        value_ = static_cast<double>(value);
        return;
      }
    }
    value_ = static_cast<int64_t>(value);
  }
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Json(T value) : value_(static_cast<double>(value)) {}
  Json(char) = delete;  // would silently become a bool; say string or integer explicitly
  Json(const char* value) : value_(std::string(value)) {}
  Json(std::string value) : value_(std::move(value)) {}
  Json(std::string_view value) : value_(std::string(value)) {}
  Json(Array value) : value_(std::move(value)) {}
  Json(Object value) : value_(std::move(value)) {}

  // Json::array({1, "two", 3.0}) and Json::object({{"a", 1}, {"b", true}}).
  static Json array(Array items = {}) { return Json(std::move(items)); }
  static Json object(std::initializer_list<Object::Member> members = {}) {
    return Json(Object(members));
  }

  Kind kind() const { return static_cast<Kind>(value_.index()); }
  bool is_null() const { return kind() == Kind::null; }
  bool is_bool() const { return kind() == Kind::boolean; }
  bool is_int() const { return kind() == Kind::integer; }
  bool is_double() const { return kind() == Kind::number; }
  // Integer or number.
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return kind() == Kind::string; }
  bool is_array() const { return kind() == Kind::array; }
  bool is_object() const { return kind() == Kind::object; }

  // Typed access; each throws JsonTypeError naming the expected and actual kind.
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;  // also accepts the integer kind
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;
  Object& as_object();

  // Object access (JsonTypeError if this is not an object). operator[] appends a null member
  // for a missing key; at() throws JsonKeyError; find() returns nullptr.
  Json& operator[](const std::string& key);
  Json& operator[](const char* key) { return (*this)[std::string(key)]; }
  const Json& at(const std::string& key) const;
  Json& at(const std::string& key);
  const Json* find(const std::string& key) const;
  Json* find(const std::string& key);
  bool contains(const std::string& key) const;

  // Array access (JsonTypeError if this is not an array; JsonKeyError if out of range).
  void push_back(Json value);
  const Json& at(size_t index) const;
  Json& at(size_t index);
  const Json& operator[](size_t index) const { return at(index); }
  Json& operator[](size_t index) { return at(index); }

  // Number of array elements or object members (JsonTypeError for other kinds).
  size_t size() const;

  // JSON text: compact when indent < 0, else one item per line indented by `indent` spaces.
  // Numbers are the shortest text that reads back the same double, with ".0" on integral values;
  // NaN and infinities are written as null. Strings get the escapes JSON requires, and ill-formed
  // UTF-8 in them is replaced by U+FFFD.
  std::string dump(int indent = -1) const;

  // Same kind and equal value; objects compare regardless of member order, and the integer 1
  // is not equal to the number 1.0.
  friend bool operator==(const Json& a, const Json& b) { return a.value_ == b.value_; }
  friend bool operator!=(const Json& a, const Json& b) { return !(a == b); }

 private:
  // Alternatives are in Kind order.
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object> value_;
};

// "null", "bool", "integer", "number", "string", "array" or "object".
const char* kind_name(Json::Kind kind);

// Deepest nesting of arrays/objects parse_json accepts (deeper input is an error, not a crash).
inline constexpr int kJsonMaxDepth = 512;

// Parses one JSON text (RFC 8259, nlohmann's parser; surrounding whitespace and a leading UTF-8
// byte order mark allowed, nothing else). Integers that fit int64_t become the integer kind, all
// other numbers the number kind. Strings must be valid UTF-8. Throws JsonParseError.
Json parse_json(std::string_view text);

}  // namespace llmc::util
