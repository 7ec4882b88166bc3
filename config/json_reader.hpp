// Internal to config/: reads the members of one JSON object into typed fields.
//
// Every problem is appended to a shared error list as a config_error named by its JSON path, so a
// whole document is checked in one pass. The reader remembers each key it was asked about; those
// are the object's schema, and report_unknown_keys() flags every other key, with a did-you-mean
// suggestion drawn from them.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/parse.hpp"

namespace tandem::config::detail {

enum class presence { optional, required };

// "journal" + "sync" -> "journal.sync"; the root's path is "" and its members are bare.
std::string member_path(std::string_view parent, std::string_view key);
// "destinations" + 2 -> "destinations[2]".
std::string element_path(std::string_view parent, std::size_t index);
// A string as a JSON literal, for quoting user input in messages.
std::string quote(std::string_view s);

// Value readers for one JSON value at `path`. Each returns true and assigns `out` only when the value
// is well-typed and in range; otherwise it records one error and leaves `out` (the default) as is.
bool read_string_at(const nlohmann::json& v, const std::string& path, std::string& out,
                    std::vector<config_error>& errors);
// Accepts only JSON integers: 5.0 is refused rather than truncated, as are negative numbers.
bool read_integer_at(const nlohmann::json& v, const std::string& path, std::uint64_t& out, std::uint64_t min,
                     std::uint64_t max, std::vector<config_error>& errors);
bool read_number_at(const nlohmann::json& v, const std::string& path, double& out,
                    std::vector<config_error>& errors);

class object_reader {
public:
  // `value` and `errors` must outlive the reader. A `value` that is not an object is reported once;
  // every read then finds nothing and reports nothing more.
  object_reader(const nlohmann::json& value, std::string path, std::vector<config_error>& errors);

  bool is_object() const { return object_ != nullptr; }
  std::string path_of(std::string_view key) const { return member_path(path_, key); }
  std::vector<config_error>& errors() { return errors_; }

  // True when the key is present, whatever its value.
  bool has(std::string_view key) const;

  // Each read returns true when the key was present and valid and `out` was assigned. An absent
  // optional key returns false silently, so `out` keeps its default.
  bool read_string(std::string_view key, std::string& out, presence p = presence::optional);
  bool read_number(std::string_view key, double& out);
  bool read_bool(std::string_view key, bool& out);
  template <class UInt>
  bool read_uint(std::string_view key, UInt& out, std::uint64_t min,
                 std::uint64_t max = std::numeric_limits<UInt>::max()) {
    // The range check is what makes the narrowing below lossless.
    assert(max <= std::numeric_limits<UInt>::max());
    std::uint64_t v = 0;
    if (!read_integer(key, v, min, max))
      return false;
    out = static_cast<UInt>(v);
    return true;
  }

  // A member object, read with its own reader; nullopt when absent or not an object (reported).
  std::optional<object_reader> object(std::string_view key);
  // A member array; nullptr when absent or not an array (reported, or reported missing if required).
  const nlohmann::json* array(std::string_view key, presence p = presence::optional);

  void error(std::string_view key, std::string message);

  // Call once, after every read: reports each key no read asked about.
  void report_unknown_keys();

private:
  const nlohmann::json* member(std::string_view key, presence p);
  bool read_integer(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max);

  const nlohmann::json* object_; // null when the value was not an object
  std::string path_;
  std::vector<config_error>& errors_;
  std::vector<std::string> known_keys_;
};

} // namespace tandem::config::detail
