#pragma once
// Instruction-set paths of the INT8 kernels and the run-time choice between them.
//
// Every kernel family has one implementation per Isa; the scalar one is the oracle. The path is
// chosen at run time from the CPU's features (never from compile-time macros alone), so one
// binary runs everywhere and each path can be forced for tests and benchmarks:
//   frost::kernels::set_isa(Isa::avx2);    // throws if this CPU cannot run it
//   FROST_ISA=scalar|avx2|avxvnni|avx512vnni|neon|neondot   (read once, at first use)

#include <cstdlib>
#include <string>
#include <string_view>

#include "frost/config.hpp"
#include "frost/core/error.hpp"

#if FROST_ARCH_X86_64
#include <cpuid.h>
#endif

#if FROST_ARCH_AARCH64 && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace frost::kernels {

enum class Isa {
  scalar,      // portable C++; the reference every other path must match bit for bit
  avx2,        // x86-64 AVX2 (+FMA for the float parts)
  avxvnni,     // x86-64 AVX2 + AVX-VNNI (256-bit VEX vpdpbusd: Alder Lake, Sapphire Rapids, Zen 5)
  avx512vnni,  // x86-64 AVX-512 F/BW/DQ/VL + VNNI (512-bit vpdpbusd)
  neon,        // aarch64 Advanced SIMD, widening multiplies
  neondot,     // aarch64 with the dot-product extension (sdot / udot)
};

inline constexpr Isa kAllIsas[] = {Isa::scalar,     Isa::avx2, Isa::avxvnni,
                                   Isa::avx512vnni, Isa::neon, Isa::neondot};

inline constexpr std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return "scalar";
    case Isa::avx2:
      return "avx2";
    case Isa::avxvnni:
      return "avxvnni";
    case Isa::avx512vnni:
      return "avx512vnni";
    case Isa::neon:
      return "neon";
    case Isa::neondot:
      return "neondot";
  }
  return "unknown";
}

inline Isa parse_isa(std::string_view name) {
  for (Isa isa : kAllIsas)
    if (isa_name(isa) == name) return isa;
  frost::detail::throw_error("parse_isa", "unknown ISA '", name,
                             "' (expected scalar, avx2, avxvnni, avx512vnni, neon or neondot)");
}

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avxvnni = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool neon = false;
  bool neon_dot = false;
};

inline CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if FROST_ARCH_X86_64 && (defined(__GNUC__) || defined(__clang__))
  // libgcc's detection also checks that the OS saves the wider registers (XCR0).
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  // AVX-VNNI (CPUID leaf 7, sub-leaf 1, EAX bit 4) by hand: Clang before 15 has no "avxvnni"
  // for __builtin_cpu_supports. Its registers are the AVX ones, already checked for AVX2.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) f.avxvnni = (eax >> 4) & 1u;
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
#elif FROST_ARCH_AARCH64
  f.neon = true;  // Advanced SIMD is mandatory on aarch64
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
  f.neon_dot = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
#endif
  return f;
}

inline const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect_cpu_features();
  return features;
}

inline bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::scalar:
      return true;
    case Isa::avx2:
      return f.avx2 && f.fma;
    case Isa::avxvnni:
      return f.avx2 && f.fma && f.avxvnni;
    case Isa::avx512vnni:  // the features FROST_TARGET_AVX512VNNI compiles for
      return f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.avx512vnni;
    case Isa::neon:
      return f.neon;
    case Isa::neondot:
      return f.neon && f.neon_dot;
  }
  return false;
}

// The next path to try when a kernel family has no kernel for `isa`: every path a CPU can run
// implies the one returned (VNNI CPUs have AVX2, dot-product CPUs have NEON), down to scalar.
// AVX-512 VNNI does not imply AVX-VNNI (Ice Lake and Cascade Lake lack the VEX form), so both
// VNNI paths fall back to AVX2.
inline constexpr Isa fallback_isa(Isa isa) {
  switch (isa) {
    case Isa::avx512vnni:
    case Isa::avxvnni:
      return Isa::avx2;
    case Isa::neondot:
      return Isa::neon;
    default:
      return Isa::scalar;
  }
}

inline Isa best_isa() {
  for (Isa isa : {Isa::avx512vnni, Isa::avxvnni, Isa::avx2, Isa::neondot, Isa::neon})
    if (isa_supported(isa)) return isa;
  return Isa::scalar;
}

namespace detail {
inline Isa initial_isa() {
  const char* forced = std::getenv("FROST_ISA");
  if (forced == nullptr || *forced == '\0') return best_isa();
  const Isa isa = parse_isa(forced);
  FROST_CHECK(isa_supported(isa), "FROST_ISA", "this CPU cannot run the '", forced, "' path");
  return isa;
}
inline Isa& active_isa_slot() {
  static Isa isa = initial_isa();
  return isa;
}
}  // namespace detail

// The path the kernels dispatch to now.
inline Isa active_isa() {
  return detail::active_isa_slot();
}

// Forces a path (tests, benchmarks). Not thread-safe against kernels running concurrently.
inline void set_isa(Isa isa) {
  FROST_CHECK(isa_supported(isa), "set_isa", "this CPU cannot run the '", isa_name(isa), "' path");
  detail::active_isa_slot() = isa;
}

// Restores the previous path when it goes out of scope.
class IsaGuard {
 public:
  explicit IsaGuard(Isa isa) : previous_(active_isa()) { set_isa(isa); }
  IsaGuard(const IsaGuard&) = delete;
  IsaGuard& operator=(const IsaGuard&) = delete;
  ~IsaGuard() { detail::active_isa_slot() = previous_; }

 private:
  Isa previous_;
};

}  // namespace frost::kernels
