#pragma once
// Per-sample data augmentation and normalisation, as torchvision.transforms does it, for one
// C x H x W float image at a time. A transform is any callable void(Image&, Generator&): every
// random choice comes from the generator it is handed, so the DataLoader can give each batch
// its own seeded generator and an epoch's augmentations are the same for the same seed,
// whether batches are made on a background thread or not.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"

namespace frost::data {

// One sample: channels x height x width floats, row-major.
struct Image {
  std::int64_t channels = 0, height = 0, width = 0;
  std::vector<float> pixels;

  float& at(std::int64_t c, std::int64_t y, std::int64_t x) {
    return pixels[static_cast<std::size_t>((c * height + y) * width + x)];
  }
  float at(std::int64_t c, std::int64_t y, std::int64_t x) const {
    return pixels[static_cast<std::size_t>((c * height + y) * width + x)];
  }
};

using Transform = std::function<void(Image&, Generator&)>;

namespace detail {

// A user transform earlier in a chain may hand over an inconsistent image; catch it before
// indexing.
inline void check_image(const Image& img, const char* op) {
  FROST_CHECK(
      img.channels >= 0 && img.height >= 0 && img.width >= 0 &&
          static_cast<std::int64_t>(img.pixels.size()) == img.channels * img.height * img.width,
      op, "image of ", img.channels, "x", img.height, "x", img.width, " holds ", img.pixels.size(),
      " pixels");
}

}  // namespace detail

// (x - mean[c]) / std[c] per channel; one mean/std pair applies to every channel.
inline Transform normalize(std::vector<float> mean, std::vector<float> std) {
  FROST_CHECK(!mean.empty() && mean.size() == std.size(), "normalize", "mean has ", mean.size(),
              " values and std has ", std.size(), "; expected one per channel, at least one");
  for (float s : std) FROST_CHECK(s > 0, "normalize", "std must be positive, got ", s);
  std::vector<float> inv_std(std.size());
  for (std::size_t c = 0; c < std.size(); ++c) inv_std[c] = 1.0f / std[c];
  return [mean = std::move(mean), inv_std = std::move(inv_std)](Image& img, Generator&) {
    detail::check_image(img, "normalize");
    const auto channels = static_cast<std::size_t>(img.channels);
    FROST_CHECK(mean.size() == 1 || mean.size() == channels, "normalize", "image has ",
                img.channels, " channels but mean/std have ", mean.size(), " values");
    const std::size_t plane = static_cast<std::size_t>(img.height * img.width);
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t k = mean.size() == 1 ? 0 : c;
      float* p = img.pixels.data() + c * plane;
      for (std::size_t i = 0; i < plane; ++i) p[i] = (p[i] - mean[k]) * inv_std[k];
    }
  };
}

// torchvision's RandomCrop(size, padding): pad every side with `padding` zeros, then cut a
// height x width window at a uniformly drawn position. With size equal to the input size this
// shifts the image by up to `padding` pixels in each direction, filling with zeros.
inline Transform random_crop(std::int64_t height, std::int64_t width, std::int64_t padding) {
  FROST_CHECK(height > 0 && width > 0 && padding >= 0, "random_crop", "crop size ", height, "x",
              width, " must be positive and padding ", padding, " non-negative");
  return [=](Image& img, Generator& gen) {
    detail::check_image(img, "random_crop");
    const std::int64_t padded_h = img.height + 2 * padding, padded_w = img.width + 2 * padding;
    FROST_CHECK(height <= padded_h && width <= padded_w, "random_crop", "crop ", height, "x", width,
                " is larger than the ", img.height, "x", img.width, " image padded by ", padding);
    const auto top = static_cast<std::int64_t>(
                         gen.uniform_int(static_cast<std::uint64_t>(padded_h - height + 1))) -
                     padding;
    const auto left = static_cast<std::int64_t>(
                          gen.uniform_int(static_cast<std::uint64_t>(padded_w - width + 1))) -
                      padding;
    Image out{img.channels, height, width,
              std::vector<float>(static_cast<std::size_t>(img.channels * height * width), 0.0f)};
    // Output column x reads input column x + left; copy the part that lands inside the input.
    const std::int64_t x_begin = std::max<std::int64_t>(0, -left);
    const std::int64_t x_end = std::min<std::int64_t>(width, img.width - left);
    for (std::int64_t c = 0; c < img.channels; ++c) {
      for (std::int64_t y = 0; y < height; ++y) {
        const std::int64_t src_y = y + top;
        if (src_y < 0 || src_y >= img.height || x_begin >= x_end) continue;
        std::memcpy(&out.at(c, y, x_begin), &img.at(c, src_y, x_begin + left),
                    static_cast<std::size_t>(x_end - x_begin) * sizeof(float));
      }
    }
    img = std::move(out);
  };
}

inline Transform random_crop(std::int64_t size, std::int64_t padding = 0) {
  return random_crop(size, size, padding);
}

// Mirrors the image left-right (all channels together) with probability p.
inline Transform random_horizontal_flip(double p = 0.5) {
  FROST_CHECK(p >= 0 && p <= 1, "random_horizontal_flip", "probability ", p, " is outside [0, 1]");
  return [p](Image& img, Generator& gen) {
    detail::check_image(img, "random_horizontal_flip");
    if (!gen.bernoulli(p)) return;
    for (std::int64_t row = 0; row < img.channels * img.height; ++row) {
      float* r = img.pixels.data() + row * img.width;
      std::reverse(r, r + img.width);
    }
  };
}

// Applies the transforms in order.
inline Transform compose(std::vector<Transform> transforms) {
  return [transforms = std::move(transforms)](Image& img, Generator& gen) {
    for (const auto& t : transforms) t(img, gen);
  };
}

}  // namespace frost::data
