#pragma once
// The safetensors file format (the weights format PyTorch users exchange), at the byte level:
//
//   [8 bytes]  N, the header length, little-endian u64
//   [N bytes]  a UTF-8 JSON object: {"__metadata__": {str: str} (optional),
//              "<tensor name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//              ...}, padded with spaces so that the data starts 8-byte aligned
//   [rest]     the byte buffer; offsets are relative to its start, elements little-endian
//
// The reader trusts nothing: every tensor's offsets must lie in the buffer, match its shape and
// dtype exactly, and the tensors must tile the buffer with no gap or overlap (the reference
// implementation's rules). Any violation is a frost::Error naming the file and the tensor.
// The writer emits compact JSON with the metadata first and the tensors in name order (a
// deterministic, diffable header), pads it with spaces to a multiple of 8 bytes as the
// reference implementation does, and lays out the data by decreasing element size, then name,
// so that every tensor is aligned to its element size when the file is memory-mapped (the
// reference orders by dtype for the same reason). It replaces the target file atomically.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/io/file.hpp"
#include "frost/io/json.hpp"

namespace frost::io {

static_assert(
    std::endian::native == std::endian::little,
    "frost's safetensors code copies element bytes as they are: little-endian hosts only");

// Every dtype the format defines. Files with any of them load at the byte level; converting
// to a frost Tensor supports the subset frost has.
enum class SafetensorsDType {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64
};

namespace detail {

struct SafetensorsDTypeInfo {
  SafetensorsDType dtype;
  std::string_view name;
  std::size_t size;
};

inline constexpr SafetensorsDTypeInfo kSafetensorsDTypes[] = {
    {SafetensorsDType::kBool, "BOOL", 1},      {SafetensorsDType::kU8, "U8", 1},
    {SafetensorsDType::kI8, "I8", 1},          {SafetensorsDType::kF8E5M2, "F8_E5M2", 1},
    {SafetensorsDType::kF8E4M3, "F8_E4M3", 1}, {SafetensorsDType::kI16, "I16", 2},
    {SafetensorsDType::kU16, "U16", 2},        {SafetensorsDType::kF16, "F16", 2},
    {SafetensorsDType::kBF16, "BF16", 2},      {SafetensorsDType::kI32, "I32", 4},
    {SafetensorsDType::kU32, "U32", 4},        {SafetensorsDType::kF32, "F32", 4},
    {SafetensorsDType::kF64, "F64", 8},        {SafetensorsDType::kI64, "I64", 8},
    {SafetensorsDType::kU64, "U64", 8},
};

inline const SafetensorsDTypeInfo& dtype_info(SafetensorsDType dtype) {
  for (const auto& info : kSafetensorsDTypes) {
    if (info.dtype == dtype) return info;
  }
  throw Error("safetensors: invalid SafetensorsDType value " +
              std::to_string(static_cast<int>(dtype)));
}

}  // namespace detail

inline std::string_view safetensors_dtype_name(SafetensorsDType dtype) {
  return detail::dtype_info(dtype).name;
}
inline std::size_t safetensors_dtype_size(SafetensorsDType dtype) {
  return detail::dtype_info(dtype).size;
}

inline std::optional<SafetensorsDType> parse_safetensors_dtype(std::string_view name) {
  for (const auto& info : detail::kSafetensorsDTypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

// A tensor whose bytes are borrowed: the input of the writer, and what parse_safetensors
// returns (pointing into the file buffer it was given).
struct SafetensorsView {
  std::string name;
  SafetensorsDType dtype = SafetensorsDType::kF32;
  std::vector<std::int64_t> shape;
  std::span<const std::uint8_t> bytes;
};

// A tensor read from a file, owning its bytes (little-endian, row-major).
struct SafetensorsRecord {
  std::string name;
  SafetensorsDType dtype = SafetensorsDType::kF32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

namespace detail {

template <class Tensor>
const Tensor* find_by_name(const std::vector<Tensor>& tensors, std::string_view name) {
  for (const auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace detail

// A parsed file whose tensors point into the caller's buffer.
struct SafetensorsIndex {
  std::vector<SafetensorsView> tensors;  // in header order (sorted by name in frost's files)
  std::map<std::string, std::string> metadata;

  const SafetensorsView* find(std::string_view name) const {
    return detail::find_by_name(tensors, name);
  }
};

// A file read into memory, each tensor owning its bytes.
struct SafetensorsContents {
  std::vector<SafetensorsRecord> tensors;  // in header order (sorted by name in frost's files)
  std::map<std::string, std::string> metadata;

  const SafetensorsRecord* find(std::string_view name) const {
    return detail::find_by_name(tensors, name);
  }
};

inline constexpr std::string_view kSafetensorsMetadataKey = "__metadata__";
// The reference implementation refuses larger headers; so does frost, before allocating.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

namespace detail {

// Element count of `shape`, or nullopt when a dimension is negative or the product (times
// `elem_size`) does not fit in 64 bits.
inline std::optional<std::uint64_t> shape_bytes(const std::vector<std::int64_t>& shape,
                                                std::size_t elem_size) {
  std::uint64_t n = elem_size;
  for (const std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    const auto ud = static_cast<std::uint64_t>(d);
    if (ud != 0 && n > UINT64_MAX / ud) return std::nullopt;
    n *= ud;
  }
  return n;
}

inline std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace detail

// Parses and validates a whole safetensors file held in memory; the returned views borrow
// `file`. `source` names the file in errors.
inline SafetensorsIndex parse_safetensors(std::span<const std::uint8_t> file,
                                          const std::string& source) {
  constexpr const char* kOp = "read_safetensors";
  const std::string where = frost::detail::concat_message("'", source, "'");
  FROST_CHECK(file.size() >= 8, kOp, where, ": file too short (", file.size(),
              " bytes) for the 8-byte header length");
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | file[static_cast<std::size_t>(i)];
  FROST_CHECK(header_len <= kMaxSafetensorsHeaderBytes, kOp, where, ": header length ", header_len,
              " exceeds the format's limit of ", kMaxSafetensorsHeaderBytes);
  FROST_CHECK(header_len <= file.size() - 8, kOp, where, ": header length ", header_len,
              " runs past the end of the file (", file.size(), " bytes): truncated file?");
  const std::string_view header(reinterpret_cast<const char*>(file.data() + 8), header_len);
  FROST_CHECK(!header.empty() && header.front() == '{', kOp, where,
              ": the JSON header does not start with '{'");
  const JsonValue root = parse_json(header, kOp, where);
  FROST_CHECK(root.is_object(), kOp, where, ": the JSON header is not an object");

  const std::span<const std::uint8_t> buffer = file.subspan(8 + header_len);
  SafetensorsIndex out;
  struct Extent {
    std::uint64_t begin, end;
    std::size_t index;
  };
  std::vector<Extent> extents;

  for (std::size_t k = 0; k < root.keys.size(); ++k) {
    const std::string& name = root.keys[k];
    const JsonValue& entry = root.items[k];
    if (name == kSafetensorsMetadataKey) {
      FROST_CHECK(entry.is_object(), kOp, where, ": __metadata__ must be an object of strings");
      for (std::size_t m = 0; m < entry.keys.size(); ++m) {
        FROST_CHECK(entry.items[m].is_string(), kOp, where, ": __metadata__ value \"",
                    entry.keys[m], "\" is a JSON ", json_kind_name(entry.items[m].kind),
                    ", expected a string");
        out.metadata.emplace(entry.keys[m], entry.items[m].string);
      }
      continue;
    }
    const std::string tensor = frost::detail::concat_message(where, ": tensor \"", name, "\"");
    FROST_CHECK(entry.is_object(), kOp, tensor, ": entry is a JSON ", json_kind_name(entry.kind),
                ", expected an object");
    for (const std::string& key : entry.keys) {
      FROST_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", kOp, tensor,
                  ": unknown field \"", key, "\"");
    }
    const JsonValue* dtype = entry.find("dtype");
    const JsonValue* shape = entry.find("shape");
    const JsonValue* offsets = entry.find("data_offsets");
    FROST_CHECK(dtype && dtype->is_string(), kOp, tensor, ": missing or non-string \"dtype\"");
    FROST_CHECK(shape && shape->is_array(), kOp, tensor, ": missing or non-array \"shape\"");
    FROST_CHECK(offsets && offsets->is_array() && offsets->items.size() == 2, kOp, tensor,
                ": \"data_offsets\" must be an array [begin, end]");

    SafetensorsView rec;
    rec.name = name;
    const auto parsed_dtype = parse_safetensors_dtype(dtype->string);
    FROST_CHECK(parsed_dtype.has_value(), kOp, tensor, ": unknown dtype \"", dtype->string, "\"");
    rec.dtype = *parsed_dtype;
    for (const JsonValue& d : shape->items) {
      FROST_CHECK(d.is_integer() && d.integer >= 0, kOp, tensor,
                  ": shape entries must be non-negative integers");
      rec.shape.push_back(d.integer);
    }
    for (const JsonValue& o : offsets->items) {
      FROST_CHECK(o.is_integer() && o.integer >= 0, kOp, tensor,
                  ": data_offsets must be non-negative integers");
    }
    const auto begin = static_cast<std::uint64_t>(offsets->items[0].integer);
    const auto end = static_cast<std::uint64_t>(offsets->items[1].integer);
    FROST_CHECK(begin <= end, kOp, tensor, ": data_offsets [", begin, ", ", end,
                "] end before they begin");
    FROST_CHECK(end <= buffer.size(), kOp, tensor, ": data_offsets [", begin, ", ", end,
                "] out of range: the data buffer holds ", buffer.size(), " bytes");
    const auto expected = detail::shape_bytes(rec.shape, safetensors_dtype_size(rec.dtype));
    FROST_CHECK(expected.has_value() && *expected == end - begin, kOp, tensor, ": shape ",
                detail::shape_string(rec.shape), " of ", dtype->string, " needs ",
                expected ? std::to_string(*expected) : std::string("more than 2^64"),
                " bytes but data_offsets [", begin, ", ", end, "] span ", end - begin);
    extents.push_back({begin, end, out.tensors.size()});
    out.tensors.push_back(std::move(rec));
  }

  // The tensors must tile the buffer exactly: sorted by offset, each starts where the
  // previous one ended, and the last one ends at the end of the file.
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < extents.size(); ++i) {
    const Extent& e = extents[i];
    const std::string& name = out.tensors[e.index].name;
    FROST_CHECK(e.begin >= covered, kOp, where, ": tensor \"", name, "\" at [", e.begin, ", ",
                e.end, ") overlaps tensor \"", out.tensors[extents[i - 1].index].name,
                "\" ending at ", covered);
    FROST_CHECK(e.begin == covered, kOp, where, ": tensor \"", name, "\" starts at ", e.begin,
                ", leaving a gap after byte ", covered, " of the data buffer");
    covered = e.end;
  }
  FROST_CHECK(covered == buffer.size(), kOp, where, ": the data buffer holds ", buffer.size(),
              " bytes but the tensors cover only ", covered);
  for (const Extent& e : extents) {
    out.tensors[e.index].bytes = buffer.subspan(e.begin, e.end - e.begin);
  }
  return out;
}

inline SafetensorsContents read_safetensors(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> file = read_file(path, "read_safetensors");
  SafetensorsIndex index = parse_safetensors(file, path.string());
  SafetensorsContents out;
  out.metadata = std::move(index.metadata);
  for (auto& view : index.tensors) {
    out.tensors.push_back({std::move(view.name), view.dtype, std::move(view.shape),
                           std::vector<std::uint8_t>(view.bytes.begin(), view.bytes.end())});
  }
  return out;
}

// Writes `tensors` and `metadata` to `path`, replacing it atomically: on any error (a
// shape that does not match the byte count, duplicate or invalid names, a full disk) the old
// file, if any, is untouched and no partial file is left behind.
inline void write_safetensors(const std::filesystem::path& path,
                              std::span<const SafetensorsView> tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  constexpr const char* kOp = "write_safetensors";
  const std::string where = frost::detail::concat_message("'", path.string(), "'");
  for (const auto& [key, value] : metadata) {
    FROST_CHECK(first_invalid_utf8(key) == std::string_view::npos &&
                    first_invalid_utf8(value) == std::string_view::npos,
                kOp, where, ": metadata \"", key, "\" is not valid UTF-8");
  }

  // Header order: by name. Data order: by decreasing element size, then name.
  std::vector<const SafetensorsView*> by_name;
  for (const auto& t : tensors) by_name.push_back(&t);
  std::sort(by_name.begin(), by_name.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  for (std::size_t i = 0; i < by_name.size(); ++i) {
    const SafetensorsView& t = *by_name[i];
    FROST_CHECK(t.name != kSafetensorsMetadataKey, kOp, where, ": \"", t.name,
                "\" is reserved for metadata and cannot name a tensor");
    FROST_CHECK(first_invalid_utf8(t.name) == std::string_view::npos, kOp, where,
                ": tensor name \"", t.name, "\" is not valid UTF-8");
    FROST_CHECK(i == 0 || by_name[i - 1]->name != t.name, kOp, where, ": duplicate tensor \"",
                t.name, "\"");
    const auto expected = detail::shape_bytes(t.shape, safetensors_dtype_size(t.dtype));
    FROST_CHECK(expected.has_value() && *expected == t.bytes.size(), kOp, where, ": tensor \"",
                t.name, "\" has shape ", detail::shape_string(t.shape), " of ",
                safetensors_dtype_name(t.dtype), " but ", t.bytes.size(), " bytes");
  }
  std::vector<const SafetensorsView*> by_layout = by_name;
  std::stable_sort(by_layout.begin(), by_layout.end(), [](const auto* a, const auto* b) {
    return safetensors_dtype_size(a->dtype) > safetensors_dtype_size(b->dtype);
  });
  std::map<const SafetensorsView*, std::pair<std::uint64_t, std::uint64_t>> offsets;
  std::uint64_t offset = 0;
  for (const auto* t : by_layout) {
    offsets[t] = {offset, offset + t->bytes.size()};
    offset += t->bytes.size();
  }

  std::string header = "{";
  if (!metadata.empty()) {
    append_json_string(header, kSafetensorsMetadataKey);
    header += ":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      first = false;
      append_json_string(header, key);
      header += ':';
      append_json_string(header, value);
    }
    header += '}';
  }
  for (const auto* t : by_name) {
    if (header.size() > 1) header += ',';
    append_json_string(header, t->name);
    header += ":{\"dtype\":\"";
    header += safetensors_dtype_name(t->dtype);
    header += "\",\"shape\":[";
    for (std::size_t d = 0; d < t->shape.size(); ++d) {
      if (d) header += ',';
      header += std::to_string(t->shape[d]);
    }
    const auto [begin, end] = offsets[t];
    header += frost::detail::concat_message("],\"data_offsets\":[", begin, ",", end, "]}");
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');

  write_file_atomically(path, kOp, [&](std::ostream& out) {
    char len_le[8];
    for (int i = 0; i < 8; ++i) len_le[i] = static_cast<char>(header.size() >> (8 * i));
    out.write(len_le, 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto* t : by_layout) {
      out.write(reinterpret_cast<const char*>(t->bytes.data()),
                static_cast<std::streamsize>(t->bytes.size()));
    }
  });
}

}  // namespace frost::io
