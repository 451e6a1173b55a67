#pragma once
// frost's one way in to xsimd, the portable SIMD layer of its element-wise FP32 loops:
// `xsimd::batch<float>` at the architecture the user compiles for (SSE2, AVX2 or AVX-512 on
// x86-64 with -march, NEON on aarch64).
//
// GCC 12 reports "'__Y' is used uninitialized" (-Wuninitialized / -Wmaybe-uninitialized) inside
// its own avx512fintrin.h wherever xsimd's math (exp, log, tanh, nearbyint, ldexp) is compiled
// for AVX-512: the deliberately undefined pass-through operand of a masked intrinsic (GCC bug
// 105593, fixed in 12.3). GCC consults the pragma state along the inlining chain, so silencing
// it where xsimd's functions are defined (here) covers every frost loop that inlines them, and
// frost's own code keeps the warning.

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <xsimd/xsimd.hpp>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
