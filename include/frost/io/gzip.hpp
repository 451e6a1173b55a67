#pragma once
// gzip (RFC 1952) decoding on top of stb's raw-deflate decoder, for the .gz files Debian ships
// datasets in. A gzip member is a 10-byte header (magic 1f 8b, method 8 = deflate, flags,
// mtime, extra flags, OS), optional fields selected by the flags (FEXTRA: a length-prefixed
// blob; FNAME and FCOMMENT: zero-terminated strings; FHCRC: the low 16 bits of the header's
// CRC-32), the raw deflate stream, and an 8-byte trailer: CRC-32 and length mod 2^32 (ISIZE)
// of the uncompressed data, both little-endian. Both are verified, so a truncated or
// bit-flipped download is an error rather than a silently wrong dataset.
//
// One member per file, as gzip(1) writes it. stb does not report where the deflate stream ends,
// so a concatenation of members (`cat a.gz b.gz`) cannot be decoded; it shows up as a size or
// CRC mismatch against the last member's trailer (unless all members hold identical data, in
// which case the first copy is returned).

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "frost/core/error.hpp"
#include "frost/io/crc32.hpp"
#include "frost/io/file.hpp"

// From libstb (stb_image.h), declared here so that the 8000-line header is not pulled into
// every translation unit. The returned buffer is released with stbi_image_free.
extern "C" {
char* stbi_zlib_decode_malloc_guesssize_headerflag(const char* buffer, int len, int initial_size,
                                                   int* outlen, int parse_header);
void stbi_image_free(void* retval_from_stbi_load);
}

namespace frost::io {

inline constexpr std::uint8_t kGzipMagic0 = 0x1f;
inline constexpr std::uint8_t kGzipMagic1 = 0x8b;

inline bool has_gzip_magic(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == kGzipMagic0 && bytes[1] == kGzipMagic1;
}

namespace detail {

inline std::uint32_t load_le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

}  // namespace detail

// Decompresses one gzip member held in memory. `source` (usually the path) names the data in
// error messages.
inline std::vector<std::uint8_t> gunzip(std::span<const std::uint8_t> gz,
                                        const std::string& source) {
  constexpr const char* kOp = "gunzip";
  constexpr std::size_t kHeaderSize = 10, kTrailerSize = 8;
  FROST_CHECK(gz.size() >= 2, kOp, "'", source, "': truncated: ", gz.size(),
              " bytes, too short for a gzip header");
  FROST_CHECK(has_gzip_magic(gz), kOp, "'", source, "': bad magic 0x", std::hex,
              static_cast<int>(gz[0]), " 0x", static_cast<int>(gz[1]),
              ", not a gzip file (expected 0x1f 0x8b)");
  FROST_CHECK(gz.size() >= kHeaderSize + kTrailerSize, kOp, "'", source,
              "': truncated: ", gz.size(), " bytes, a gzip file has at least 18");
  FROST_CHECK(gz[2] == 8, kOp, "'", source, "': unsupported compression method ",
              static_cast<int>(gz[2]), " (only 8 = deflate exists)");
  const std::uint8_t flags = gz[3];
  constexpr std::uint8_t kFhcrc = 0x02, kFextra = 0x04, kFname = 0x08, kFcomment = 0x10;
  FROST_CHECK((flags & 0xE0) == 0, kOp, "'", source, "': reserved header flag bits set (flags 0x",
              std::hex, static_cast<int>(flags), "), corrupt header");

  // Optional fields; each must end before the 8-byte trailer.
  const std::size_t body_limit = gz.size() - kTrailerSize;
  std::size_t pos = kHeaderSize;
  if (flags & kFextra) {
    FROST_CHECK(pos + 2 <= body_limit, kOp, "'", source, "': truncated in the FEXTRA length");
    const std::size_t xlen = gz[pos] | static_cast<std::size_t>(gz[pos + 1]) << 8;
    pos += 2;
    FROST_CHECK(xlen <= body_limit - pos, kOp, "'", source, "': truncated: FEXTRA field of ", xlen,
                " bytes runs past the end of the file");
    pos += xlen;
  }
  for (std::uint8_t field : {kFname, kFcomment}) {
    if (!(flags & field)) continue;
    const auto* begin = gz.data() + pos;
    const auto* end = std::find(begin, gz.data() + body_limit, std::uint8_t{0});
    FROST_CHECK(end != gz.data() + body_limit, kOp, "'", source, "': truncated: the ",
                field == kFname ? "FNAME" : "FCOMMENT", " string is not terminated");
    pos += static_cast<std::size_t>(end - begin) + 1;
  }
  if (flags & kFhcrc) {
    FROST_CHECK(pos + 2 <= body_limit, kOp, "'", source, "': truncated in the header CRC");
    const std::uint32_t stored = gz[pos] | static_cast<std::uint32_t>(gz[pos + 1]) << 8;
    const std::uint32_t computed = crc32(gz.first(pos)) & 0xFFFFu;
    FROST_CHECK(stored == computed, kOp, "'", source, "': header CRC mismatch (stored 0x", std::hex,
                stored, ", computed 0x", computed, ")");
    pos += 2;
  }

  const std::span<const std::uint8_t> body = gz.subspan(pos, body_limit - pos);
  const std::uint32_t stored_crc = detail::load_le32(gz.data() + body_limit);
  const std::uint32_t stored_size = detail::load_le32(gz.data() + body_limit + 4);
  // The decoder is given the trailer too: stb refills its bit buffer 16 bits ahead and reports
  // end-of-input when fewer remain, even if the final codes are complete. The decoder stops at
  // the final block, so the trailer bytes are never decoded as data.
  const std::span<const std::uint8_t> decoder_input = gz.subspan(pos);
  FROST_CHECK(decoder_input.size() <= static_cast<std::size_t>(INT_MAX), kOp, "'", source,
              "': compressed data of ", body.size(), " bytes exceeds the 2 GiB decoder limit");

  // ISIZE sizes the first allocation. It is only a hint (a corrupt trailer must not cause a
  // huge allocation): deflate expands at most ~1032:1, and the decoder grows its buffer.
  const std::uint64_t max_expansion = static_cast<std::uint64_t>(body.size()) * 1032 + 64;
  std::uint64_t guess = std::min<std::uint64_t>(stored_size, max_expansion);
  guess = std::clamp<std::uint64_t>(guess, 64, INT_MAX);
  int out_len = 0;
  char* out = stbi_zlib_decode_malloc_guesssize_headerflag(
      reinterpret_cast<const char*>(decoder_input.data()), static_cast<int>(decoder_input.size()),
      static_cast<int>(guess), &out_len, /*parse_header=*/0);
  FROST_CHECK(out != nullptr, kOp, "'", source,
              "': corrupt or truncated deflate data (or output above 2 GiB)");
  std::vector<std::uint8_t> data(reinterpret_cast<std::uint8_t*>(out),
                                 reinterpret_cast<std::uint8_t*>(out) + out_len);
  stbi_image_free(out);

  const auto size_mod_2_32 = static_cast<std::uint32_t>(data.size() & 0xFFFFFFFFu);
  FROST_CHECK(size_mod_2_32 == stored_size, kOp, "'", source, "': size mismatch: trailer says ",
              stored_size, " bytes, data decodes to ", data.size(),
              " (truncated file, or several concatenated gzip members)");
  const std::uint32_t computed_crc = crc32(data);
  FROST_CHECK(computed_crc == stored_crc, kOp, "'", source, "': CRC-32 mismatch (stored 0x",
              std::hex, stored_crc, ", computed 0x", computed_crc, "): corrupt data");
  return data;
}

// Reads a file and decompresses it if it is gzip. A file whose name ends in ".gz" must be
// gzip; any other file that does not start with the gzip magic is returned as it is, so a
// dataset can be stored compressed or not.
inline std::vector<std::uint8_t> read_maybe_gzipped(const std::filesystem::path& path,
                                                    const char* op = "read_maybe_gzipped") {
  std::vector<std::uint8_t> bytes = read_file(path, op);
  if (path.extension() == ".gz" || has_gzip_magic(bytes)) return gunzip(bytes, path.string());
  return bytes;
}

}  // namespace frost::io
