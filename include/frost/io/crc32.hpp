#pragma once
// CRC-32 as gzip, zlib and PNG define it (ISO-HDLC: reflected polynomial 0xEDB88320, initial
// value and final xor 0xFFFFFFFF), table-driven with slicing-by-4 so checking a 50 MB dataset
// costs a few tens of milliseconds.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace frost::io {
namespace detail {

using Crc32Tables = std::array<std::array<std::uint32_t, 256>, 4>;

// tables[k][b] is the CRC of byte b followed by k zero bytes, which lets four input bytes be
// folded in with four independent lookups.
constexpr Crc32Tables make_crc32_tables() {
  Crc32Tables tables{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    tables[0][b] = c;
  }
  for (std::size_t b = 0; b < 256; ++b) {
    for (std::size_t k = 1; k < 4; ++k) {
      const std::uint32_t prev = tables[k - 1][b];
      tables[k][b] = (prev >> 8) ^ tables[0][prev & 0xFFu];
    }
  }
  return tables;
}

inline constexpr Crc32Tables kCrc32Tables = make_crc32_tables();

}  // namespace detail

// Continues a running CRC: crc32(b, crc32(a)) == crc32(a followed by b). Start with 0.
inline std::uint32_t crc32(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0) {
  const auto& t = detail::kCrc32Tables;
  std::uint32_t c = ~crc;
  std::size_t i = 0;
  for (; i + 4 <= bytes.size(); i += 4) {
    c ^= static_cast<std::uint32_t>(bytes[i]) | static_cast<std::uint32_t>(bytes[i + 1]) << 8 |
         static_cast<std::uint32_t>(bytes[i + 2]) << 16 |
         static_cast<std::uint32_t>(bytes[i + 3]) << 24;
    c = t[3][c & 0xFFu] ^ t[2][(c >> 8) & 0xFFu] ^ t[1][(c >> 16) & 0xFFu] ^ t[0][c >> 24];
  }
  for (; i < bytes.size(); ++i) c = (c >> 8) ^ t[0][(c ^ bytes[i]) & 0xFFu];
  return ~c;
}

}  // namespace frost::io
