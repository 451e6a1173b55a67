#pragma once
// The IDX format of MNIST and Fashion-MNIST (gzip-compressed or not). An IDX file is a 4-byte
// magic (two zero bytes, an element-type code, the number of dimensions), one big-endian u32
// per dimension, then the elements in row-major order. Images are u8 [N, rows, cols] (magic
// 0x00000803), labels u8 [N] (magic 0x00000801). Everything is validated against the file
// size, so a truncated or padded file is an error naming the path, never a short read.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/io/gzip.hpp"

namespace frost::data {

// Where Debian's dataset-fashion-mnist package installs the files.
inline const std::filesystem::path kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// A u8 IDX array: shape and row-major elements.
struct IdxArray {
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> data;
};

struct IdxImages {
  std::int64_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  // [count, rows, cols], row-major
};

// Images and labels of one split, checked to have the same count.
struct IdxDataset {
  IdxImages images;
  std::vector<std::uint8_t> labels;
};

namespace detail {

inline const char* idx_type_name(std::uint8_t code) {
  switch (code) {
    case 0x08:
      return "u8";
    case 0x09:
      return "i8";
    case 0x0B:
      return "i16";
    case 0x0C:
      return "i32";
    case 0x0D:
      return "f32";
    case 0x0E:
      return "f64";
    default:
      return "unknown";
  }
}

}  // namespace detail

// Reads any u8 IDX file (the only element type MNIST-style datasets use).
inline IdxArray read_idx(const std::filesystem::path& path) {
  constexpr const char* kOp = "read_idx";
  const std::string where = frost::detail::concat_message("'", path.string(), "': ");
  std::vector<std::uint8_t> bytes = io::read_maybe_gzipped(path, kOp);
  FROST_CHECK(bytes.size() >= 4, kOp, where, "truncated: ", bytes.size(),
              " bytes, too short for the 4-byte IDX magic");
  FROST_CHECK(bytes[0] == 0 && bytes[1] == 0, kOp, where, "bad magic: first two bytes are ",
              int{bytes[0]}, ", ", int{bytes[1]}, ", an IDX file starts with two zero bytes");
  const std::uint8_t type = bytes[2];
  FROST_CHECK(type == 0x08, kOp, where, "element type 0x", std::hex, int{type}, std::dec, " (",
              detail::idx_type_name(type), ") is not supported, expected 0x08 (u8)");
  const std::size_t ndim = bytes[3];
  FROST_CHECK(ndim >= 1, kOp, where, "bad magic: zero dimensions");
  const std::size_t header = 4 + 4 * ndim;
  FROST_CHECK(bytes.size() >= header, kOp, where, "truncated: ", bytes.size(),
              " bytes, the header of a ", ndim, "-d IDX file needs ", header);

  IdxArray out;
  std::uint64_t count = 1;
  const std::uint64_t payload = bytes.size() - header;
  for (std::size_t d = 0; d < ndim; ++d) {
    const std::uint8_t* p = bytes.data() + 4 + 4 * d;
    const std::uint64_t dim = std::uint64_t{p[0]} << 24 | std::uint64_t{p[1]} << 16 |
                              std::uint64_t{p[2]} << 8 | std::uint64_t{p[3]};
    out.shape.push_back(static_cast<std::int64_t>(dim));
    // Saturate at payload + 1 once the product exceeds the payload, so it cannot overflow.
    count = (dim != 0 && count > payload / dim) ? payload + 1 : count * dim;
  }
  FROST_CHECK(count <= payload, kOp, where, "truncated: the dimensions promise more than the ",
              payload, " data bytes present");
  FROST_CHECK(count == payload, kOp, where, "size mismatch: the dimensions give ", count,
              " elements but the file holds ", payload, " data bytes");
  out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return out;
}

inline IdxImages read_idx_images(const std::filesystem::path& path) {
  IdxArray a = read_idx(path);
  FROST_CHECK(a.shape.size() == 3, "read_idx_images", "'", path.string(), "': expected 3 ",
              "dimensions [N, rows, cols] (magic 0x00000803), got ", a.shape.size());
  FROST_CHECK(a.shape[1] > 0 && a.shape[2] > 0, "read_idx_images", "'", path.string(),
              "': empty image size ", a.shape[1], "x", a.shape[2]);
  return {a.shape[0], a.shape[1], a.shape[2], std::move(a.data)};
}

// Labels must lie in [0, num_classes).
inline std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path,
                                                 int num_classes = 10) {
  IdxArray a = read_idx(path);
  FROST_CHECK(a.shape.size() == 1, "read_idx_labels", "'", path.string(), "': expected 1 ",
              "dimension [N] (magic 0x00000801), got ", a.shape.size());
  for (std::size_t i = 0; i < a.data.size(); ++i) {
    FROST_CHECK(a.data[i] < num_classes, "read_idx_labels", "'", path.string(), "': label ",
                int{a.data[i]}, " at index ", i, " is outside [0, ", num_classes, ")");
  }
  return std::move(a.data);
}

// Reads `<split>-images-idx3-ubyte[.gz]` and `<split>-labels-idx1-ubyte[.gz]` from `dir`
// (split is "train" or "t10k" in the MNIST naming), preferring the uncompressed file.
inline IdxDataset read_idx_dataset(const std::filesystem::path& dir, const std::string& split,
                                   int num_classes = 10) {
  const auto find = [&](const std::string& stem) {
    const std::filesystem::path plain = dir / stem;
    std::error_code ec;
    if (std::filesystem::exists(plain, ec)) return plain;
    return std::filesystem::path(plain.string() + ".gz");  // a missing file reports this name
  };
  const auto images_path = find(split + "-images-idx3-ubyte");
  const auto labels_path = find(split + "-labels-idx1-ubyte");
  IdxDataset ds{read_idx_images(images_path), read_idx_labels(labels_path, num_classes)};
  FROST_CHECK(static_cast<std::int64_t>(ds.labels.size()) == ds.images.count, "read_idx_dataset",
              "'", labels_path.string(), "' holds ", ds.labels.size(), " labels but '",
              images_path.string(), "' holds ", ds.images.count, " images");
  return ds;
}

}  // namespace frost::data
