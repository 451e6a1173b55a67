#include <frost/io/crc32.hpp>
#include <frost/io/gzip.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "temp_files.hpp"

using Catch::Matchers::Contains;
using frost_test::TempDir;

namespace {

std::vector<std::uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

// Bit-at-a-time CRC-32, straight from the definition, as the oracle for the table version.
std::uint32_t crc32_bitwise(const std::vector<std::uint8_t>& data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::uint8_t b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

// `printf 'Hello, frost! Hello, frost! Hello, frost!\n' > hello.txt && gzip hello.txt`:
// gzip(1)'s own output, with an FNAME field, decoded independently of frost's test encoder.
const std::vector<std::uint8_t> kHelloGz = {
    0x1f, 0x8b, 0x08, 0x08, 0x0b, 0x2c, 0x09, 0x6b, 0x00, 0x03, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2e,
    0x74, 0x78, 0x74, 0x00, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0x48, 0x2b, 0xca, 0x2f, 0x2e,
    0x51, 0x54, 0xf0, 0xc0, 0xcd, 0xe3, 0x02, 0x00, 0x9c, 0x1c, 0xf8, 0xe0, 0x2a, 0x00, 0x00, 0x00};
const std::string kHelloText = "Hello, frost! Hello, frost! Hello, frost!\n";

// Expects read_maybe_gzipped(path) to throw a frost::Error naming the path and `what`.
void require_error(const std::filesystem::path& path, const std::string& what) {
  REQUIRE_THROWS_MATCHES(frost::io::read_maybe_gzipped(path), frost::Error,
                         Catch::Matchers::Predicate<frost::Error>(
                             [&](const frost::Error& e) {
                               const std::string msg = e.what();
                               return msg.find(path.string()) != std::string::npos &&
                                      msg.find(what) != std::string::npos;
                             },
                             "message names '" + path.string() + "' and '" + what + "'"));
}

}  // namespace

TEST_CASE("crc32 matches the check value and a bitwise reference", "[io][gzip]") {
  REQUIRE(frost::io::crc32(bytes_of("123456789")) == 0xCBF43926u);  // the standard check value
  REQUIRE(frost::io::crc32(std::vector<std::uint8_t>{}) == 0u);
  for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 1000}) {
    const auto data = frost_test::random_bytes(n, static_cast<std::uint32_t>(n));
    REQUIRE(frost::io::crc32(data) == crc32_bitwise(data));
    // Running CRC over two pieces equals the CRC of the whole.
    const std::span<const std::uint8_t> all(data);
    const std::size_t cut = n / 3;
    REQUIRE(frost::io::crc32(all.subspan(cut), frost::io::crc32(all.first(cut))) ==
            crc32_bitwise(data));
  }
}

TEST_CASE("gunzip decodes gzip(1) output", "[io][gzip]") {
  const auto text = frost::io::gunzip(kHelloGz, "hello.txt.gz");
  REQUIRE(std::string(text.begin(), text.end()) == kHelloText);
}

TEST_CASE("gzip round trip with every optional header field", "[io][gzip]") {
  TempDir dir;
  // Compressible and incompressible parts, so both Huffman and literal-heavy blocks occur.
  auto data = frost_test::random_bytes(70000, 7);
  for (std::size_t i = 0; i < 30000; ++i) data[i] = static_cast<std::uint8_t>(i % 37);
  for (int mask = 0; mask < 16; ++mask) {
    frost_test::GzipOptions opt;
    if (mask & 1) opt.extra = {1, 2, 3, 0, 5};
    if (mask & 2) opt.name = "data.bin";
    if (mask & 4) opt.comment = "a comment";
    opt.header_crc = (mask & 8) != 0;
    const auto path = dir / ("round" + std::to_string(mask) + ".gz");
    frost_test::write_bytes(path, frost_test::gzip_compress(data, opt));
    REQUIRE(frost::io::read_maybe_gzipped(path) == data);
  }
}

TEST_CASE("gunzip decodes hand-made stored deflate blocks", "[io][gzip]") {
  // Two stored blocks (BTYPE 00): header bits, LEN, ~LEN, raw bytes. Written by hand so this
  // test does not depend on any compressor.
  const std::vector<std::uint8_t> deflate = {0x00, 3, 0, 0xFC, 0xFF, 'a', 'b', 'c',
                                             0x01, 2, 0, 0xFD, 0xFF, 'd', 'e'};
  const auto original = bytes_of("abcde");
  REQUIRE(frost::io::gunzip(frost_test::gzip_wrap(deflate, original), "stored") == original);
  // An empty file compresses to one empty final stored block.
  const std::vector<std::uint8_t> empty_block = {0x01, 0, 0, 0xFF, 0xFF};
  REQUIRE(frost::io::gunzip(frost_test::gzip_wrap(empty_block, {}), "empty").empty());
}

TEST_CASE("read_maybe_gzipped passes plain files through", "[io][gzip]") {
  TempDir dir;
  const auto plain = bytes_of("\x00\x00\x08\x01 not compressed");
  frost_test::write_bytes(dir / "plain.bin", plain);
  REQUIRE(frost::io::read_maybe_gzipped(dir / "plain.bin") == plain);
  frost_test::write_bytes(dir / "empty.bin", {});
  REQUIRE(frost::io::read_maybe_gzipped(dir / "empty.bin").empty());
  // Gzip content is recognised by its magic even without the .gz suffix.
  frost_test::write_bytes(dir / "hello.bin", kHelloGz);
  const auto text = frost::io::read_maybe_gzipped(dir / "hello.bin");
  REQUIRE(std::string(text.begin(), text.end()) == kHelloText);
}

TEST_CASE("gzip errors name the path and the problem", "[io][gzip][errors]") {
  TempDir dir;
  require_error(dir / "missing.gz", "file not found");
  require_error(dir.path(), "is a directory");

  const auto write = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    frost_test::write_bytes(dir / name, bytes);
    return dir / name;
  };
  require_error(write("plain.gz", bytes_of("plain text, not gzip")), "bad magic");

  auto crc = kHelloGz;
  crc[crc.size() - 8] ^= 0x01;  // first byte of the stored CRC-32
  require_error(write("crc.gz", crc), "CRC-32 mismatch");

  auto payload = kHelloGz;
  payload[25] ^= 0x40;  // a bit inside the deflate data: bad code or wrong bytes
  require_error(write("payload.gz", payload), "gunzip");

  auto isize = kHelloGz;
  isize[isize.size() - 4] ^= 0x01;
  require_error(write("isize.gz", isize), "size mismatch");

  auto method = kHelloGz;
  method[2] = 7;
  require_error(write("method.gz", method), "unsupported compression method");

  auto reserved = kHelloGz;
  reserved[3] |= 0x80;
  require_error(write("reserved.gz", reserved), "reserved header flag");

  auto btype3 = kHelloGz;
  btype3[20] = 0x07;  // BFINAL=1, BTYPE=11 (reserved)
  require_error(write("btype.gz", btype3), "corrupt or truncated deflate");

  frost_test::GzipOptions with_hcrc;
  with_hcrc.header_crc = true;
  with_hcrc.name = "x";
  auto hcrc = frost_test::gzip_compress(bytes_of("header crc"), with_hcrc);
  hcrc[12] ^= 0xFF;  // the stored header CRC (10-byte header, "x\0")
  require_error(write("hcrc.gz", hcrc), "header CRC mismatch");

  // `cat a.gz b.gz`: not supported, and must not pass as a's data under b's trailer.
  auto two_members = kHelloGz;
  const auto second = frost_test::gzip_compress(bytes_of("a different second member"));
  two_members.insert(two_members.end(), second.begin(), second.end());
  require_error(write("two.gz", two_members), "mismatch");
}

TEST_CASE("every truncation of a gzip file is an error naming the path", "[io][gzip][errors]") {
  TempDir dir;
  frost_test::GzipOptions opt;
  opt.extra = {9, 9, 9};
  opt.name = "n";
  opt.comment = "c";
  opt.header_crc = true;
  auto data = frost_test::random_bytes(3000, 3);
  for (std::size_t i = 0; i < 1500; ++i) data[i] = static_cast<std::uint8_t>(i % 11);
  const auto full = frost_test::gzip_compress(data, opt);
  // Every cut in memory (file writes would make this slow on a busy disk)...
  for (std::size_t len = 0; len < full.size(); ++len) {
    INFO("truncated to " << len << " of " << full.size() << " bytes");
    REQUIRE_THROWS_WITH(frost::io::gunzip(std::span(full).first(len), "cut-in-memory.gz"),
                        Contains("cut-in-memory.gz"));
  }
  // ... and a few through files, in the header, the deflate data and the trailer.
  const auto path = dir / "cut.gz";
  for (const std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{9}, std::size_t{17},
                                full.size() / 2, full.size() - 5, full.size() - 1}) {
    frost_test::write_bytes(path, std::span(full).first(len));
    INFO("truncated to " << len << " of " << full.size() << " bytes");
    REQUIRE_THROWS_WITH(frost::io::read_maybe_gzipped(path), Contains(path.string()));
  }
}
