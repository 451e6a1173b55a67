#pragma once
// A FrostNet's architecture as JSON: the five stages of [k, c, e, r, s] rows (DESIGN.md §6),
// the form the architecture search writes and the trainer reads.
//
//   {"format": "frost.frostnet", "version": 1,
//    "stages": [[[3, 16, 1, 1, 1], [5, 24, 3, 4, 2], ...], [[5, 40, 3, 4, 2]], ...]}
//
// Width, classes, input channels and the other options are not part of the architecture: they
// are FrostNetOptions, given when the network is built. Parsing checks every row (positive
// channels, odd kernel, stride 1 or 2, e and r >= 1) and names the file and the row it rejects.

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>

#include "frost/core/error.hpp"
#include "frost/io/file.hpp"
#include "frost/io/json.hpp"
#include "frost/models/frostnet.hpp"

namespace frost::models {

inline constexpr std::string_view kFrostNetConfigFormat = "frost.frostnet";
inline constexpr std::int64_t kFrostNetConfigVersion = 1;

inline std::string frostnet_config_json(const FrostNetStages& stages) {
  std::ostringstream out;
  out << "{\"format\": \"" << kFrostNetConfigFormat << "\", \"version\": " << kFrostNetConfigVersion
      << ",\n \"stages\": [";
  for (std::size_t s = 0; s < stages.size(); ++s) {
    out << (s ? ",\n  [" : "\n  [");
    for (std::size_t b = 0; b < stages[s].size(); ++b) {
      const FrostBlockConfig& r = stages[s][b];
      out << (b ? ", " : "") << '[' << r.kernel_size << ", " << r.channels << ", " << r.expansion
          << ", " << r.reduce_factor << ", " << r.stride << ']';
    }
    out << ']';
  }
  out << "]}\n";
  return out.str();
}

inline FrostNetStages parse_frostnet_config(std::string_view text, const std::string& source) {
  constexpr const char* op = "parse_frostnet_config";
  const io::JsonValue doc = io::parse_json(text, op, source);
  FROST_CHECK(doc.is_object(), op, source, ": expected a JSON object");
  const io::JsonValue* format = doc.find("format");
  FROST_CHECK(format != nullptr && format->is_string() && format->string == kFrostNetConfigFormat,
              op, source, ": not a FrostNet configuration (\"format\" must be \"",
              kFrostNetConfigFormat, "\")");
  const io::JsonValue* version = doc.find("version");
  FROST_CHECK(
      version != nullptr && version->is_integer() && version->integer == kFrostNetConfigVersion, op,
      source, ": unsupported version (this frost reads version ", kFrostNetConfigVersion, ")");
  const io::JsonValue* stages = doc.find("stages");
  FROST_CHECK(stages != nullptr && stages->is_array() && stages->items.size() == 5, op, source,
              ": \"stages\" must be an array of 5 stages");
  FrostNetStages out;
  for (std::size_t s = 0; s < stages->items.size(); ++s) {
    const io::JsonValue& stage = stages->items[s];
    FROST_CHECK(stage.is_array() && !stage.items.empty(), op, source, ": stage ", s + 1,
                " must be a non-empty array of [k, c, e, r, s] rows");
    auto& rows = out.emplace_back();
    for (std::size_t b = 0; b < stage.items.size(); ++b) {
      const io::JsonValue& row = stage.items[b];
      bool ok = row.is_array() && row.items.size() == 5;
      for (std::size_t i = 0; ok && i < 5; ++i) ok = row.items[i].is_integer();
      FROST_CHECK(ok, op, source, ": stage ", s + 1, " block ", b + 1,
                  " must be [k, c, e, r, s], five integers");
      const FrostBlockConfig r{row.items[0].integer, row.items[1].integer, row.items[2].integer,
                               row.items[3].integer, row.items[4].integer};
      FROST_CHECK(r.kernel_size > 0 && r.kernel_size % 2 == 1 && r.kernel_size <= 15 &&
                      r.channels > 0 && r.channels <= 65536 && r.expansion >= 1 &&
                      r.expansion <= 64 && r.reduce_factor >= 1 && (r.stride == 1 || r.stride == 2),
                  op, source, ": stage ", s + 1, " block ", b + 1, " [", r.kernel_size, ", ",
                  r.channels, ", ", r.expansion, ", ", r.reduce_factor, ", ", r.stride,
                  "] is invalid (odd k <= 15, 0 < c <= 65536, 1 <= e <= 64, r >= 1, s 1 or 2)");
      rows.push_back(r);
    }
  }
  return out;
}

inline void save_frostnet_config(const FrostNetStages& stages, const std::filesystem::path& path) {
  const std::string text = frostnet_config_json(stages);
  io::write_file_atomically(path, "save_frostnet_config", [&](std::ostream& out) { out << text; });
}

inline FrostNetStages load_frostnet_config(const std::filesystem::path& path) {
  const auto bytes = io::read_file(path, "load_frostnet_config");
  return parse_frostnet_config(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path.string());
}

}  // namespace frost::models
