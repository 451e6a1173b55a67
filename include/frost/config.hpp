#pragma once
// Version and platform macros.

#define FROST_VERSION_MAJOR 0
#define FROST_VERSION_MINOR 1
#define FROST_VERSION_PATCH 0

#if defined(__x86_64__) || defined(_M_X64)
#define FROST_ARCH_X86_64 1
#else
#define FROST_ARCH_X86_64 0
#endif

#if defined(__aarch64__)
#define FROST_ARCH_AARCH64 1
#else
#define FROST_ARCH_AARCH64 0
#endif
