#pragma once
// Image files through stb_image: PNG, JPEG, BMP and TGA (and the other formats stb_image reads),
// 8-bit grey or colour, decoded to an H x W x C u8 tensor (the file's layout) or a C x H x W
// float tensor in [0, 1] (the layout the network wants); PNG writing through stb_image_write.
// libstb.so, linked by frost::frost, holds the implementations, so this header includes stb's
// declarations only.
//
//   auto hwc = frost::io::read_image("cat.jpg", 3);        // u8 [H, W, 3]
//   auto chw = frost::io::read_image_chw("cat.jpg", 3);    // float [3, H, W] in [0, 1]
//   frost::io::write_png("out.png", hwc);
//
// Every failure is a frost::Error naming the operation and the path (or "<memory>"), with
// stb's reason. stb_image accepts a JPEG cut off mid-scan and fills the missing blocks with
// grey; decode_image rejects such a file instead, because a silently half-grey training image
// is worse than an error (see detail::jpeg_is_truncated).

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "frost/core/error.hpp"
#include "frost/core/tensor.hpp"
#include "frost/io/file.hpp"

namespace frost::io {

namespace detail {

// A JPEG is complete when an end-of-image marker (FF D9) follows its last start-of-scan
// marker (FF DA). Inside entropy-coded data a 0xFF byte is always followed by 0x00 or a
// restart marker, so neither marker can appear there by accident; a thumbnail embedded in an
// APP segment ends before the main image's first scan, so its EOI does not count.
inline bool jpeg_is_truncated(const std::uint8_t* data, std::size_t size) {
  if (size < 2 || data[0] != 0xFF || data[1] != 0xD8) return false;  // not a JPEG
  std::size_t last_sos = 0, last_eoi = 0;
  bool seen_sos = false, seen_eoi = false;
  for (std::size_t i = 2; i + 1 < size; ++i) {
    if (data[i] != 0xFF) continue;
    if (data[i + 1] == 0xDA) last_sos = i, seen_sos = true;
    if (data[i + 1] == 0xD9) last_eoi = i, seen_eoi = true;
  }
  return !seen_sos || !seen_eoi || last_eoi < last_sos;
}

struct StbiFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

}  // namespace detail

// Decodes an encoded image held in memory. `channels` = 0 keeps the file's channel count
// (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA); 1 to 4 converts (colour to grey by stb's
// (77 R + 150 G + 29 B) / 256, grey to colour by replication, alpha dropped or set to 255).
// 16-bit PNGs are reduced to 8 bits. `name` is the path or label used in error messages.
inline Tensor<std::uint8_t> decode_image(const std::uint8_t* data, std::size_t size,
                                         int channels = 0, const std::string& name = "<memory>") {
  FROST_CHECK(channels >= 0 && channels <= 4, "decode_image", "'", name, "': channels must be 0 ",
              "(as stored) or 1 to 4, got ", channels);
  FROST_CHECK(size > 0, "decode_image", "'", name, "': empty file");
  FROST_CHECK(size <= static_cast<std::size_t>(INT32_MAX), "decode_image", "'", name, "': ", size,
              " bytes is more than stb_image can read");
  FROST_CHECK(!detail::jpeg_is_truncated(data, size), "decode_image", "'", name,
              "': truncated JPEG (no end-of-image marker after the last scan)");
  int width = 0, height = 0, stored = 0;
  std::unique_ptr<stbi_uc, detail::StbiFree> pixels(
      stbi_load_from_memory(data, static_cast<int>(size), &width, &height, &stored, channels));
  // stb keeps the failure reason in a thread-local, so this is safe on loader threads.
  FROST_CHECK(pixels != nullptr, "decode_image", "'", name, "': cannot decode (",
              stbi_failure_reason() ? stbi_failure_reason() : "unknown reason", ")");
  const int c = channels == 0 ? stored : channels;
  auto out = Tensor<std::uint8_t>::empty({height, width, c});
  std::copy_n(pixels.get(), static_cast<std::size_t>(height) * width * c, out.data());
  return out;
}

inline Tensor<std::uint8_t> decode_image(const std::vector<std::uint8_t>& bytes, int channels = 0,
                                         const std::string& name = "<memory>") {
  return decode_image(bytes.data(), bytes.size(), channels, name);
}

// Reads and decodes the image file at `path`; see decode_image for `channels`.
inline Tensor<std::uint8_t> read_image(const std::filesystem::path& path, int channels = 0) {
  return decode_image(read_file(path, "read_image"), channels, path.string());
}

// u8 [H, W, C] -> float [C, H, W] with values v / 255, as torchvision's ToTensor.
inline Tensor<float> hwc_to_chw_float(const Tensor<std::uint8_t>& hwc) {
  FROST_CHECK(hwc.dim() == 3, "hwc_to_chw_float", "expected an [H, W, C] image, got ",
              shape_str(hwc.shape()));
  const Tensor<std::uint8_t> src = hwc.contiguous();
  const std::int64_t h = src.size(0), w = src.size(1), c = src.size(2);
  auto out = Tensor<float>::empty({c, h, w});
  const std::uint8_t* in = src.data();
  float* o = out.data();
  for (std::int64_t ch = 0; ch < c; ++ch) {
    for (std::int64_t i = 0; i < h * w; ++i) o[ch * h * w + i] = in[i * c + ch] * (1.0f / 255.0f);
  }
  return out;
}

// Reads an image as float [C, H, W] in [0, 1].
inline Tensor<float> read_image_chw(const std::filesystem::path& path, int channels = 0) {
  return hwc_to_chw_float(read_image(path, channels));
}

// Encodes u8 [H, W, C] (C = 1 to 4) as PNG bytes.
inline std::vector<std::uint8_t> encode_png(const Tensor<std::uint8_t>& hwc) {
  FROST_CHECK(hwc.dim() == 3 && hwc.size(2) >= 1 && hwc.size(2) <= 4 && hwc.numel() > 0,
              "encode_png", "expected a non-empty [H, W, C] image with 1 to 4 channels, got ",
              shape_str(hwc.shape()));
  const Tensor<std::uint8_t> src = hwc.contiguous();
  const int h = static_cast<int>(src.size(0)), w = static_cast<int>(src.size(1)),
            c = static_cast<int>(src.size(2));
  std::vector<std::uint8_t> bytes;
  const auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(context);
    const auto* p = static_cast<const std::uint8_t*>(data);
    out->insert(out->end(), p, p + size);
  };
  const int ok = stbi_write_png_to_func(append, &bytes, w, h, c, src.data(), w * c);
  FROST_CHECK(ok != 0, "encode_png", "stb_image_write failed for a ", shape_str(hwc.shape()),
              " image");
  return bytes;
}

// Writes u8 [H, W, C] as a PNG file, atomically (see io/file.hpp).
inline void write_png(const std::filesystem::path& path, const Tensor<std::uint8_t>& hwc) {
  const std::vector<std::uint8_t> bytes = encode_png(hwc);
  write_file_atomically(path, "write_png", [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  });
}

}  // namespace frost::io
