#pragma once
// Per-function target attributes for the SIMD paths of the INT8 kernels.
//
// frost is header-only and picks its path at run time (kernels/isa.hpp), so a kernel for an ISA
// the build flags do not enable is compiled with a function attribute instead of -m flags: the
// program then runs on any CPU, and only calls such a function after checking isa_supported().
// Every function that uses the intrinsics of a path, including small inline helpers, carries the
// path's macro (GCC refuses to inline an intrinsic into a function without the target).
//
//   FROST_TARGET_AVX2        x86-64 AVX2 + FMA
//   FROST_TARGET_AVXVNNI     x86-64 AVX2 + FMA + AVX-VNNI (256-bit VEX vpdpbusd)
//   FROST_TARGET_AVX512VNNI  x86-64 AVX-512 F/BW/VL/DQ + VNNI (512-bit vpdpbusd)
//   FROST_TARGET_NEON        aarch64 base Advanced SIMD (always on; empty)
//   FROST_TARGET_NEONDOT     aarch64 with the dot-product extension (sdot / udot)
//
// The macro of a path the target architecture lacks is not defined; code for that path is
// guarded by FROST_ARCH_X86_64 / FROST_ARCH_AARCH64 from config.hpp.

#include "frost/config.hpp"

#if !defined(__GNUC__) && !defined(__clang__)
#error "frost's SIMD kernels need GCC or Clang function target attributes"
#endif

#if FROST_ARCH_X86_64
#define FROST_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FROST_TARGET_AVXVNNI __attribute__((target("avx2,fma,avxvnni")))
#define FROST_TARGET_AVX512VNNI \
  __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#endif

#if FROST_ARCH_AARCH64
#define FROST_TARGET_NEON
// GCC 12 rejects the bare "+dotprod" form for intrinsics; the full arch string works in GCC and
// Clang.
#define FROST_TARGET_NEONDOT __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

// Forces inlining of small helpers into kernels that share their target.
#define FROST_ALWAYS_INLINE inline __attribute__((always_inline))

// FROST_PIN_TO_REGISTER(v): an empty asm that claims to change the SIMD value v: no
// instruction, but the register allocator must materialise v in a register there. Used at the
// K tail of micro-kernels, it stops GCC 12 from spilling every accumulator inside the main loop
// (seen on the 6x64 AVX-512 tile, which ran at a third of its speed). A macro, not a function:
// Clang checks the register constraint against the target of the function the asm is written in.
#if FROST_ARCH_X86_64
#define FROST_PIN_TO_REGISTER(v) __asm__("" : "+v"(v))
#else
#define FROST_PIN_TO_REGISTER(v) __asm__("" : "+w"(v))
#endif
