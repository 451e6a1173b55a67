#pragma once
// A small, strict JSON reader and string writer for the file headers frost reads and writes
// (safetensors headers, saved genotypes). It accepts exactly the JSON subset those formats use:
// objects, arrays, strings (all escapes, \u surrogate pairs, UTF-8 validated) and integers.
// Anything else (fractions, exponents, true/false/null, duplicate object keys, trailing
// commas, trailing garbage, nesting beyond kMaxJsonDepth) is an error that gives the byte
// offset, because a header that does not parse exactly is a corrupt file, not something to
// guess at.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "frost/core/error.hpp"

namespace frost::io {

inline constexpr int kMaxJsonDepth = 64;

struct JsonValue {
  enum class Kind { kObject, kArray, kString, kInteger };

  Kind kind = Kind::kInteger;
  std::int64_t integer = 0;
  std::string string;
  std::vector<std::string> keys;  // object keys, in file order, parallel to items
  std::vector<JsonValue> items;   // array elements or object values

  bool is_object() const { return kind == Kind::kObject; }
  bool is_array() const { return kind == Kind::kArray; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_integer() const { return kind == Kind::kInteger; }

  // Object member by key, or nullptr.
  const JsonValue* find(std::string_view key) const {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &items[i];
    }
    return nullptr;
  }
};

inline const char* json_kind_name(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kObject:
      return "object";
    case JsonValue::Kind::kArray:
      return "array";
    case JsonValue::Kind::kString:
      return "string";
    case JsonValue::Kind::kInteger:
      return "integer";
  }
  return "?";
}

// Offset of the first byte that is not part of valid UTF-8 (overlong forms, surrogates and code
// points past U+10FFFF are invalid), or npos.
inline std::size_t first_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    const unsigned c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (s[i + k] & 0xC0) == 0x80;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (!ok || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

namespace detail {

class JsonParser {
 public:
  // `op` and `source` prefix every error message ("read_safetensors", "'model.safetensors'").
  JsonParser(std::string_view text, const char* op, std::string source)
      : text_(text), op_(op), source_(std::move(source)) {}

  JsonValue parse_document() {
    validate_utf8();
    JsonValue v = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected trailing characters");
    return v;
  }

 private:
  template <class... Parts>
  [[noreturn]] void fail(const Parts&... what) const {
    frost::detail::throw_error(op_, source_, ": malformed JSON header at byte ", pos_, ": ",
                               what...);
  }

  void validate_utf8() {
    pos_ = first_invalid_utf8(text_);
    if (pos_ != std::string_view::npos) fail("invalid UTF-8");
    pos_ = 0;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  char peek() {
    if (pos_ >= text_.size()) fail("unexpected end of header");
    return text_[pos_];
  }

  void expect(char c) {
    if (peek() != c) fail("expected '", c, "', found '", text_[pos_], "'");
    ++pos_;
  }

  JsonValue parse_value(int depth) {
    if (depth > kMaxJsonDepth) fail("nesting deeper than ", kMaxJsonDepth);
    skip_space();
    const char c = peek();
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    JsonValue v;
    if (c == '"') {
      v.kind = JsonValue::Kind::kString;
      v.string = parse_string();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = JsonValue::Kind::kInteger;
      v.integer = parse_integer();
      return v;
    }
    fail("unexpected character '", c, "' (only objects, arrays, strings and integers are allowed)");
  }

  JsonValue parse_object(int depth) {
    JsonValue v;
    v.kind = JsonValue::Kind::kObject;
    expect('{');
    skip_space();
    if (peek() == '}') {
      ++pos_;
      return v;
    }
    for (;;) {
      skip_space();
      const std::size_t key_pos = pos_;
      if (peek() != '"') fail("expected a string key");
      std::string key = parse_string();
      if (v.find(key) != nullptr) {
        pos_ = key_pos;
        fail("duplicate key \"", key, "\"");
      }
      skip_space();
      expect(':');
      v.keys.push_back(std::move(key));
      v.items.push_back(parse_value(depth + 1));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return v;
    }
  }

  JsonValue parse_array(int depth) {
    JsonValue v;
    v.kind = JsonValue::Kind::kArray;
    expect('[');
    skip_space();
    if (peek() == ']') {
      ++pos_;
      return v;
    }
    for (;;) {
      v.items.push_back(parse_value(depth + 1));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return v;
    }
  }

  std::int64_t parse_integer() {
    const bool negative = text_[pos_] == '-';
    if (negative) ++pos_;
    if (peek() < '0' || peek() > '9') fail("expected a digit");
    if (peek() == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' &&
        text_[pos_ + 1] <= '9') {
      fail("leading zero in a number");
    }
    // Accumulate as a negative number: its range includes INT64_MIN.
    std::int64_t value = 0;
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_] - '0';
      if (value < (kMin + digit) / 10) fail("integer out of the 64-bit range");
      value = value * 10 - digit;
      ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      fail("non-integer number (shapes, offsets and sizes are integers)");
    }
    if (!negative && value == kMin) fail("integer out of the 64-bit range");
    return negative ? value : -value;
  }

  std::uint32_t parse_hex4() {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = peek();
      ++pos_;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        --pos_;
        fail("bad \\u escape");
      }
    }
    return v;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | cp >> 12);
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | cp >> 18);
      out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    for (;;) {
      const char c = peek();
      ++pos_;
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        fail("unescaped control character in a string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      const char e = peek();
      ++pos_;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 1 >= text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
              fail("unpaired high surrogate in \\u escape");
            }
            pos_ += 2;
            const std::uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("bad low surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          fail("bad escape '\\", e, "'");
      }
    }
  }

  std::string_view text_;
  const char* op_;
  std::string source_;
  std::size_t pos_ = 0;
};

}  // namespace detail

// Parses a complete JSON document. Errors read "<op>: <source>: malformed JSON header at
// byte <n>: <what>".
inline JsonValue parse_json(std::string_view text, const char* op, const std::string& source) {
  return detail::JsonParser(text, op, source).parse_document();
}

// Appends `s` as a JSON string literal: quotes, backslashes and control characters escaped,
// everything else (UTF-8 included) copied.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace frost::io
