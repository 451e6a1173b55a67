#pragma once
// State dicts of optimizers and LR schedulers (torch's optimizer.state_dict() /
// load_state_dict()), so that a training run can be checkpointed and resumed bit for bit. The
// form is what a safetensors file holds (optim/serialize.hpp writes one): float tensors and a
// string -> string map, the file's __metadata__.
//
// An optimizer's state dict. Parameters are numbered 0, 1, ... across the groups in group order,
// as torch numbers them:
//
//   metadata  format                        "frost.optimizer.v1"
//             optimizer                     name(): "SGD", "RMSprop", "Adam" or "AdamW"
//             param_groups                  number of groups
//             param_groups.<g>.params       number of parameters in group g
//             param_groups.<g>.<option>     every option of group g (lr, momentum, betas.0, ...)
//             params.<i>.shape              parameter i's shape, "[3, 4]" (checked on load)
//             state.<i>.<counter>           integer state of parameter i (Adam's step, ...)
//   tensors   state.<i>.<buffer>            F32 state of parameter i (momentum_buffer, exp_avg,
//                                           ...); absent until the optimizer creates it
//
// A GradBoost optimizer adds gradboost.<option> (beta, clip_by, noise_decay, toss_coin),
// gradboost.seed, gradboost.draws (how many noise streams it has used: with the seed, all the
// state its noise depends on) and gradboost.warmup, and per parameter the counters
// state.<i>.gradboost.step / .restart_step and the tensors state.<i>.gradboost.exp_min / .exp_max.
//
// An LR scheduler's state dict is metadata only: format "frost.lr_scheduler.v1", scheduler (its
// name), last_step, base_lrs (the count) and base_lrs.<g>.
//
// Numbers are decimal text in the C locale: integers exactly, doubles with the fewest digits (15
// or 17) that read back to the same bits, booleans "true" / "false".
//
// Loading is all or nothing: every key is checked (kind of optimizer, group and parameter counts,
// shapes, option values, unknown keys) before anything changes, and a mismatch throws a
// frost::Error naming the optimizer, the key and the shapes or values that differ.

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <locale>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "frost/autograd/grad_mode.hpp"
#include "frost/core/error.hpp"
#include "frost/core/tensor.hpp"

namespace frost::optim {

inline constexpr std::string_view kOptimizerStateFormat = "frost.optimizer.v1";
inline constexpr std::string_view kLRSchedulerStateFormat = "frost.lr_scheduler.v1";

// Tensors and strings: what a safetensors file stores (see the top of this file).
struct OptimStateDict {
  std::map<std::string, Tensor<float>> tensors;
  std::map<std::string, std::string> metadata;

  bool empty() const { return tensors.empty() && metadata.empty(); }
};

// The dict with `prefix` put before every key (to keep several dicts in one file).
inline OptimStateDict with_prefix(const OptimStateDict& dict, std::string_view prefix) {
  OptimStateDict out;
  for (const auto& [key, tensor] : dict.tensors)
    out.tensors.emplace(std::string(prefix) + key, tensor);
  for (const auto& [key, value] : dict.metadata)
    out.metadata.emplace(std::string(prefix) + key, value);
  return out;
}

// Moves the entries whose key starts with `prefix` out of `dict`, without the prefix.
inline OptimStateDict extract_prefix(OptimStateDict& dict, std::string_view prefix) {
  OptimStateDict out;
  auto move_matching = [&](auto& from, auto& to) {
    for (auto it = from.begin(); it != from.end();) {
      if (std::string_view(it->first).starts_with(prefix)) {
        to.emplace(it->first.substr(prefix.size()), std::move(it->second));
        it = from.erase(it);
      } else {
        ++it;
      }
    }
  };
  move_matching(dict.tensors, out.tensors);
  move_matching(dict.metadata, out.metadata);
  return out;
}

namespace detail {

// ---- numbers as text ----------------------------------------------------------------------------

inline std::optional<double> parse_double(std::string_view text) {
  std::istringstream in{std::string(text)};
  in.imbue(std::locale::classic());
  double value = 0.0;
  in >> value;
  if (in.fail() || !in.eof() || text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return std::nullopt;
  return value;
}

// The shortest of 15 or 17 significant digits that parses back to exactly `value` ("0.1", not
// "0.10000000000000001"; 17 digits always suffice).
inline std::string format_double(double value) {
  std::string text;
  for (const int precision : {15, 17}) {
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out.precision(precision);
    out << value;
    text = out.str();
    const std::optional<double> back = parse_double(text);
    if (back && (*back == value || std::isnan(value))) break;
  }
  return text;
}

template <class Int>
std::optional<Int> parse_integer(std::string_view text) {
  Int value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

// ---- writing ------------------------------------------------------------------------------------

inline void put(OptimStateDict& dict, const std::string& key, double value) {
  dict.metadata[key] = format_double(value);
}
inline void put(OptimStateDict& dict, const std::string& key, bool value) {
  dict.metadata[key] = value ? "true" : "false";
}
inline void put(OptimStateDict& dict, const std::string& key, std::int64_t value) {
  dict.metadata[key] = std::to_string(value);
}
inline void put(OptimStateDict& dict, const std::string& key, std::uint64_t value) {
  dict.metadata[key] = std::to_string(value);
}
// A snapshot: later steps do not change the dict. Undefined (not yet created) state is left out.
inline void put(OptimStateDict& dict, const std::string& key, const Tensor<float>& value) {
  if (!value.defined()) return;
  NoGradGuard no_grad;
  dict.tensors[key] = value.detach().clone();
}

// "state.<index>.<field>"
inline std::string state_key(std::size_t index, std::string_view field) {
  std::string key = "state." + std::to_string(index) + ".";
  key += field;
  return key;
}

// A visitor that accepts any field: to test whether a type describes its fields.
struct AnyFieldVisitor {
  template <class Value>
  void operator()(const char*, Value&) const {}
};

// Options and State types list their fields for the state dict through
// `template <class Self, class Fn> static void fields(Self& self, Fn&& fn)`, calling
// fn("name", self.member) for each: double, bool and std::int64_t members, and Tensor<float>
// state buffers.
template <class T>
concept DescribesFields = requires(T& value) {
  T::fields(value, AnyFieldVisitor{});
};

// ---- reading ------------------------------------------------------------------------------------

// Reads a state dict for `owner` (the optimizer's or scheduler's name, the first word of every
// error), remembering which keys it used so that the rest can be reported as unexpected.
class StateDictReader {
 public:
  StateDictReader(const OptimStateDict& dict, std::string owner)
      : dict_(dict), owner_(std::move(owner)) {}

  const std::string& owner() const { return owner_; }

  bool has(const std::string& key) const { return dict_.metadata.contains(key); }

  // Metadata that must be there.
  const std::string& text(const std::string& key) {
    const auto it = dict_.metadata.find(key);
    fail_unless(
        it != dict_.metadata.end(), "missing key \"", key, "\"",
        dict_.metadata.empty() && dict_.tensors.empty() ? " (the state dict is empty)" : "");
    used_metadata_.insert(key);
    return it->second;
  }
  // Metadata that must equal `expected`.
  void expect(const std::string& key, std::string_view expected) {
    const std::string& value = text(key);
    fail_unless(value == expected, "key \"", key, "\" is \"", value, "\", expected \"", expected,
                "\"");
  }

  void read(const std::string& key, double& value) {
    const std::string& t = text(key);
    const std::optional<double> parsed = parse_double(t);
    fail_unless(parsed.has_value(), "key \"", key, "\" is \"", t, "\", not a number");
    value = *parsed;
  }
  void read(const std::string& key, bool& value) {
    const std::string& t = text(key);
    fail_unless(t == "true" || t == "false", "key \"", key, "\" is \"", t,
                "\", expected \"true\" or \"false\"");
    value = t == "true";
  }
  // Counters are never negative.
  void read(const std::string& key, std::int64_t& value) {
    const std::string& t = text(key);
    const auto parsed = parse_integer<std::int64_t>(t);
    fail_unless(parsed.has_value() && *parsed >= 0, "key \"", key, "\" is \"", t,
                "\", expected an integer >= 0");
    value = *parsed;
  }
  void read(const std::string& key, std::uint64_t& value) {
    const std::string& t = text(key);
    const auto parsed = parse_integer<std::uint64_t>(t);
    fail_unless(parsed.has_value(), "key \"", key, "\" is \"", t,
                "\", expected an unsigned 64-bit integer");
    value = *parsed;
  }
  std::size_t count(const std::string& key) {
    std::int64_t n = 0;
    read(key, n);
    return static_cast<std::size_t>(n);
  }

  // An optional state tensor of parameter `index` of shape `shape`: undefined when the key is
  // absent, otherwise a copy (the optimizer never shares storage with the dict).
  void read(const std::string& key, Tensor<float>& value, const Shape& shape, std::size_t index) {
    const auto it = dict_.tensors.find(key);
    if (it == dict_.tensors.end()) {
      value = Tensor<float>();
      return;
    }
    used_tensors_.insert(key);
    const Tensor<float>& source = it->second;
    fail_unless(source.defined(), "tensor \"", key, "\" is undefined");
    fail_unless(source.shape() == shape, "tensor \"", key, "\" has shape ",
                shape_str(source.shape()), " but parameter ", index, " has shape ",
                shape_str(shape));
    NoGradGuard no_grad;
    value = source.detach().clone();
  }

  // One field of a State (fields() visitor): tensors are shaped like parameter `index`.
  template <class Value>
  void read_state(const std::string& key, Value& value, const Shape& shape, std::size_t index) {
    if constexpr (std::is_same_v<Value, Tensor<float>>)
      read(key, value, shape, index);
    else
      read(key, value);
  }

  // Throws when the dict holds keys nobody read.
  void check_all_read() const {
    std::string unexpected;
    std::size_t n = 0;
    auto collect = [&](const auto& entries, const std::set<std::string>& used, const char* kind) {
      for (const auto& entry : entries) {
        if (used.contains(entry.first)) continue;
        if (n++ < 8) unexpected += (unexpected.empty() ? "" : ", ") + (kind + entry.first);
      }
    };
    collect(dict_.metadata, used_metadata_, "");
    collect(dict_.tensors, used_tensors_, "tensor ");
    fail_unless(n == 0, n, " unexpected key", n == 1 ? "" : "s", " [", unexpected,
                n > 8 ? ", ..." : "", "]");
  }

  template <class... Args>
  void fail_unless(bool ok, Args&&... args) const {
    if (!ok) [[unlikely]]
      frost::detail::throw_error(owner_.c_str(), "load_state_dict: ", std::forward<Args>(args)...);
  }

 private:
  const OptimStateDict& dict_;
  std::string owner_;
  std::set<std::string> used_metadata_;
  std::set<std::string> used_tensors_;
};

}  // namespace detail
}  // namespace frost::optim
