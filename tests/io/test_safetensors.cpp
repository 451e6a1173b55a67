#include <frost/io/safetensors.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "temp_files.hpp"

using Catch::Matchers::Contains;
using frost::io::SafetensorsDType;
using frost::io::SafetensorsView;
using frost_test::TempDir;

namespace {

template <class T>
std::vector<std::uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<std::uint8_t> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A file laid out by hand: 8-byte length, header text, buffer.
std::vector<std::uint8_t> make_file(const std::string& header, std::vector<std::uint8_t> buffer) {
  std::vector<std::uint8_t> file;
  frost_test::append_le32(file, static_cast<std::uint32_t>(header.size()));
  frost_test::append_le32(file, 0);
  file.insert(file.end(), header.begin(), header.end());
  file.insert(file.end(), buffer.begin(), buffer.end());
  return file;
}

std::size_t count_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("safetensors round trip keeps names, dtypes, shapes, bytes and metadata",
          "[io][safetensors]") {
  TempDir dir;
  const auto f32 = bytes_of(std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f});
  const auto f64 = bytes_of(std::vector<double>{3.141592653589793, -1e300});
  const auto i8 = bytes_of(std::vector<std::int8_t>{-128, 127, 0});
  const auto u8 = bytes_of(std::vector<std::uint8_t>{255, 0, 17, 3});
  const auto i32 = bytes_of(std::vector<std::int32_t>{INT32_MIN, INT32_MAX});
  const auto bf16 = bytes_of(std::vector<std::uint16_t>{0x3F80});
  const std::vector<SafetensorsView> views = {
      {"layer.weight", SafetensorsDType::kF32, {2, 3}, f32},
      {"layer.double", SafetensorsDType::kF64, {2}, f64},
      {"q\"uoted\\name é", SafetensorsDType::kI8, {3}, i8},
      {"bytes", SafetensorsDType::kU8, {2, 1, 2}, u8},
      {"counts", SafetensorsDType::kI32, {2}, i32},
      {"half", SafetensorsDType::kBF16, {}, bf16},  // a scalar: shape []
      {"empty", SafetensorsDType::kF32, {0, 4}, {}},
  };
  const std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                       {"note", "line\nbreak \"q\" ✓"}};
  const auto path = dir / "model.safetensors";
  frost::io::write_safetensors(path, views, metadata);
  REQUIRE(count_files(dir.path()) == 1);  // the temporary file was renamed, not left behind

  const auto contents = frost::io::read_safetensors(path);
  REQUIRE(contents.metadata == metadata);
  REQUIRE(contents.tensors.size() == views.size());
  for (const auto& v : views) {
    const auto* rec = contents.find(v.name);
    REQUIRE(rec != nullptr);
    REQUIRE(rec->dtype == v.dtype);
    REQUIRE(rec->shape == v.shape);
    REQUIRE(rec->bytes == std::vector<std::uint8_t>(v.bytes.begin(), v.bytes.end()));
  }
  // Header keys come out sorted by name.
  for (std::size_t i = 1; i < contents.tensors.size(); ++i) {
    REQUIRE(contents.tensors[i - 1].name < contents.tensors[i].name);
  }
}

TEST_CASE("safetensors writer output matches the hand-written layout byte for byte",
          "[io][safetensors]") {
  TempDir dir;
  const auto u8 = bytes_of(std::vector<std::uint8_t>{7, 8, 9});
  const auto f32 = bytes_of(std::vector<float>{1.0f, 2.0f});
  const std::vector<SafetensorsView> views = {{"a", SafetensorsDType::kU8, {3}, u8},
                                              {"b", SafetensorsDType::kF32, {2}, f32}};
  const auto path = dir / "small.safetensors";
  frost::io::write_safetensors(path, views, {{"format", "pt"}});

  // Compact JSON, metadata first, names sorted; the 4-byte F32 data is laid out before the
  // 1-byte U8 data so that it stays aligned; 6 spaces pad the 138-byte header to 144.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"U8","shape":[3],"data_offsets":[8,11]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  REQUIRE(json.size() == 138);
  std::vector<std::uint8_t> buffer = f32;
  buffer.insert(buffer.end(), u8.begin(), u8.end());
  REQUIRE(frost_test::read_bytes(path) == make_file(json + "      ", buffer));
}

TEST_CASE("safetensors reads a file with its keys in another order", "[io][safetensors]") {
  // Keys in another order than frost writes them (metadata last), as other writers may.
  TempDir dir;
  const std::string header =
      R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"foo":"bar"}})";
  const auto data = bytes_of(std::vector<std::int32_t>{0, 1, 2, 3});
  const auto path = dir / "ref.safetensors";
  const auto file = make_file(header + "    ", data);
  frost_test::write_bytes(path, file);

  // Parsing in memory borrows the tensor bytes from the buffer.
  const auto index = frost::io::parse_safetensors(file, "in memory");
  REQUIRE(index.find("test") != nullptr);
  REQUIRE(index.find("test")->bytes.data() == file.data() + 8 + header.size() + 4);
  REQUIRE(index.find("test")->bytes.size() == 16);

  const auto contents = frost::io::read_safetensors(path);
  REQUIRE(contents.metadata.at("foo") == "bar");
  REQUIRE(contents.tensors.size() == 1);
  REQUIRE(contents.tensors[0].name == "test");
  REQUIRE(contents.tensors[0].dtype == SafetensorsDType::kI32);
  REQUIRE(contents.tensors[0].shape == std::vector<std::int64_t>{2, 2});
  REQUIRE(contents.tensors[0].bytes == data);
}

TEST_CASE("corrupt safetensors files are errors naming the path and the tensor",
          "[io][safetensors][errors]") {
  TempDir dir;
  int counter = 0;
  const auto check = [&](const std::vector<std::uint8_t>& file, const std::string& what) {
    const auto path = dir / ("bad" + std::to_string(counter++) + ".safetensors");
    frost_test::write_bytes(path, file);
    INFO("expecting: " << what);
    REQUIRE_THROWS_WITH(frost::io::read_safetensors(path),
                        Contains(path.string()) && Contains(what));
  };
  const auto data8 = bytes_of(std::vector<float>{1.0f, 2.0f});
  const auto tensor = [](const std::string& name, const std::string& dtype,
                         const std::string& shape, const std::string& offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
           ",\"data_offsets\":" + offsets + "}";
  };

  const auto file = [&](const std::string& body, std::vector<std::uint8_t> buffer) {
    return make_file("{" + body + "}", std::move(buffer));
  };

  check({1, 2, 3}, "file too short (3 bytes)");
  auto too_long = make_file("{}", {});
  too_long[0] = 200;  // header length 200 in a 10-byte file
  check(too_long, "header length 200 runs past the end of the file");
  auto huge = make_file("{}", {});
  huge[5] = 1;  // 2^40
  check(huge, "exceeds the format's limit");
  check(make_file("[]", {}), "does not start with '{'");
  check(make_file("", {}), "does not start with '{'");
  check(file(tensor("w", "F32", "[2]", "[0,8]") + ",", data8), "malformed JSON header");
  check(file(tensor("w", "F32", "[2.0]", "[0,8]"), data8), "non-integer number");
  check(file(tensor("w", "F32", "[2]", "[0,8]") + "," + tensor("w", "F32", "[2]", "[0,8]"), data8),
        "duplicate key \"w\"");
  check(file(tensor("w", "F17", "[2]", "[0,8]"), data8), "tensor \"w\": unknown dtype \"F17\"");
  check(file(tensor("w", "F32", "[3]", "[0,8]"), data8),
        "tensor \"w\": shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8");
  check(file(tensor("w", "F32", "[2]", "[0,12]"), data8),
        "tensor \"w\": data_offsets [0, 12] out of range: the data buffer holds 8 bytes");
  check(file(tensor("w", "F32", "[2]", "[8,0]"), data8), "tensor \"w\": data_offsets [8, 0]");
  check(file(tensor("w", "F32", "[-2]", "[0,8]"), data8), "tensor \"w\": shape entries");
  check(file(tensor("w", "F32", "[2]", "[0,8,16]"), data8), "tensor \"w\": \"data_offsets\"");
  check(file(R"("w":{"dtype":"F32","shape":[2]})", data8), "tensor \"w\": \"data_offsets\"");
  check(file(R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1})", data8),
        "tensor \"w\": unknown field \"x\"");
  check(file(R"("w":[1])", data8), "tensor \"w\": entry is a JSON array");
  // A shape whose byte count overflows 64 bits must not wrap around to the span.
  check(file(tensor("w", "F32", "[4294967296,4294967296]", "[0,0]"), {}),
        "needs more than 2^64 bytes");
  check(file(tensor("a", "F32", "[2]", "[0,8]") + "," + tensor("b", "F32", "[1]", "[4,8]"), data8),
        "tensor \"b\" at [4, 8) overlaps tensor \"a\"");
  auto gap_data = data8;
  gap_data.resize(12);
  check(file(tensor("a", "F32", "[1]", "[0,4]") + "," + tensor("b", "F32", "[1]", "[8,12]"),
             gap_data),
        "tensor \"b\" starts at 8, leaving a gap after byte 4");
  check(file(tensor("a", "F32", "[1]", "[0,4]"), data8),
        "the data buffer holds 8 bytes but the tensors cover only 4");
  check(file(R"("__metadata__":{"k":1})", {}), "__metadata__ value \"k\" is a JSON integer");
  check(file(R"("__metadata__":"x")", {}), "__metadata__ must be an object");

  // Sanity: the well-formed versions of the files above load.
  const auto ok = dir / "ok.safetensors";
  frost_test::write_bytes(ok, file(tensor("w", "F32", "[2]", "[0,8]"), data8));
  REQUIRE(frost::io::read_safetensors(ok).tensors.size() == 1);
  frost_test::write_bytes(ok, make_file("{}", {}));
  REQUIRE(frost::io::read_safetensors(ok).tensors.empty());

  const auto missing = dir / "missing.safetensors";
  REQUIRE_THROWS_WITH(frost::io::read_safetensors(missing),
                      Contains(missing.string()) && Contains("file not found"));
}

TEST_CASE("every truncation of a safetensors file is an error naming the path",
          "[io][safetensors][errors]") {
  TempDir dir;
  const auto f32 = bytes_of(std::vector<float>{1, 2, 3, 4, 5, 6});
  const auto u8 = bytes_of(std::vector<std::uint8_t>{1, 2, 3});
  const std::vector<SafetensorsView> views = {{"w", SafetensorsDType::kF32, {2, 3}, f32},
                                              {"b", SafetensorsDType::kU8, {3}, u8}};
  const auto path = dir / "full.safetensors";
  frost::io::write_safetensors(path, views, {{"k", "v"}});
  const auto full = frost_test::read_bytes(path);
  const auto cut = dir / "cut.safetensors";
  for (std::size_t len = 0; len < full.size(); ++len) {
    frost_test::write_bytes(cut, std::span(full).first(len));
    INFO("truncated to " << len << " of " << full.size() << " bytes");
    REQUIRE_THROWS_WITH(frost::io::read_safetensors(cut), Contains(cut.string()));
  }
  // One extra byte at the end is also corruption (the buffer is not fully covered).
  auto longer = full;
  longer.push_back(0);
  frost_test::write_bytes(cut, longer);
  REQUIRE_THROWS_WITH(frost::io::read_safetensors(cut), Contains("cover only"));
}

TEST_CASE("safetensors writer rejects bad input and leaves the old file untouched",
          "[io][safetensors][errors]") {
  TempDir dir;
  const auto path = dir / "keep.safetensors";
  const auto f32 = bytes_of(std::vector<float>{1, 2});
  frost::io::write_safetensors(
      path, std::vector<SafetensorsView>{{"w", SafetensorsDType::kF32, {2}, f32}});
  const auto before = frost_test::read_bytes(path);

  const auto fails = [&](const std::vector<SafetensorsView>& views, const std::string& what,
                         const std::map<std::string, std::string>& metadata = {}) {
    INFO("expecting: " << what);
    REQUIRE_THROWS_WITH(frost::io::write_safetensors(path, views, metadata),
                        Contains(path.string()) && Contains(what));
    REQUIRE(frost_test::read_bytes(path) == before);
    REQUIRE(count_files(dir.path()) == 1);
  };
  fails({{"w", SafetensorsDType::kF32, {3}, f32}}, "tensor \"w\" has shape [3] of F32 but 8 bytes");
  fails({{"w", SafetensorsDType::kF32, {2}, f32}, {"w", SafetensorsDType::kF32, {2}, f32}},
        "duplicate tensor \"w\"");
  fails({{"__metadata__", SafetensorsDType::kF32, {2}, f32}}, "reserved for metadata");
  fails({{"bad\xFFname", SafetensorsDType::kF32, {2}, f32}}, "not valid UTF-8");
  fails({}, "metadata \"k\" is not valid UTF-8", {{"k", "\xC0"}});

  // A failure while the data is being written (here: the writer callback throws half-way)
  // leaves the previous file and no temporary file.
  REQUIRE_THROWS_AS(frost::io::write_file_atomically(path, "test",
                                                     [](std::ostream& out) {
                                                       out << "partial";
                                                       throw frost::Error("disk on fire");
                                                     }),
                    frost::Error);
  REQUIRE(frost_test::read_bytes(path) == before);
  REQUIRE(count_files(dir.path()) == 1);

  const auto nowhere = dir / "no-such-dir" / "x.safetensors";
  REQUIRE_THROWS_WITH(frost::io::write_safetensors(nowhere, std::vector<SafetensorsView>{}),
                      Contains(nowhere.string()));
}
