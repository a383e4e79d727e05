// llmc::util::Json: construction, access, writing, parsing and parse-error positions.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "llmc/util/json.h"

namespace {

using llmc::util::Json;
using llmc::util::JsonKeyError;
using llmc::util::JsonParseError;
using llmc::util::JsonTypeError;
using llmc::util::parse_json;

// The parse error for `text`; fails the test if it parses.
JsonParseError parse_error(const std::string& text) {
  try {
    parse_json(text);
  } catch (const JsonParseError& e) {
    return e;
  }
  FAIL("expected a parse error for: " << text);
  return JsonParseError(0, 0, "");
}

// Parse error at (line, column) whose message contains `message`.
void check_error(const std::string& text, size_t line, size_t column, const std::string& message) {
  CAPTURE(text);
  JsonParseError e = parse_error(text);
  CHECK(e.line() == line);
  CHECK(e.column() == column);
  CHECK(e.message().find(message) != std::string::npos);
  CHECK(std::string(e.what()) ==
        "line " + std::to_string(e.line()) + ", column " + std::to_string(e.column()) + ": " +
            e.message());
}

// Parse error whose message contains `message`, anywhere.
void check_error(const std::string& text, const std::string& message) {
  CAPTURE(text);
  JsonParseError e = parse_error(text);
  CHECK(e.message().find(message) != std::string::npos);
}

}  // namespace

TEST_CASE("json: construction and kinds") {
  CHECK(Json().is_null());
  CHECK(Json(nullptr).is_null());
  CHECK(Json(true).as_bool());
  CHECK(Json(42).as_int() == 42);
  CHECK(Json(int64_t{-7}).is_int());
  CHECK(Json(size_t{5}).is_int());
  CHECK(Json(uint8_t{200}).as_int() == 200);
  CHECK(Json(2.5).as_double() == 2.5);
  CHECK(Json(1.5f).is_double());
  CHECK(Json("text").is_string());  // not bool
  CHECK(Json(std::string("s")).as_string() == "s");
  CHECK(Json(std::string_view("v")).as_string() == "v");
  CHECK(Json::array().is_array());
  CHECK(Json::object().is_object());
  // Unsigned values beyond int64 become numbers, like the parser does.
  Json huge(std::numeric_limits<uint64_t>::max());
  CHECK(huge.is_double());
  CHECK(huge.as_double() == 18446744073709551615.0);
  CHECK(Json(3).is_number());
  CHECK(Json(3.0).is_number());
}

TEST_CASE("json: arrays and objects") {
  Json arr = Json::array({1, "two", 3.0});
  arr.push_back(nullptr);
  CHECK(arr.size() == 4);
  CHECK(arr[1].as_string() == "two");
  CHECK(arr.at(3).is_null());
  CHECK_THROWS_AS(arr.at(4), JsonKeyError);

  Json obj = Json::object({{"a", 1}});
  obj["b"] = "x";
  // operator[] creates a missing key as null; null is not promoted to an object.
  CHECK_THROWS_AS(obj["c"]["nested"], JsonTypeError);
  CHECK(obj.at("c").is_null());
  CHECK(obj.size() == 3);
  CHECK(obj.contains("a"));
  CHECK_FALSE(obj.contains("zz"));
  CHECK(obj.find("zz") == nullptr);
  REQUIRE(obj.find("b") != nullptr);
  CHECK(obj.find("b")->as_string() == "x");
  CHECK(obj.at("a").as_int() == 1);
  CHECK_THROWS_AS(obj.at("zz"), JsonKeyError);
  CHECK_THROWS_WITH_AS(obj.at("zz"), "JSON object has no key \"zz\"", JsonKeyError);
}

TEST_CASE("json: type errors name the expected and actual kind") {
  try {
    Json(1).as_string();
    FAIL("expected JsonTypeError");
  } catch (const JsonTypeError& e) {
    CHECK(std::string(e.what()) == "JSON type error: expected string, got integer");
  }
  CHECK(Json(1).as_double() == 1.0);  // integer is accepted as a number
  CHECK_THROWS_AS(Json(1.0).as_int(), JsonTypeError);
  CHECK_THROWS_AS(Json("1").as_int(), JsonTypeError);
  CHECK_THROWS_AS(Json(nullptr).as_bool(), JsonTypeError);
  CHECK_THROWS_AS(Json::object().as_array(), JsonTypeError);
  CHECK_THROWS_AS(Json::array().as_object(), JsonTypeError);
  CHECK_THROWS_AS(Json::array()["key"], JsonTypeError);
  CHECK_THROWS_AS(Json::object().push_back(1), JsonTypeError);
  CHECK_THROWS_AS(Json(true).find("key"), JsonTypeError);
  CHECK_THROWS_AS(Json("abc").size(), JsonTypeError);
  CHECK_THROWS_WITH_AS(Json(true).as_array(), "JSON type error: expected array, got bool",
                       JsonTypeError);
}

TEST_CASE("json: equality") {
  CHECK(Json(1) == Json(1));
  CHECK(Json(1) != Json(1.0));
  CHECK(Json::object({{"a", 1}, {"b", 2}}) == Json::object({{"b", 2}, {"a", 1}}));
  CHECK(Json::object({{"a", 1}}) != Json::object({{"a", 2}}));
  CHECK(Json::array({1, 2}) != Json::array({2, 1}));
}

TEST_CASE("json: objects keep insertion order") {
  Json obj = Json::object();
  obj["z"] = 1;
  obj["a"] = 2;
  obj["m"] = 3;
  obj["a"] = 20;  // replaced in place
  CHECK(obj.dump() == R"({"z":1,"a":20,"m":3})");
  CHECK(parse_json(R"({"b":1,"a":2,"b":3})").dump() == R"({"b":3,"a":2})");

  // Large objects switch to a hash index; order, lookup and erase must still work.
  Json big = Json::object();
  for (int i = 99; i >= 0; --i) big[std::to_string(i)] = i;
  CHECK(big.size() == 100);
  CHECK(big.as_object().members().front().first == "99");
  CHECK(big.as_object().members().back().first == "0");
  for (int i = 0; i < 100; ++i) CHECK(big.at(std::to_string(i)).as_int() == i);
  CHECK(big.as_object().erase("50"));
  CHECK_FALSE(big.as_object().erase("50"));
  CHECK_FALSE(big.contains("50"));
  CHECK(big.at("49").as_int() == 49);
  CHECK(big.size() == 99);
  Json copy = parse_json(big.dump());
  CHECK(copy == big);
  CHECK(copy.dump() == big.dump());
}

TEST_CASE("json: compact and pretty writing") {
  Json obj = Json::object({{"name", "llmc"},
                           {"version", 1},
                           {"tags", Json::array({"a", "b"})},
                           {"empty", Json::object()},
                           {"none", nullptr},
                           {"list", Json::array()}});
  CHECK(obj.dump() ==
        R"({"name":"llmc","version":1,"tags":["a","b"],"empty":{},"none":null,"list":[]})");
  CHECK(obj.dump(2) ==
        "{\n"
        "  \"name\": \"llmc\",\n"
        "  \"version\": 1,\n"
        "  \"tags\": [\n"
        "    \"a\",\n"
        "    \"b\"\n"
        "  ],\n"
        "  \"empty\": {},\n"
        "  \"none\": null,\n"
        "  \"list\": []\n"
        "}");
  CHECK(Json::array({1, Json::array({2})}).dump(0) == "[\n1,\n[\n2\n]\n]");
  CHECK(Json(5).dump(4) == "5");
}

TEST_CASE("json: numbers") {
  CHECK(Json(1).dump() == "1");
  CHECK(Json(-42).dump() == "-42");
  CHECK(Json(1.0).dump() == "1.0");  // stays recognizably a double
  CHECK(Json(-0.0).dump() == "-0.0");
  CHECK(Json(0.1).dump() == "0.1");
  CHECK(Json(1e300).dump() == "1e+300");
  CHECK(Json(1e16).dump() == "1e+16");
  CHECK(Json(2.5e-8).dump() == "2.5e-08");
  CHECK(parse_json(Json(1.0).dump()).is_double());
  CHECK(parse_json(Json(1e16).dump()).is_double());

  // Shortest round trip keeps every bit.
  for (double d : {0.1, 0.30000000000000004, 1.0 / 3.0, 5e-324, 1.7976931348623157e308,
                   -123.456e-78, 2.2250738585072014e-308}) {
    CAPTURE(d);
    CHECK(parse_json(Json(d).dump()).as_double() == d);
  }

  // NaN and infinities are not JSON.
  CHECK(Json(std::nan("")).dump() == "null");
  CHECK(Json(std::numeric_limits<double>::infinity()).dump() == "null");
  CHECK(Json::array({-std::numeric_limits<double>::infinity()}).dump() == "[null]");

  // Integers that fit int64 stay integers; bigger ones become doubles.
  CHECK(parse_json("0").as_int() == 0);
  CHECK(parse_json("-0").is_int());
  CHECK(parse_json("9223372036854775807").as_int() == std::numeric_limits<int64_t>::max());
  CHECK(parse_json("-9223372036854775808").as_int() == std::numeric_limits<int64_t>::min());
  Json too_big = parse_json("9223372036854775808");
  CHECK(too_big.is_double());
  CHECK(too_big.as_double() == 9223372036854775808.0);
  CHECK(parse_json("-9223372036854775809").is_double());
  CHECK(parse_json("123456789012345678901234567890").as_double() == 1.2345678901234568e29);
  CHECK(parse_json("1.0").is_double());
  CHECK(parse_json("1e2").is_double());
  CHECK(parse_json("1e2").as_double() == 100.0);
  CHECK(parse_json("1E+2").as_double() == 100.0);
  CHECK(parse_json("-2.5e-3").as_double() == -0.0025);
  CHECK(parse_json("1e-400").as_double() == 0.0);  // underflow rounds to zero
  CHECK(std::signbit(parse_json("-1e-400").as_double()));
  CHECK(parse_json("0.0000000000000000000000001e-400").as_double() == 0.0);
  CHECK(Json(std::numeric_limits<int64_t>::min()).dump() == "-9223372036854775808");
}

TEST_CASE("json: string escapes") {
  CHECK(Json("plain").dump() == R"("plain")");
  CHECK(Json("q\"b\\s/").dump() == R"("q\"b\\s/")");
  CHECK(Json("\b\f\n\r\t").dump() == R"("\b\f\n\r\t")");
  CHECK(Json(std::string("\x01\x1f\x7f", 3)).dump() == "\"\\u0001\\u001f\x7f\"");
  CHECK(Json(std::string("a\0b", 3)).dump() == R"("a\u0000b")");
  CHECK(Json("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80").dump() ==
        "\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\"");  // UTF-8 passes through
  // Ill-formed UTF-8 is replaced by U+FFFD (EF BF BD), one per byte nlohmann rejects.
  CHECK(Json(std::string("a\xFFz")).dump() == "\"a\xEF\xBF\xBDz\"");
  CHECK(Json(std::string("a\xE2\x82")).dump() == "\"a\xEF\xBF\xBD\"");  // truncated
  CHECK(Json(std::string("\xC0\xAF")).dump() == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong
  CHECK(Json::object({{"k\xFF", "v"}}).dump() == "{\"k\xEF\xBF\xBD\":\"v\"}");  // keys too
  CHECK(parse_json(Json(std::string("\xF4\x90\x80\x80")).dump()).is_string());

  CHECK(parse_json(R"("\"\\\/\b\f\n\r\t")").as_string() == "\"\\/\b\f\n\r\t");
  CHECK(parse_json(R"("\u0041\u00e9\u20AC")").as_string() == "A\xC3\xA9\xE2\x82\xAC");
  CHECK(parse_json(R"("\uD83D\uDE00")").as_string() == "\xF0\x9F\x98\x80");  // surrogate pair
  CHECK(parse_json(R"("\udbff\udfff")").as_string() == "\xF4\x8F\xBF\xBF");  // U+10FFFF
  CHECK(parse_json(R"("\u0000")").as_string() == std::string(1, '\0'));
  CHECK(parse_json("\"h\xC3\xA9llo \xF0\x9F\x98\x80\"").as_string() ==
        "h\xC3\xA9llo \xF0\x9F\x98\x80");

  // Every ASCII character survives a round trip.
  std::string all;
  for (int c = 0; c < 128; ++c) all += static_cast<char>(c);
  CHECK(parse_json(Json(all).dump()).as_string() == all);
}

TEST_CASE("json: round trips") {
  std::string text =
      R"({"model":"m.onnx","layers":[{"name":"a","bits":8,"scale":0.125,"skip":false},)"
      R"({"name":"b","bits":4,"scale":1e-05,"skip":true,"note":null}],"nested":[[[]],{}],)"
      R"("unicode":"\u00e9\ud83d\ude00","neg":-3,"big":1.8446744073709552e+19})";
  Json value = parse_json(text);
  std::string compact = value.dump();
  CHECK(parse_json(compact) == value);
  CHECK(parse_json(compact).dump() == compact);
  CHECK(parse_json(value.dump(2)) == value);
  CHECK(parse_json(value.dump(2)).dump(2) == value.dump(2));
  CHECK(value["layers"][1]["scale"].as_double() == 1e-5);
  CHECK(value["unicode"].as_string() == "\xC3\xA9\xF0\x9F\x98\x80");

  // Whitespace of all four kinds around values.
  CHECK(parse_json(" \t\r\n[ 1 ,\n\t2 ] \n") == Json::array({1, 2}));
  CHECK(parse_json("true").as_bool());
  CHECK_FALSE(parse_json("false").as_bool());
  CHECK(parse_json("null").is_null());
  CHECK(parse_json(R"("")").as_string().empty());
}

TEST_CASE("json: parse error positions") {
  // nlohmann's messages; the position is the last character its parser read (the end of the
  // offending token).
  check_error(R"({"a": 1 "b": 2})", 1, 11, "unexpected string literal; expected '}'");
  check_error("[\n  1,\n  2,\n]", 4, 1, "unexpected ']'; expected '[', '{', or a literal");
  check_error("{\n  \"key\": tru\n}", 2, 13, "invalid literal");
  // Columns count characters: the two-byte 'é' is one column.
  check_error("[\"h\xC3\xA9llo\", @]", 1, 11, "invalid literal; last read: '\"h\xC3\xA9llo\", @'");
  check_error("{\"a\":\r\n [1,\r\n  {\"b\" 2}]}", 3, 8,
              "syntax error while parsing object separator - unexpected number literal; "
              "expected ':'");
}

TEST_CASE("json: every kind of parse error") {
  // Values
  check_error("", 1, 1, "unexpected end of input; expected '[', '{', or a literal");
  check_error("   ", 1, 4, "unexpected end of input");
  check_error("+1", 1, 1, "invalid literal; last read: '+'");
  check_error(".5", 1, 1, "invalid literal; last read: '.'");
  check_error("'a'", 1, 1, "invalid literal; last read: '''");
  check_error(std::string(1, '\x01'), 1, 1, "invalid literal; last read: '<U+0001>'");
  check_error("True", 1, 1, "invalid literal; last read: 'T'");
  check_error("nul", 1, 4, "invalid literal; last read: 'nul'");
  check_error("NaN", 1, 1, "invalid literal; last read: 'N'");
  check_error("[Infinity]", 1, 2, "invalid literal; last read: '[I'");
  check_error("truex", 1, 5, "invalid literal; last read: 'truex'; expected end of input");
  // Arrays
  check_error("[1,2", 1, 5, "parsing array - unexpected end of input; expected ']'");
  check_error("[1 2]", 1, 4, "parsing array - unexpected number literal; expected ']'");
  check_error("[1,]", 1, 4, "unexpected ']'; expected '[', '{', or a literal");
  check_error("[,1]", 1, 2, "unexpected ','");
  check_error("[", 1, 2, "unexpected end of input");
  // Objects
  check_error("{", 1, 2, "parsing object key - unexpected end of input; expected string literal");
  check_error("{1:2}", 1, 2, "unexpected number literal; expected string literal");
  check_error(R"({"a":1,})", 1, 8, "parsing object key - unexpected '}'; expected string literal");
  check_error(R"({"a":1,2})", 1, 8, "unexpected number literal; expected string literal");
  check_error(R"({"a" 1})", 1, 6, "parsing object separator - unexpected number literal");
  check_error(R"({"a":})", 1, 6, "unexpected '}'; expected '[', '{', or a literal");
  check_error(R"({"a":1)", 1, 7, "parsing object - unexpected end of input; expected '}'");
  // Strings
  check_error(R"("abc)", 1, 5, "invalid string: missing closing quote");
  check_error(R"(["abc\)", 1, 7, "invalid string: forbidden character after backslash");
  check_error("\"a\nb\"", 1, 3, "control character U+000A (LF) must be escaped");
  check_error("\"a\tb\"", 1, 3, "control character U+0009 (HT) must be escaped");
  check_error(R"("\x")", 1, 3, "forbidden character after backslash; last read: '\"\\x'");
  check_error(R"("\U0041")", 1, 3, "forbidden character after backslash");
  check_error(R"("\u12")", 1, 6, "'\\u' must be followed by 4 hex digits");
  check_error(R"("\u12G4")", 1, 6, "'\\u' must be followed by 4 hex digits");
  check_error(R"("ab\uD83D")", 1, 10, "surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
  check_error(R"("\uD83Dx")", 1, 8, "must be followed by U+DC00..U+DFFF");
  check_error(R"("\uDE00")", 1, 7, "surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
  check_error(R"("\uD83D\u0041")", 1, 13, "must be followed by U+DC00..U+DFFF");
  check_error(R"("\uD83D\uD83D")", 1, 13, "must be followed by U+DC00..U+DFFF");
  check_error("\"\xFF\"", 1, 2, "invalid string: ill-formed UTF-8 byte");
  check_error("\"\xC0\xAF\"", "ill-formed UTF-8 byte");          // overlong '/'
  check_error("\"\xED\xA0\x80\"", "ill-formed UTF-8 byte");      // encoded surrogate
  check_error("\"\xF4\x90\x80\x80\"", "ill-formed UTF-8 byte");  // above U+10FFFF
  check_error("\"\xE2\x82\"", "ill-formed UTF-8 byte");          // truncated sequence
  // Numbers
  check_error("01", 1, 2, "unexpected number literal; expected end of input");
  check_error("-012", 1, 4, "unexpected number literal; expected end of input");
  check_error("-", 1, 2, "invalid number; expected digit after '-'");
  check_error("-a", 1, 2, "invalid number; expected digit after '-'");
  check_error("1.", 1, 3, "invalid number; expected digit after '.'");
  check_error("1.e5", 1, 3, "invalid number; expected digit after '.'");
  check_error("1e", 1, 3, "expected '+', '-', or digit after exponent");
  check_error("1e+", 1, 4, "expected digit after exponent sign");
  check_error("[1e400]", 1, 6, "number overflow parsing '1e400'");
  check_error("-1e99999999999999999999", 1, 23, "number overflow");
  // Trailing garbage
  check_error("[1] x", 1, 5, "expected end of input");
  check_error("{} {}", 1, 4, "unexpected '{'; expected end of input");
  check_error("1 2", 1, 3, "expected end of input");
  check_error("123abc", 1, 4, "expected end of input");
  // nlohmann's lexer ends the input at a NUL byte between tokens; llmc does not.
  check_error(std::string("null\0", 5), 1, 5, "unexpected NUL byte after the JSON value");
  check_error(std::string("[1]\0[2]", 7), 1, 4, "unexpected NUL byte");
  check_error(std::string("[1,\0 2]", 7), 1, 4, "unexpected end of input");
  check_error(std::string("\"a\0\"", 4), 1, 3, "control character U+0000 (NUL) must be escaped");
}

TEST_CASE("json: a UTF-8 byte order mark before the value is skipped") {
  CHECK(parse_json("\xEF\xBB\xBF{}") == Json::object());
  CHECK(parse_json("\xEF\xBB\xBF[1]") == Json::array({1}));
  check_error(" \xEF\xBB\xBF{}", 1, 2, "invalid literal");
}

TEST_CASE("json: nesting depth limit") {
  constexpr int kMax = llmc::util::kJsonMaxDepth;
  std::string ok = std::string(kMax, '[') + std::string(kMax, ']');
  CHECK(parse_json(ok).is_array());

  std::string too_deep = std::string(kMax + 1, '[') + std::string(kMax + 1, ']');
  check_error(too_deep, 1, kMax + 1, "nesting deeper than 512");

  std::string objects;
  for (int i = 0; i <= kMax; ++i) objects += "{\"a\":";
  check_error(objects, "nesting deeper than 512");

  // Far deeper input is still a clean error, not a stack overflow.
  check_error(std::string(1'000'000, '['), 1, kMax + 1, "nesting deeper than");
}
