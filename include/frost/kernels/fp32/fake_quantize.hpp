#pragma once
// Fake quantization (DESIGN.md §3) over contiguous arrays, no autograd. Per element, with
// lo = qmin - zero_point and hi = qmax - zero_point:
//
//   v = x / scale                        a true division, as the INT8 quantize kernel
//                                        (kernels/reference/elementwise.hpp), so fake-quantized
//                                        and INT8 results agree
//   r = nearbyint(v)                     round half to even (default rounding mode)
//   y = clamp(r, lo, hi) * scale         = (clamp(r + zero_point, qmin, qmax) - zero_point) * scale
//   pass = lo <= r <= hi                 the straight-through estimator: grad_x = grad_y * pass
//
// The zero point sits in the bounds rather than being added to r: the same for every
// integer-valued r, and no float -> int conversion that could overflow on large |x / scale|.
// The clamp is `r > lo ? r : lo`, then `c < hi ? c : hi`, so a NaN input gives lo, i.e.
// y = (qmin - zero_point) * scale, as the INT8 engine maps NaN to the lower bound; its pass is 0
// (no gradient). +-Inf give the bounds, pass 0.
//
// The float paths run on xsimd batches of the default architecture of the compile flags, with
// a scalar tail; the `_scalar` functions are the plain reference. Both perform the same IEEE
// operations in the same order (division, nearbyint, two selects, one multiply: no a * b + c a
// compiler could contract into an FMA), so they are bit-identical. xsimd 8.1 divides float
// batches on NEON with a reciprocal estimate, not IEEE division: aarch64 uses vdivq_f32 and
// 32-bit NEON divides lane by lane. The double versions are scalar (gradchecks).
//
// Layouts: per tensor, n values; per channel, [outer][channels][inner] (the caller folds the
// dimensions before and after the channel axis into outer and inner). grad_x may alias grad_y.
// The learnable (LSQ) backward also returns the gradients of scale and zero point, summed.

#include "frost/core/simd.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace frost::kernels::fp32 {

// q - zero_point in [lo, hi], in the element type (exact for every range of 24 bits or fewer).
template <class T>
struct FakeQuantizeBounds {
  T lo, hi;
};

template <class T>
inline FakeQuantizeBounds<T> fake_quantize_bounds(std::int32_t zero_point, std::int32_t qmin,
                                                  std::int32_t qmax) {
  // int64: qmin - zero_point cannot overflow for any int32 inputs.
  return {static_cast<T>(std::int64_t{qmin} - zero_point),
          static_cast<T>(std::int64_t{qmax} - zero_point)};
}

// ---- one element ----------------------------------------------------------------------------

template <class T>
inline T fake_quantize_value(T x, T scale, FakeQuantizeBounds<T> b) {
  const T r = std::nearbyint(x / scale);
  T c = r > b.lo ? r : b.lo;
  c = c < b.hi ? c : b.hi;
  return c * scale;
}

template <class T>
inline bool fake_quantize_passes(T x, T scale, FakeQuantizeBounds<T> b) {
  const T r = std::nearbyint(x / scale);
  return r >= b.lo && r <= b.hi;
}

// ---- scalar reference -----------------------------------------------------------------------

// y[i] = fake-quantized x[i]; mask[i] = pass (skipped when mask is null).
template <class T>
inline void fake_quantize_forward_scalar(std::size_t n, const T* x, T* y, std::uint8_t* mask,
                                         T scale, std::int32_t zero_point, std::int32_t qmin,
                                         std::int32_t qmax) {
  const auto b = fake_quantize_bounds<T>(zero_point, qmin, qmax);
  for (std::size_t i = 0; i < n; ++i) {
    if (mask != nullptr) mask[i] = fake_quantize_passes(x[i], scale, b) ? 1 : 0;
    y[i] = fake_quantize_value(x[i], scale, b);
  }
}

// grad_x[i] = pass(x[i]) ? grad_y[i] : 0 (a select: an Inf or NaN gradient outside the range
// still gives 0).
template <class T>
inline void fake_quantize_backward_scalar(std::size_t n, const T* x, const T* grad_y, T* grad_x,
                                          T scale, std::int32_t zero_point, std::int32_t qmin,
                                          std::int32_t qmax) {
  const auto b = fake_quantize_bounds<T>(zero_point, qmin, qmax);
  for (std::size_t i = 0; i < n; ++i)
    grad_x[i] = fake_quantize_passes(x[i], scale, b) ? grad_y[i] : T(0);
}

template <class T>
inline void fake_quantize_per_channel_forward_scalar(std::size_t outer, std::size_t channels,
                                                     std::size_t inner, const T* x, T* y,
                                                     std::uint8_t* mask, const T* scale,
                                                     const std::int32_t* zero_point,
                                                     std::int32_t qmin, std::int32_t qmax) {
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (o * channels + c) * inner;
      fake_quantize_forward_scalar(inner, x + base, y + base,
                                   mask != nullptr ? mask + base : nullptr, scale[c], zero_point[c],
                                   qmin, qmax);
    }
}

template <class T>
inline void fake_quantize_per_channel_backward_scalar(std::size_t outer, std::size_t channels,
                                                      std::size_t inner, const T* x,
                                                      const T* grad_y, T* grad_x, const T* scale,
                                                      const std::int32_t* zero_point,
                                                      std::int32_t qmin, std::int32_t qmax) {
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (o * channels + c) * inner;
      fake_quantize_backward_scalar(inner, x + base, grad_y + base, grad_x + base, scale[c],
                                    zero_point[c], qmin, qmax);
    }
}

// ---- xsimd (float) --------------------------------------------------------------------------

#if !defined(XSIMD_NO_SUPPORTED_ARCHITECTURE)
#define FROST_FAKE_QUANTIZE_SIMD 1

namespace fake_quantize_detail {

using Batch = xsimd::batch<float>;
using BatchBool = xsimd::batch_bool<float>;
inline constexpr std::size_t kLanes = Batch::size;

// IEEE single-precision division on every architecture (see the header comment).
inline Batch divide(const Batch& a, const Batch& b) {
#if defined(__aarch64__)
  return Batch(vdivq_f32(a, b));
#elif XSIMD_WITH_NEON
  alignas(64) float av[kLanes], bv[kLanes];
  a.store_aligned(av);
  b.store_aligned(bv);
  for (std::size_t j = 0; j < kLanes; ++j) av[j] = av[j] / bv[j];
  return Batch::load_aligned(av);
#else
  return a / b;
#endif
}

// Round half to even. On AVX-512 the masked form of vrndscaleps: xsimd's unmasked one passes
// _mm512_undefined_ps(), which GCC 12 reports as maybe-uninitialized wherever it is inlined.
inline Batch round_half_even(const Batch& v) {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<xsimd::avx512f, Batch::arch_type>)
    return Batch(
        _mm512_mask_roundscale_ps(v, static_cast<__mmask16>(0xFFFF), v, _MM_FROUND_TO_NEAREST_INT));
#endif
  return xsimd::nearbyint(v);
}

inline Batch rounded(const float* x, const Batch& scale) {
  return round_half_even(divide(Batch::load_unaligned(x), scale));
}

inline Batch clamped(const Batch& r, const Batch& lo, const Batch& hi) {
  const Batch c = xsimd::select(r > lo, r, lo);
  return xsimd::select(c < hi, c, hi);
}

inline BatchBool passes(const Batch& r, const Batch& lo, const Batch& hi) {
  return (r >= lo) & (r <= hi);
}

inline void store_mask(const BatchBool& m, std::uint8_t* mask) {
  alignas(64) bool lanes[kLanes];
  m.store_aligned(lanes);
  for (std::size_t j = 0; j < kLanes; ++j) mask[j] = lanes[j] ? 1 : 0;
}

// Channels along the last axis (inner == 1): one batch covers kLanes channels, with the
// per-channel scale and bounds loaded from arrays.
struct ChannelTables {
  std::vector<float> lo, hi;
  ChannelTables(std::size_t channels, const std::int32_t* zero_point, std::int32_t qmin,
                std::int32_t qmax)
      : lo(channels), hi(channels) {
    for (std::size_t c = 0; c < channels; ++c) {
      const auto b = fake_quantize_bounds<float>(zero_point[c], qmin, qmax);
      lo[c] = b.lo;
      hi[c] = b.hi;
    }
  }
};

}  // namespace fake_quantize_detail

inline void fake_quantize_forward(std::size_t n, const float* x, float* y, std::uint8_t* mask,
                                  float scale, std::int32_t zero_point, std::int32_t qmin,
                                  std::int32_t qmax) {
  using namespace fake_quantize_detail;
  const auto b = fake_quantize_bounds<float>(zero_point, qmin, qmax);
  const Batch vs(scale), vlo(b.lo), vhi(b.hi);
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Batch r = rounded(x + i, vs);
    if (mask != nullptr) store_mask(passes(r, vlo, vhi), mask + i);
    (clamped(r, vlo, vhi) * vs).store_unaligned(y + i);
  }
  fake_quantize_forward_scalar(n - i, x + i, y + i, mask != nullptr ? mask + i : nullptr, scale,
                               zero_point, qmin, qmax);
}

inline void fake_quantize_backward(std::size_t n, const float* x, const float* grad_y,
                                   float* grad_x, float scale, std::int32_t zero_point,
                                   std::int32_t qmin, std::int32_t qmax) {
  using namespace fake_quantize_detail;
  const auto b = fake_quantize_bounds<float>(zero_point, qmin, qmax);
  const Batch vs(scale), vlo(b.lo), vhi(b.hi), zero(0.0f);
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Batch r = rounded(x + i, vs);
    xsimd::select(passes(r, vlo, vhi), Batch::load_unaligned(grad_y + i), zero)
        .store_unaligned(grad_x + i);
  }
  fake_quantize_backward_scalar(n - i, x + i, grad_y + i, grad_x + i, scale, zero_point, qmin,
                                qmax);
}

inline void fake_quantize_per_channel_forward(std::size_t outer, std::size_t channels,
                                              std::size_t inner, const float* x, float* y,
                                              std::uint8_t* mask, const float* scale,
                                              const std::int32_t* zero_point, std::int32_t qmin,
                                              std::int32_t qmax) {
  using namespace fake_quantize_detail;
  if (inner == 1 && channels >= kLanes) {
    const ChannelTables t(channels, zero_point, qmin, qmax);
    for (std::size_t o = 0; o < outer; ++o) {
      const float* xo = x + o * channels;
      float* yo = y + o * channels;
      std::uint8_t* mo = mask != nullptr ? mask + o * channels : nullptr;
      std::size_t c = 0;
      for (; c + kLanes <= channels; c += kLanes) {
        const Batch vs = Batch::load_unaligned(scale + c);
        const Batch vlo = Batch::load_unaligned(t.lo.data() + c);
        const Batch vhi = Batch::load_unaligned(t.hi.data() + c);
        const Batch r = rounded(xo + c, vs);
        if (mo != nullptr) store_mask(passes(r, vlo, vhi), mo + c);
        (clamped(r, vlo, vhi) * vs).store_unaligned(yo + c);
      }
      fake_quantize_per_channel_forward_scalar<float>(1, channels - c, 1, xo + c, yo + c,
                                                      mo != nullptr ? mo + c : nullptr, scale + c,
                                                      zero_point + c, qmin, qmax);
    }
    return;
  }
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (o * channels + c) * inner;
      fake_quantize_forward(inner, x + base, y + base, mask != nullptr ? mask + base : nullptr,
                            scale[c], zero_point[c], qmin, qmax);
    }
}

inline void fake_quantize_per_channel_backward(std::size_t outer, std::size_t channels,
                                               std::size_t inner, const float* x,
                                               const float* grad_y, float* grad_x,
                                               const float* scale, const std::int32_t* zero_point,
                                               std::int32_t qmin, std::int32_t qmax) {
  using namespace fake_quantize_detail;
  if (inner == 1 && channels >= kLanes) {
    const ChannelTables t(channels, zero_point, qmin, qmax);
    const Batch zero(0.0f);
    for (std::size_t o = 0; o < outer; ++o) {
      const std::size_t base = o * channels;
      std::size_t c = 0;
      for (; c + kLanes <= channels; c += kLanes) {
        const Batch vs = Batch::load_unaligned(scale + c);
        const Batch vlo = Batch::load_unaligned(t.lo.data() + c);
        const Batch vhi = Batch::load_unaligned(t.hi.data() + c);
        const Batch r = rounded(x + base + c, vs);
        xsimd::select(passes(r, vlo, vhi), Batch::load_unaligned(grad_y + base + c), zero)
            .store_unaligned(grad_x + base + c);
      }
      fake_quantize_per_channel_backward_scalar<float>(1, channels - c, 1, x + base + c,
                                                       grad_y + base + c, grad_x + base + c,
                                                       scale + c, zero_point + c, qmin, qmax);
    }
    return;
  }
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (o * channels + c) * inner;
      fake_quantize_backward(inner, x + base, grad_y + base, grad_x + base, scale[c], zero_point[c],
                             qmin, qmax);
    }
}

#else  // no SIMD architecture: the scalar reference is the float path.
#define FROST_FAKE_QUANTIZE_SIMD 0

inline void fake_quantize_forward(std::size_t n, const float* x, float* y, std::uint8_t* mask,
                                  float scale, std::int32_t zero_point, std::int32_t qmin,
                                  std::int32_t qmax) {
  fake_quantize_forward_scalar(n, x, y, mask, scale, zero_point, qmin, qmax);
}
inline void fake_quantize_backward(std::size_t n, const float* x, const float* grad_y,
                                   float* grad_x, float scale, std::int32_t zero_point,
                                   std::int32_t qmin, std::int32_t qmax) {
  fake_quantize_backward_scalar(n, x, grad_y, grad_x, scale, zero_point, qmin, qmax);
}
inline void fake_quantize_per_channel_forward(std::size_t outer, std::size_t channels,
                                              std::size_t inner, const float* x, float* y,
                                              std::uint8_t* mask, const float* scale,
                                              const std::int32_t* zero_point, std::int32_t qmin,
                                              std::int32_t qmax) {
  fake_quantize_per_channel_forward_scalar(outer, channels, inner, x, y, mask, scale, zero_point,
                                           qmin, qmax);
}
inline void fake_quantize_per_channel_backward(std::size_t outer, std::size_t channels,
                                               std::size_t inner, const float* x,
                                               const float* grad_y, float* grad_x,
                                               const float* scale, const std::int32_t* zero_point,
                                               std::int32_t qmin, std::int32_t qmax) {
  fake_quantize_per_channel_backward_scalar(outer, channels, inner, x, grad_y, grad_x, scale,
                                            zero_point, qmin, qmax);
}
#endif

// ---- double (scalar) ------------------------------------------------------------------------

inline void fake_quantize_forward(std::size_t n, const double* x, double* y, std::uint8_t* mask,
                                  double scale, std::int32_t zero_point, std::int32_t qmin,
                                  std::int32_t qmax) {
  fake_quantize_forward_scalar(n, x, y, mask, scale, zero_point, qmin, qmax);
}
inline void fake_quantize_backward(std::size_t n, const double* x, const double* grad_y,
                                   double* grad_x, double scale, std::int32_t zero_point,
                                   std::int32_t qmin, std::int32_t qmax) {
  fake_quantize_backward_scalar(n, x, grad_y, grad_x, scale, zero_point, qmin, qmax);
}
inline void fake_quantize_per_channel_forward(std::size_t outer, std::size_t channels,
                                              std::size_t inner, const double* x, double* y,
                                              std::uint8_t* mask, const double* scale,
                                              const std::int32_t* zero_point, std::int32_t qmin,
                                              std::int32_t qmax) {
  fake_quantize_per_channel_forward_scalar(outer, channels, inner, x, y, mask, scale, zero_point,
                                           qmin, qmax);
}
inline void fake_quantize_per_channel_backward(std::size_t outer, std::size_t channels,
                                               std::size_t inner, const double* x,
                                               const double* grad_y, double* grad_x,
                                               const double* scale, const std::int32_t* zero_point,
                                               std::int32_t qmin, std::int32_t qmax) {
  fake_quantize_per_channel_backward_scalar(outer, channels, inner, x, grad_y, grad_x, scale,
                                            zero_point, qmin, qmax);
}

// ---- learnable scale and zero point (LSQ) -----------------------------------------------------
//
// PyTorch's _fake_quantize_learnable_per_{tensor,channel}_affine_backward, with r and v as above
// and the gradients of y with respect to scale and zero point treating round() as the identity:
//   inside  (lo <= r <= hi):  dx = dy, dscale = dy * (r - v),      dzero_point = 0
//   below   (r < lo or NaN):  dx = 0,  dscale = dy * lo,           dzero_point = -dy * scale
//   above   (r > hi):         dx = 0,  dscale = dy * hi,           dzero_point = -dy * scale
// (r - v is PyTorch's (x_fq - x) / scale with x_fq = r * scale), each times grad_factor.
// dscale and dzero_point are summed over the n values (in double).

struct LearnableGradSums {
  double scale = 0;
  double zero_point = 0;
};

template <class T>
inline LearnableGradSums fake_quantize_learnable_backward_scalar(
    std::size_t n, const T* x, const T* grad_y, T* grad_x, T scale, std::int32_t zero_point,
    std::int32_t qmin, std::int32_t qmax, double grad_factor) {
  const auto b = fake_quantize_bounds<T>(zero_point, qmin, qmax);
  double dscale = 0, dzero_point = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const T v = x[i] / scale;
    const T r = std::nearbyint(v);
    const double dy = static_cast<double>(grad_y[i]);
    if (r >= b.lo && r <= b.hi) {
      if (grad_x != nullptr) grad_x[i] = grad_y[i];
      dscale += dy * (static_cast<double>(r) - static_cast<double>(v));
    } else {
      if (grad_x != nullptr) grad_x[i] = T(0);
      dscale += dy * static_cast<double>(r > b.hi ? b.hi : b.lo);
      dzero_point -= dy * static_cast<double>(scale);
    }
  }
  return {dscale * grad_factor, dzero_point * grad_factor};
}

}  // namespace frost::kernels::fp32
