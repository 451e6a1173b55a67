// ISA names, detection, forcing a path and restoring it.
#include <frost/config.hpp>
#include <frost/kernels/isa.hpp>

#include <catch2/catch.hpp>

using frost::kernels::Isa;

TEST_CASE("ISA names round-trip and unknown names throw", "[kernels][isa]") {
  for (Isa isa : frost::kernels::kAllIsas)
    CHECK(frost::kernels::parse_isa(frost::kernels::isa_name(isa)) == isa);
  CHECK_THROWS_AS(frost::kernels::parse_isa("avx1024"), frost::Error);
  CHECK_THROWS_AS(frost::kernels::parse_isa(""), frost::Error);
}

TEST_CASE("detected paths match the architecture", "[kernels][isa]") {
  using frost::kernels::isa_supported;
  CHECK(isa_supported(Isa::scalar));
  CHECK(isa_supported(frost::kernels::best_isa()));
#if FROST_ARCH_X86_64
  CHECK_FALSE(isa_supported(Isa::neon));
  CHECK_FALSE(isa_supported(Isa::neondot));
  if (isa_supported(Isa::avx512vnni)) CHECK(frost::kernels::cpu_features().avx512bw);
#elif FROST_ARCH_AARCH64
  CHECK(isa_supported(Isa::neon));
  CHECK_FALSE(isa_supported(Isa::avx2));
  CHECK_FALSE(isa_supported(Isa::avx512vnni));
#endif
  // The best path is the widest one supported.
  if (isa_supported(Isa::avx512vnni)) CHECK(frost::kernels::best_isa() == Isa::avx512vnni);
  if (isa_supported(Isa::avxvnni) && !isa_supported(Isa::avx512vnni))
    CHECK(frost::kernels::best_isa() == Isa::avxvnni);
  // A path implies the one it falls back to.
  for (Isa isa : frost::kernels::kAllIsas)
    if (isa_supported(isa)) CHECK(isa_supported(frost::kernels::fallback_isa(isa)));
  if (isa_supported(Isa::neondot)) CHECK(frost::kernels::best_isa() == Isa::neondot);
}

TEST_CASE("IsaGuard forces a path and restores the previous one", "[kernels][isa]") {
  const Isa before = frost::kernels::active_isa();
  {
    frost::kernels::IsaGuard guard(Isa::scalar);
    CHECK(frost::kernels::active_isa() == Isa::scalar);
  }
  CHECK(frost::kernels::active_isa() == before);
  for (Isa isa : frost::kernels::kAllIsas)
    if (!frost::kernels::isa_supported(isa)) {
      CHECK_THROWS_AS(frost::kernels::set_isa(isa), frost::Error);
      CHECK(frost::kernels::active_isa() == before);
    }
}
