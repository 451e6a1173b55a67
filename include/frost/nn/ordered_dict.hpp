#pragma once
// nn::OrderedDict<V>: name -> value pairs kept in insertion order, the container behind
// named_parameters(), named_buffers(), named_modules() and state dicts. Order matters (it is the
// order of a state dict, of an optimizer's parameter list and of a printed model), so this is a
// vector with lookup by name rather than a map; models have at most a few thousand entries.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frost/core/error.hpp"

namespace frost::nn {

template <class V>
class OrderedDict {
 public:
  using Item = std::pair<std::string, V>;
  using iterator = typename std::vector<Item>::iterator;
  using const_iterator = typename std::vector<Item>::const_iterator;

  OrderedDict() = default;
  OrderedDict(std::initializer_list<Item> items) {
    for (const auto& item : items) insert(item.first, item.second);
  }

  // Adds a new entry; a name already present is an error (use set() to overwrite).
  V& insert(std::string name, V value) {
    FROST_CHECK(!contains(name), "OrderedDict::insert", "key '", name, "' already present");
    items_.emplace_back(std::move(name), std::move(value));
    return items_.back().second;
  }
  // Inserts or overwrites, keeping the position of an existing entry.
  V& set(std::string_view name, V value) {
    if (Item* item = lookup(name)) return item->second = std::move(value);
    return insert(std::string(name), std::move(value));
  }
  bool erase(std::string_view name) {
    for (auto it = items_.begin(); it != items_.end(); ++it)
      if (it->first == name) {
        items_.erase(it);
        return true;
      }
    return false;
  }

  bool contains(std::string_view name) const { return find(name) != nullptr; }
  // Pointer to the value, or null when absent.
  const V* find(std::string_view name) const {
    for (const auto& item : items_)
      if (item.first == name) return &item.second;
    return nullptr;
  }
  V* find(std::string_view name) {
    Item* item = lookup(name);
    return item ? &item->second : nullptr;
  }
  const V& at(std::string_view name) const {
    const V* v = find(name);
    FROST_CHECK(v != nullptr, "OrderedDict::at", "no key '", name, "'");
    return *v;
  }
  V& at(std::string_view name) { return const_cast<V&>(std::as_const(*this).at(name)); }
  const V& operator[](std::string_view name) const { return at(name); }
  V& operator[](std::string_view name) { return at(name); }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& item : items_) out.push_back(item.first);
    return out;
  }
  std::vector<V> values() const {
    std::vector<V> out;
    out.reserve(items_.size());
    for (const auto& item : items_) out.push_back(item.second);
    return out;
  }

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  void clear() { items_.clear(); }
  const Item& item(std::size_t i) const { return items_.at(i); }
  Item& item(std::size_t i) { return items_.at(i); }

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }

 private:
  Item* lookup(std::string_view name) {
    for (auto& item : items_)
      if (item.first == name) return &item;
    return nullptr;
  }

  std::vector<Item> items_;
};

}  // namespace frost::nn
