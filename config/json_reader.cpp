#include "config/json_reader.hpp"

#include <algorithm>
#include <cmath>

#include "config/suggest.hpp"

namespace tandem::config::detail {

namespace {

using nlohmann::json;

std::string display(const std::string& path) {
  return path.empty() ? "<root>" : path;
}

void add(std::vector<config_error>& errors, const std::string& path, std::string message) {
  errors.push_back({display(path), std::move(message)});
}

std::string type_mismatch(std::string_view expected, const json& v) {
  return "expected " + std::string{expected} + ", got " + v.type_name();
}

// Numbers in messages are echoed as the user wrote them, near enough: 5.0 stays "5.0".
std::string literal(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

std::string member_path(std::string_view parent, std::string_view key) {
  if (parent.empty())
    return std::string{key};
  return std::string{parent} + "." + std::string{key};
}

std::string element_path(std::string_view parent, std::size_t index) {
  return std::string{parent} + "[" + std::to_string(index) + "]";
}

std::string quote(std::string_view s) {
  return literal(json(std::string{s}));
}

bool read_string_at(const json& v, const std::string& path, std::string& out, std::vector<config_error>& errors) {
  if (!v.is_string()) {
    add(errors, path, type_mismatch("a string", v));
    return false;
  }
  out = v.get<std::string>();
  return true;
}

bool read_integer_at(const json& v, const std::string& path, std::uint64_t& out, std::uint64_t min,
                     std::uint64_t max, std::vector<config_error>& errors) {
  if (v.is_number_float()) {
    // The JSON parser turns integer literals beyond 64 bits into floats; call them too big, not
    // "not an integer", which would puzzle whoever wrote them.
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && d >= 9223372036854775808.0)
      add(errors, path, "must be at most " + std::to_string(max) + ", got " + literal(v));
    else
      add(errors, path, "expected an integer, got " + literal(v));
    return false;
  }
  if (!v.is_number_integer()) {
    add(errors, path, type_mismatch("an integer", v));
    return false;
  }
  if (!v.is_number_unsigned()) { // the parser stores only negative integers as signed
    auto n = v.get<std::int64_t>();
    if (n < 0) {
      add(errors, path,
          min == 0 ? "expected a non-negative integer, got " + literal(v)
                   : "must be at least " + std::to_string(min) + ", got " + literal(v));
      return false;
    }
  }
  auto n = v.get<std::uint64_t>();
  if (n < min) {
    add(errors, path, "must be at least " + std::to_string(min) + ", got " + literal(v));
    return false;
  }
  if (n > max) {
    add(errors, path, "must be at most " + std::to_string(max) + ", got " + literal(v));
    return false;
  }
  out = n;
  return true;
}

bool read_number_at(const json& v, const std::string& path, double& out, std::vector<config_error>& errors) {
  if (!v.is_number()) {
    add(errors, path, type_mismatch("a number", v));
    return false;
  }
  out = v.get<double>();
  return true;
}

object_reader::object_reader(const json& value, std::string path, std::vector<config_error>& errors)
  : object_(value.is_object() ? &value : nullptr), path_(std::move(path)), errors_(errors) {
  if (!object_)
    add(errors_, path_, type_mismatch("an object", value));
}

bool object_reader::has(std::string_view key) const {
  return object_ && object_->contains(key);
}

const json* object_reader::member(std::string_view key, presence p) {
  known_keys_.emplace_back(key);
  if (!object_)
    return nullptr;
  auto it = object_->find(key);
  if (it == object_->end()) {
    if (p == presence::required)
      add(errors_, path_of(key), "missing required key");
    return nullptr;
  }
  return &*it;
}

bool object_reader::read_string(std::string_view key, std::string& out, presence p) {
  const json* v = member(key, p);
  return v && read_string_at(*v, path_of(key), out, errors_);
}

bool object_reader::read_number(std::string_view key, double& out) {
  const json* v = member(key, presence::optional);
  return v && read_number_at(*v, path_of(key), out, errors_);
}

bool object_reader::read_bool(std::string_view key, bool& out) {
  const json* v = member(key, presence::optional);
  if (!v)
    return false;
  if (!v->is_boolean()) {
    add(errors_, path_of(key), type_mismatch("true or false", *v));
    return false;
  }
  out = v->get<bool>();
  return true;
}

bool object_reader::read_integer(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max) {
  const json* v = member(key, presence::optional);
  return v && read_integer_at(*v, path_of(key), out, min, max, errors_);
}

std::optional<object_reader> object_reader::object(std::string_view key) {
  const json* v = member(key, presence::optional);
  if (!v)
    return std::nullopt;
  object_reader child{*v, path_of(key), errors_};
  if (!child.is_object())
    return std::nullopt;
  return child;
}

const json* object_reader::array(std::string_view key, presence p) {
  const json* v = member(key, p);
  if (v && !v->is_array()) {
    add(errors_, path_of(key), type_mismatch("an array", *v));
    return nullptr;
  }
  return v;
}

void object_reader::error(std::string_view key, std::string message) {
  add(errors_, path_of(key), std::move(message));
}

void object_reader::report_unknown_keys() {
  if (!object_)
    return;
  for (const auto& [key, value] : object_->items()) {
    if (std::find(known_keys_.begin(), known_keys_.end(), key) != known_keys_.end())
      continue;
    std::string message = "unknown key";
    if (auto suggestion = closest_match(key, known_keys_))
      message += " (did you mean " + quote(*suggestion) + "?)";
    error(key, std::move(message));
  }
}

} // namespace tandem::config::detail
