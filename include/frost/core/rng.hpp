#pragma once
// The deterministic random source behind every draw in frost (init, dropout, shuffling,
// augmentation, GradBoost noise). xoshiro256** seeded through splitmix64: fast, small state,
// and the same stream on every platform, unlike std:: distributions whose output is
// implementation-defined.

#include <cmath>
#include <cstdint>
#include <limits>

namespace frost {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) { manual_seed(seed); }

  void manual_seed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : state_) s = splitmix64(x);
    has_spare_normal_ = false;
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 (double) or 24 (float) random bits.
  double uniform_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  float uniform_float() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

  // Uniform integer in [0, n), unbiased: draws below 2^64 mod n are rejected.
  std::uint64_t uniform_int(std::uint64_t n) {
    if (n == 0) return 0;
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next_u64();
      if (r >= threshold) return r % n;
    }
  }

  // Standard normal through the Box-Muller transform (both values used).
  double normal() {
    if (has_spare_normal_) {
      has_spare_normal_ = false;
      return spare_normal_;
    }
    double u1 = uniform_double();
    while (u1 <= std::numeric_limits<double>::min()) u1 = uniform_double();
    const double u2 = uniform_double();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 6.283185307179586476925 * u2;
    spare_normal_ = r * std::sin(theta);
    has_spare_normal_ = true;
    return r * std::cos(theta);
  }

  // Laplace(0, 1), for GradBoost's noise.
  double laplace() {
    const double u = uniform_double() - 0.5;
    const double a = 1.0 - 2.0 * std::abs(u);
    return (u < 0 ? 1.0 : -1.0) * std::log(a > 0 ? a : std::numeric_limits<double>::min());
  }

  bool bernoulli(double p) { return uniform_double() < p; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t state_[4] = {};
  double spare_normal_ = 0;
  bool has_spare_normal_ = false;
};

// The generator used when an op is not given one; frost::manual_seed resets it.
inline Generator& default_generator() {
  static Generator gen;
  return gen;
}
inline void manual_seed(std::uint64_t seed) {
  default_generator().manual_seed(seed);
}

}  // namespace frost
