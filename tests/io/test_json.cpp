#include <frost/io/json.hpp>

#include <catch2/catch.hpp>

#include <string>

using Catch::Matchers::Contains;
using frost::io::JsonValue;

namespace {

JsonValue parse(const std::string& text) {
  return frost::io::parse_json(text, "test", "'x'");
}

}  // namespace

TEST_CASE("json parses objects, arrays, strings and integers", "[io][json]") {
  const JsonValue v = parse(R"( {"a": [1, -2, 0, [], {}], "b": {"c": "d"}, "e": ""}  )");
  REQUIRE(v.is_object());
  REQUIRE(v.keys == std::vector<std::string>{"a", "b", "e"});
  const JsonValue& a = *v.find("a");
  REQUIRE(a.is_array());
  REQUIRE(a.items.size() == 5);
  REQUIRE(a.items[0].integer == 1);
  REQUIRE(a.items[1].integer == -2);
  REQUIRE(a.items[2].integer == 0);
  REQUIRE(a.items[3].is_array());
  REQUIRE(a.items[3].items.empty());
  REQUIRE(a.items[4].is_object());
  REQUIRE(v.find("b")->find("c")->string == "d");
  REQUIRE(v.find("e")->string.empty());
  REQUIRE(v.find("missing") == nullptr);
}

TEST_CASE("json string escapes decode to UTF-8", "[io][json]") {
  const JsonValue v = parse(R"(["q\"b\\s\/\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "é€"])");
  REQUIRE(v.items[0].string == "q\"b\\s/\b\f\n\r\t");
  REQUIRE(v.items[1].string == "\xC3\xA9\xE2\x82\xAC");  // é, €
  REQUIRE(v.items[2].string == "\xF0\x9F\x98\x80");      // U+1F600 from a surrogate pair
  REQUIRE(v.items[3].string == "\xC3\xA9\xE2\x82\xAC");  // raw UTF-8 passes through

  // The writer's escaping parses back to the same bytes.
  const std::string nasty = std::string("a\"b\\c\n\x01\x1f\t\r") + "\xC3\xA9";
  std::string doc;
  frost::io::append_json_string(doc, nasty);
  REQUIRE(doc == "\"a\\\"b\\\\c\\n\\u0001\\u001f\\t\\r\xC3\xA9\"");
  REQUIRE(parse(doc).string == nasty);
}

TEST_CASE("json integers cover the 64-bit range exactly", "[io][json]") {
  REQUIRE(parse("9223372036854775807").integer == INT64_MAX);
  REQUIRE(parse("-9223372036854775808").integer == INT64_MIN);
  REQUIRE_THROWS_WITH(parse("9223372036854775808"), Contains("out of the 64-bit range"));
  REQUIRE_THROWS_WITH(parse("-9223372036854775809"), Contains("out of the 64-bit range"));
  REQUIRE_THROWS_WITH(parse("99999999999999999999999"), Contains("out of the 64-bit range"));
}

TEST_CASE("json rejects everything outside the strict subset", "[io][json][errors]") {
  const std::pair<const char*, const char*> cases[] = {
      {"", "unexpected end"},
      {"{", "unexpected end"},
      {R"({"a":1,})", "expected a string key"},
      {"[1,]", "unexpected character ']'"},
      {"[1 2]", "expected ']'"},
      {R"({"a" 1})", "expected ':'"},
      {R"({"a":1,"a":2})", "duplicate key \"a\""},
      {R"("abc)", "unexpected end"},
      {"\"a\nb\"", "unescaped control character"},
      {R"("\x")", "bad escape"},
      {R"("\u12G4")", "bad \\u escape"},
      {R"("\ud800")", "unpaired high surrogate"},
      {R"("\udc00")", "unpaired low surrogate"},
      {R"("\ud800\u0041")", "bad low surrogate"},
      {"1.5", "non-integer number"},
      {"1e3", "non-integer number"},
      {"012", "leading zero"},
      {"-x", "expected a digit"},
      {"-", "unexpected end"},
      {"true", "unexpected character 't'"},
      {"null", "unexpected character 'n'"},
      {"{} x", "unexpected trailing characters"},
      {"\"\xC0\xAF\"", "invalid UTF-8"},          // overlong '/'
      {"\"\xED\xA0\x80\"", "invalid UTF-8"},      // encoded surrogate
      {"\"\xF4\x90\x80\x80\"", "invalid UTF-8"},  // past U+10FFFF
      {"\"\xE2\x82\"", "invalid UTF-8"},          // cut sequence
  };
  for (const auto& [text, what] : cases) {
    INFO("input: " << text);
    REQUIRE_THROWS_WITH(parse(text),
                        Contains("test: 'x': malformed JSON header at byte") && Contains(what));
  }
  // Deep nesting is refused before it can exhaust the stack.
  REQUIRE_THROWS_WITH(parse(std::string(100000, '[')), Contains("nesting deeper than"));
  REQUIRE(parse(std::string(60, '[') + std::string(60, ']')).is_array());
}

TEST_CASE("json errors give the byte offset", "[io][json][errors]") {
  REQUIRE_THROWS_WITH(parse(R"({"a":1,"a":2})"), Contains("at byte 7:"));
  REQUIRE_THROWS_WITH(parse("[1, 2, x]"), Contains("at byte 7:"));
}
