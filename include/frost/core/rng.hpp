#pragma once
// The deterministic random source behind every draw in frost (init, dropout, shuffling,
// augmentation, GradBoost noise). xoshiro256** seeded through splitmix64: fast, small state,
// and the same stream on every platform, unlike std:: distributions whose output is
// implementation-defined.
//
// A generator's whole state can be read and restored (torch.Generator.get_state / set_state), so
// a checkpointed run draws exactly the numbers it would have drawn without the interruption:
//
//   const frost::GeneratorState saved = gen.get_state();
//   ...
//   gen.set_state(saved);                     // the same uniform, uniform_int, normal, ... draws
//   gen.set_state_string(gen.state_string()); // the same, as text (for safetensors metadata)
//
// The text form is "frost.generator.v1 <s0> <s1> <s2> <s3> <spare>": the four xoshiro256** words
// as 16 lowercase hex digits each, then the bits of the pending Box-Muller normal as 16 hex
// digits, or "none" when no normal is pending.

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "frost/core/error.hpp"

namespace frost {

inline constexpr std::string_view kGeneratorStateFormat = "frost.generator.v1";

// Everything a Generator's future draws depend on. The spare normal (the second value of the
// last Box-Muller pair, returned by the next normal()) is kept as its bits; when none is pending
// spare_normal_bits is 0, so equal states compare equal.
struct GeneratorState {
  std::array<std::uint64_t, 4> words{};
  bool has_spare_normal = false;
  std::uint64_t spare_normal_bits = 0;

  bool operator==(const GeneratorState&) const = default;
};

namespace detail {

inline void append_hex64(std::string& out, std::uint64_t value) {
  constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out += kDigits[(value >> shift) & 0xf];
}

// Exactly 16 hex digits (either case); nothing else.
inline bool parse_hex64(std::string_view text, std::uint64_t& value) {
  if (text.size() != 16) return false;
  value = 0;
  for (const char c : text) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  return true;
}

}  // namespace detail

// The text form of a state (see the top of this file).
inline std::string to_string(const GeneratorState& state) {
  std::string out(kGeneratorStateFormat);
  for (const std::uint64_t word : state.words) {
    out += ' ';
    detail::append_hex64(out, word);
  }
  out += ' ';
  if (state.has_spare_normal) {
    detail::append_hex64(out, state.spare_normal_bits);
  } else {
    out += "none";
  }
  return out;
}

// Parses to_string's form. Malformed text (wrong tag, field count, separators or digits), an
// all-zero xoshiro state (a stream of zeros forever) or a spare normal that is not finite throws
// a frost::Error naming `op` and the text.
inline GeneratorState parse_generator_state(std::string_view text,
                                            const char* op = "parse_generator_state") {
  constexpr std::size_t kMaxShown = 200;
  const auto fail = [&](const char* why) {
    const bool cut = text.size() > kMaxShown;
    detail::throw_error(op, "malformed generator state '", text.substr(0, kMaxShown),
                        cut ? "...'" : "'", " (", why, "); expected '", kGeneratorStateFormat,
                        " <s0> <s1> <s2> <s3> <spare>' with 16 hex digits per word and the spare "
                        "as 16 hex digits or 'none'");
  };
  std::array<std::string_view, 6> fields;
  std::size_t count = 0;
  for (std::size_t begin = 0;;) {
    const std::size_t end = text.find(' ', begin);
    if (count == fields.size()) fail("too many fields");
    fields[count++] = text.substr(begin, end == std::string_view::npos ? end : end - begin);
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  if (count != fields.size()) fail("too few fields");
  if (fields[0] != kGeneratorStateFormat) fail("unknown format tag");
  GeneratorState state;
  for (std::size_t i = 0; i < 4; ++i)
    if (!detail::parse_hex64(fields[i + 1], state.words[i])) fail("bad state word");
  if (state.words == std::array<std::uint64_t, 4>{}) fail("all state words are zero");
  if (fields[5] != "none") {
    if (!detail::parse_hex64(fields[5], state.spare_normal_bits)) fail("bad spare normal");
    if (!std::isfinite(std::bit_cast<double>(state.spare_normal_bits)))
      fail("spare normal is not finite");
    state.has_spare_normal = true;
  }
  return state;
}

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0x5eed) { manual_seed(seed); }

  void manual_seed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : state_) s = splitmix64(x);
    has_spare_normal_ = false;
  }

  // The whole state; set_state(get_state()) reproduces every later draw exactly.
  GeneratorState get_state() const {
    GeneratorState state;
    for (std::size_t i = 0; i < 4; ++i) state.words[i] = state_[i];
    state.has_spare_normal = has_spare_normal_;
    state.spare_normal_bits = has_spare_normal_ ? std::bit_cast<std::uint64_t>(spare_normal_) : 0;
    return state;
  }

  // Throws a frost::Error (and changes nothing) for an all-zero xoshiro state, which no seed
  // produces and which would draw zeros forever.
  void set_state(const GeneratorState& state) {
    FROST_CHECK(state.words != (std::array<std::uint64_t, 4>{}), "Generator::set_state",
                "all four state words are zero (not a state any seed produces)");
    for (std::size_t i = 0; i < 4; ++i) state_[i] = state.words[i];
    has_spare_normal_ = state.has_spare_normal;
    spare_normal_ = state.has_spare_normal ? std::bit_cast<double>(state.spare_normal_bits) : 0.0;
  }

  // The state as text (see the top of this file), and back; malformed text throws a
  // frost::Error naming Generator::set_state_string and the text, and changes nothing.
  std::string state_string() const { return to_string(get_state()); }
  void set_state_string(std::string_view text) {
    set_state(parse_generator_state(text, "Generator::set_state_string"));
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

// The default generator's state (torch.get_rng_state / torch.set_rng_state); io/rng_state.hpp
// saves it to a file.
inline GeneratorState get_rng_state() {
  return default_generator().get_state();
}
inline void set_rng_state(const GeneratorState& state) {
  default_generator().set_state(state);
}

}  // namespace frost
