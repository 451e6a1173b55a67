#pragma once
// Transforms for decoded photos of any size, in the conventions of data/transforms.hpp (a
// Transform is void(Image&, Generator&), every random choice comes from the generator) and
// with torchvision's definitions, so a recipe written for torchvision means the same here:
//
//   resize(h, w), resize_shorter_side(s)  Resize, bilinear, antialias=False
//   center_crop(h, w)                     CenterCrop (zero padding when the crop is larger)
//   random_resized_crop(h, w, scale, ratio)
//                                         RandomResizedCrop: 10 tries, then a centre fallback
//   color_jitter(b, c, s)                 ColorJitter without hue, images in [0, 1]
//   to_image(hwc u8)                      ToTensor: CHW float, v / 255
//
// The random draws use frost's Generator, not torch's, so the same seed gives the same crops
// here every time but not the crops torch would draw; the distributions are the same.
// Padding + random crop, horizontal flip and normalise are in data/transforms.hpp.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"
#include "frost/data/dataset.hpp"
#include "frost/data/transforms.hpp"

namespace frost::data {

// u8 [H, W, C] (as io::decode_image returns) -> Image C x H x W with values v / 255.
inline Image to_image(const Tensor<std::uint8_t>& hwc) {
  FROST_CHECK(hwc.dim() == 3, "to_image", "expected an [H, W, C] u8 image, got ",
              shape_str(hwc.shape()));
  const Tensor<std::uint8_t> src = hwc.contiguous();
  Image img{src.size(2), src.size(0), src.size(1), {}};
  const std::int64_t plane = img.height * img.width;
  img.pixels.resize(static_cast<std::size_t>(img.channels * plane));
  const std::uint8_t* in = src.data();
  for (std::int64_t c = 0; c < img.channels; ++c) {
    float* out = img.pixels.data() + c * plane;
    for (std::int64_t i = 0; i < plane; ++i) out[i] = in[i * img.channels + c] * (1.0f / 255.0f);
  }
  return img;
}

// Image -> float tensor [C, H, W] (a copy).
inline Tensor<float> to_tensor(const Image& img) {
  detail::check_image(img, "to_tensor");
  return Tensor<float>::from_vector(img.pixels, {img.channels, img.height, img.width});
}

namespace detail {

// Row y of channel c (Image::at is by value on a const image).
inline const float* row(const Image& img, std::int64_t c, std::int64_t y) {
  return img.pixels.data() + (c * img.height + y) * img.width;
}

// Python's round(): halves go to the even neighbour (round(2.5) == 2), which torchvision's
// size and offset arithmetic relies on.
inline std::int64_t round_half_even(double v) {
  const double r = std::nearbyint(v);  // the default rounding mode is to-nearest-even
  return static_cast<std::int64_t>(r);
}

// Source taps of one output axis, as PyTorch's upsample_bilinear2d with align_corners=False
// and no scale factor: src = (dst + 0.5) * in / out - 0.5, clamped at 0; the right tap is the
// left one's neighbour except at the last input pixel. Computed in float, like PyTorch's CPU
// kernel for float tensors.
struct LinearTaps {
  std::vector<std::int64_t> lo, hi;
  std::vector<float> w_lo, w_hi;
};

inline LinearTaps linear_taps(std::int64_t in, std::int64_t out) {
  LinearTaps t;
  t.lo.resize(static_cast<std::size_t>(out));
  t.hi.resize(t.lo.size());
  t.w_lo.resize(t.lo.size());
  t.w_hi.resize(t.lo.size());
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (std::int64_t d = 0; d < out; ++d) {
    const float src = std::max(scale * (static_cast<float>(d) + 0.5f) - 0.5f, 0.0f);
    const auto lo = std::min(static_cast<std::int64_t>(src), in - 1);
    const float lambda = std::clamp(src - static_cast<float>(lo), 0.0f, 1.0f);
    const auto k = static_cast<std::size_t>(d);
    t.lo[k] = lo;
    t.hi[k] = lo < in - 1 ? lo + 1 : lo;
    t.w_lo[k] = 1.0f - lambda;
    t.w_hi[k] = lambda;
  }
  return t;
}

}  // namespace detail

// Bilinear resize of the whole image to height x width (see detail::linear_taps).
inline Image resize_bilinear(const Image& img, std::int64_t height, std::int64_t width) {
  detail::check_image(img, "resize");
  FROST_CHECK(height > 0 && width > 0 && img.height > 0 && img.width > 0, "resize",
              "cannot resize ", img.channels, "x", img.height, "x", img.width, " to ", height, "x",
              width);
  const detail::LinearTaps ys = detail::linear_taps(img.height, height);
  const detail::LinearTaps xs = detail::linear_taps(img.width, width);
  Image out{img.channels, height, width,
            std::vector<float>(static_cast<std::size_t>(img.channels * height * width))};
  for (std::int64_t c = 0; c < img.channels; ++c) {
    for (std::int64_t y = 0; y < height; ++y) {
      const auto ky = static_cast<std::size_t>(y);
      const float* r0 = detail::row(img, c, ys.lo[ky]);
      const float* r1 = detail::row(img, c, ys.hi[ky]);
      const float h0 = ys.w_lo[ky], h1 = ys.w_hi[ky];
      float* o = &out.at(c, y, 0);
      for (std::int64_t x = 0; x < width; ++x) {
        const auto kx = static_cast<std::size_t>(x);
        const std::int64_t x0 = xs.lo[kx], x1 = xs.hi[kx];
        const float w0 = xs.w_lo[kx], w1 = xs.w_hi[kx];
        o[x] = h0 * (w0 * r0[x0] + w1 * r0[x1]) + h1 * (w0 * r1[x0] + w1 * r1[x1]);
      }
    }
  }
  return out;
}

// The height x width window whose top-left corner is (top, left); the parts outside the image
// are zeros.
inline Image crop(const Image& img, std::int64_t top, std::int64_t left, std::int64_t height,
                  std::int64_t width) {
  detail::check_image(img, "crop");
  FROST_CHECK(height > 0 && width > 0, "crop", "crop size ", height, "x", width,
              " must be positive");
  Image out{img.channels, height, width,
            std::vector<float>(static_cast<std::size_t>(img.channels * height * width), 0.0f)};
  const std::int64_t x_begin = std::max<std::int64_t>(0, -left);
  const std::int64_t x_end = std::min<std::int64_t>(width, img.width - left);
  if (x_begin >= x_end) return out;
  for (std::int64_t c = 0; c < img.channels; ++c) {
    for (std::int64_t y = 0; y < height; ++y) {
      const std::int64_t src_y = y + top;
      if (src_y < 0 || src_y >= img.height) continue;
      std::copy_n(detail::row(img, c, src_y) + x_begin + left, x_end - x_begin,
                  &out.at(c, y, x_begin));
    }
  }
  return out;
}

// torchvision's Resize((height, width)).
inline Transform resize(std::int64_t height, std::int64_t width) {
  FROST_CHECK(height > 0 && width > 0, "resize", "size ", height, "x", width, " must be positive");
  return [=](Image& img, Generator&) { img = resize_bilinear(img, height, width); };
}

// torchvision's Resize(size): the shorter side becomes `size`, the longer one
// int(size * long / short) (truncated), so the aspect ratio is kept up to rounding.
inline Transform resize_shorter_side(std::int64_t size) {
  FROST_CHECK(size > 0, "resize_shorter_side", "size ", size, " must be positive");
  return [=](Image& img, Generator&) {
    detail::check_image(img, "resize_shorter_side");
    FROST_CHECK(img.height > 0 && img.width > 0, "resize_shorter_side", "empty ", img.height, "x",
                img.width, " image");
    const std::int64_t shorter = std::min(img.height, img.width);
    const std::int64_t longer = std::max(img.height, img.width);
    const auto new_long = static_cast<std::int64_t>(
        static_cast<double>(size) * static_cast<double>(longer) / static_cast<double>(shorter));
    if (img.width <= img.height) {
      img = resize_bilinear(img, new_long, size);
    } else {
      img = resize_bilinear(img, size, new_long);
    }
  };
}

// torchvision's CenterCrop((height, width)): offset round((H - h) / 2) with Python's rounding;
// a crop larger than the image is first zero-padded by floor((h - H) / 2) on top/left.
inline Transform center_crop(std::int64_t height, std::int64_t width) {
  FROST_CHECK(height > 0 && width > 0, "center_crop", "size ", height, "x", width,
              " must be positive");
  return [=](Image& img, Generator&) {
    detail::check_image(img, "center_crop");
    const auto offset = [](std::int64_t have, std::int64_t want) {
      return want > have ? -((want - have) / 2)
                         : detail::round_half_even(static_cast<double>(have - want) / 2.0);
    };
    img = crop(img, offset(img.height, height), offset(img.width, width), height, width);
  };
}

inline Transform center_crop(std::int64_t size) {
  return center_crop(size, size);
}

// The (top, left, height, width) window RandomResizedCrop cuts, as torchvision's get_params:
// up to 10 tries of area ~ U(scale) * H * W and log-aspect ~ U(log ratio), kept when it fits;
// otherwise the whole image, cropped centrally to the nearest allowed aspect ratio.
struct CropBox {
  std::int64_t top = 0, left = 0, height = 0, width = 0;
};

inline CropBox random_resized_crop_box(std::int64_t height, std::int64_t width,
                                       std::array<double, 2> scale, std::array<double, 2> ratio,
                                       Generator& gen) {
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * (scale[0] + (scale[1] - scale[0]) * gen.uniform_double());
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * gen.uniform_double());
    const std::int64_t w = detail::round_half_even(std::sqrt(target_area * aspect));
    const std::int64_t h = detail::round_half_even(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const auto top =
          static_cast<std::int64_t>(gen.uniform_int(static_cast<std::uint64_t>(height - h + 1)));
      const auto left =
          static_cast<std::int64_t>(gen.uniform_int(static_cast<std::uint64_t>(width - w + 1)));
      return {top, left, h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  std::int64_t w = width, h = height;
  if (in_ratio < std::min(ratio[0], ratio[1])) {
    h = detail::round_half_even(static_cast<double>(w) / std::min(ratio[0], ratio[1]));
  } else if (in_ratio > std::max(ratio[0], ratio[1])) {
    w = detail::round_half_even(static_cast<double>(h) * std::max(ratio[0], ratio[1]));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

// torchvision's RandomResizedCrop((height, width), scale, ratio), bilinear, antialias=False.
inline Transform random_resized_crop(std::int64_t height, std::int64_t width,
                                     std::array<double, 2> scale = {0.08, 1.0},
                                     std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0}) {
  FROST_CHECK(height > 0 && width > 0, "random_resized_crop", "size ", height, "x", width,
              " must be positive");
  FROST_CHECK(0 < scale[0] && scale[0] <= scale[1] && 0 < ratio[0] && ratio[0] <= ratio[1],
              "random_resized_crop", "need 0 < scale[0] <= scale[1] and 0 < ratio[0] <= ratio[1], ",
              "got scale (", scale[0], ", ", scale[1], ") and ratio (", ratio[0], ", ", ratio[1],
              ")");
  return [=](Image& img, Generator& gen) {
    detail::check_image(img, "random_resized_crop");
    FROST_CHECK(img.height > 0 && img.width > 0, "random_resized_crop", "empty ", img.height, "x",
                img.width, " image");
    const CropBox box = random_resized_crop_box(img.height, img.width, scale, ratio, gen);
    img = resize_bilinear(crop(img, box.top, box.left, box.height, box.width), height, width);
  };
}

inline Transform random_resized_crop(std::int64_t size) {
  return random_resized_crop(size, size);
}

namespace detail {

// torchvision's rgb_to_grayscale weights (ITU-R 601-2 luma).
inline float luma(float r, float g, float b) {
  return 0.2989f * r + 0.587f * g + 0.114f * b;
}

// img = clamp(f * img + (1 - f) * other, 0, 1), torchvision's _blend for float images.
inline void blend_into(Image& img, float f, const std::vector<float>& other_plane,
                       float other_scalar, bool use_plane) {
  const std::int64_t plane = img.height * img.width;
  for (std::int64_t c = 0; c < img.channels; ++c) {
    float* p = img.pixels.data() + c * plane;
    for (std::int64_t i = 0; i < plane; ++i) {
      const float o = use_plane ? other_plane[static_cast<std::size_t>(i)] : other_scalar;
      p[i] = std::clamp(f * p[i] + (1.0f - f) * o, 0.0f, 1.0f);
    }
  }
}

inline std::vector<float> grayscale_plane(const Image& img) {
  const std::int64_t plane = img.height * img.width;
  std::vector<float> g(static_cast<std::size_t>(plane));
  for (std::int64_t i = 0; i < plane; ++i) {
    g[static_cast<std::size_t>(i)] = img.channels == 3
                                         ? luma(img.pixels[static_cast<std::size_t>(i)],
                                                img.pixels[static_cast<std::size_t>(plane + i)],
                                                img.pixels[static_cast<std::size_t>(2 * plane + i)])
                                         : img.pixels[static_cast<std::size_t>(i)];
  }
  return g;
}

}  // namespace detail

// torchvision's adjust_brightness / adjust_contrast / adjust_saturation on [0, 1] images with
// 1 or 3 channels. Contrast blends with the mean of the grey image, saturation with the grey
// image itself (a no-op on grey images).
inline void adjust_brightness(Image& img, float factor) {
  detail::blend_into(img, factor, {}, 0.0f, false);
}

inline void adjust_contrast(Image& img, float factor) {
  const std::vector<float> grey = detail::grayscale_plane(img);
  double sum = 0;
  for (const float v : grey) sum += v;
  const float mean =
      grey.empty() ? 0.0f : static_cast<float>(sum / static_cast<double>(grey.size()));
  detail::blend_into(img, factor, {}, mean, false);
}

inline void adjust_saturation(Image& img, float factor) {
  if (img.channels == 1) return;
  detail::blend_into(img, factor, detail::grayscale_plane(img), 0.0f, true);
}

// torchvision's ColorJitter(brightness, contrast, saturation): each non-zero amount a gives a
// factor ~ U[max(0, 1 - a), 1 + a], and the adjustments run in a random order. Draws, in order:
// the order (a random permutation of the enabled adjustments), then the factors of brightness,
// contrast, saturation.
inline Transform color_jitter(float brightness, float contrast = 0, float saturation = 0) {
  FROST_CHECK(brightness >= 0 && contrast >= 0 && saturation >= 0, "color_jitter",
              "amounts must be non-negative, got brightness ", brightness, ", contrast ", contrast,
              ", saturation ", saturation);
  return [=](Image& img, Generator& gen) {
    detail::check_image(img, "color_jitter");
    FROST_CHECK(img.channels == 1 || img.channels == 3, "color_jitter",
                "expected 1 or 3 channels, got ", img.channels);
    const std::array<float, 3> amounts = {brightness, contrast, saturation};
    std::vector<int> enabled;
    for (int k = 0; k < 3; ++k) {
      if (amounts[static_cast<std::size_t>(k)] > 0) enabled.push_back(k);
    }
    const std::vector<std::int64_t> order =
        random_permutation(static_cast<std::int64_t>(enabled.size()), gen);
    std::array<float, 3> factors{};
    for (const int k : enabled) {
      const float a = amounts[static_cast<std::size_t>(k)];
      const float lo = std::max(0.0f, 1.0f - a), hi = 1.0f + a;
      factors[static_cast<std::size_t>(k)] = lo + (hi - lo) * gen.uniform_float();
    }
    for (const std::int64_t o : order) {
      const int k = enabled[static_cast<std::size_t>(o)];
      const float f = factors[static_cast<std::size_t>(k)];
      if (k == 0) adjust_brightness(img, f);
      if (k == 1) adjust_contrast(img, f);
      if (k == 2) adjust_saturation(img, f);
    }
  };
}

}  // namespace frost::data
