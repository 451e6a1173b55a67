#pragma once
// Test helpers: a self-deleting temporary directory, byte-exact file writes, and a gzip encoder
// built from stb's deflate compressor so that tests can make well-formed and corrupt files.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <frost/io/crc32.hpp>

extern "C" unsigned char* stbi_zlib_compress(unsigned char* data, int data_len, int* out_len,
                                             int quality);

namespace frost_test {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
      path_ = std::filesystem::temp_directory_path() /
              ("frost-test-" + std::to_string(rd()) + std::to_string(rd()));
      if (std::filesystem::create_directory(path_)) return;
    }
    throw std::runtime_error("TempDir: cannot create a unique directory");
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("write_bytes failed: " + path.string());
}

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void append_le32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Raw deflate stream for `data`: stb writes a zlib stream (2-byte header, deflate,
// 4-byte Adler-32), of which gzip keeps the middle.
inline std::vector<std::uint8_t> deflate_raw(std::vector<std::uint8_t> data) {
  int len = 0;
  unsigned char* z = stbi_zlib_compress(data.data(), static_cast<int>(data.size()), &len, 8);
  if (z == nullptr || len < 6) throw std::runtime_error("stbi_zlib_compress failed");
  std::vector<std::uint8_t> raw(z + 2, z + len - 4);
  std::free(z);
  return raw;
}

struct GzipOptions {
  std::vector<std::uint8_t> extra;  // FEXTRA payload when non-empty
  std::string name;                 // FNAME when non-empty
  std::string comment;              // FCOMMENT when non-empty
  bool header_crc = false;          // FHCRC
};

// A gzip member around an already-made raw deflate stream.
inline std::vector<std::uint8_t> gzip_wrap(std::span<const std::uint8_t> deflate,
                                           std::span<const std::uint8_t> original,
                                           const GzipOptions& opt = {}) {
  std::uint8_t flags = 0;
  if (opt.header_crc) flags |= 0x02;
  if (!opt.extra.empty()) flags |= 0x04;
  if (!opt.name.empty()) flags |= 0x08;
  if (!opt.comment.empty()) flags |= 0x10;
  std::vector<std::uint8_t> gz = {0x1f, 0x8b, 8, flags, 0x78, 0x56, 0x34, 0x12, 0, 3};
  if (!opt.extra.empty()) {
    gz.push_back(static_cast<std::uint8_t>(opt.extra.size()));
    gz.push_back(static_cast<std::uint8_t>(opt.extra.size() >> 8));
    gz.insert(gz.end(), opt.extra.begin(), opt.extra.end());
  }
  for (const std::string* s : {&opt.name, &opt.comment}) {
    if (s->empty()) continue;
    gz.insert(gz.end(), s->begin(), s->end());
    gz.push_back(0);
  }
  if (opt.header_crc) {
    const std::uint32_t crc = frost::io::crc32(gz);
    gz.push_back(static_cast<std::uint8_t>(crc));
    gz.push_back(static_cast<std::uint8_t>(crc >> 8));
  }
  gz.insert(gz.end(), deflate.begin(), deflate.end());
  append_le32(gz, frost::io::crc32(original));
  append_le32(gz, static_cast<std::uint32_t>(original.size()));
  return gz;
}

inline std::vector<std::uint8_t> gzip_compress(const std::vector<std::uint8_t>& data,
                                               const GzipOptions& opt = {}) {
  return gzip_wrap(deflate_raw(data), data, opt);
}

inline std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng() >> 24);
  return v;
}

}  // namespace frost_test
