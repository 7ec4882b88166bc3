// The error machinery every plain-C++ module whose errors are "an errc plus a message" shares
// (protocol/, actors/metrics/), written once: the error value, result<T> and the
// std::error_category. Each module keeps its own enum, its own messages and its own names
// (protocol_error, protocol::result; metrics_error, metrics::result). Header only.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace tandem::protocol {

// An error as a value: the code to branch on and the message to log.
template <class Errc>
struct error_value {
  Errc code;
  std::string message;
};

// A value or an error (std::expected is C++23). Cheap to return, no exceptions; value() on
// an error result (or error() on a value) is a programming error.
template <class T, class Error>
class value_or_error {
public:
  value_or_error(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  value_or_error(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return *std::get_if<0>(&v_); }
  const T& value() const& { assert(ok()); return *std::get_if<0>(&v_); }
  T&& value() && { assert(ok()); return std::move(*std::get_if<0>(&v_)); }
  const Error& error() const { assert(!ok()); return *std::get_if<1>(&v_); }
  auto code() const { return error().code; }

private:
  std::variant<T, Error> v_;
};

// A module's std::error_category: its name and a function naming each of its codes.
template <class Errc>
class errc_category final : public std::error_category {
public:
  using describe_fn = const char* (*)(Errc) noexcept;
  errc_category(const char* name, describe_fn describe) noexcept : name_(name), describe_(describe) {}

  const char* name() const noexcept override { return name_; }
  std::string message(int ev) const override { return describe_(static_cast<Errc>(ev)); }

private:
  const char* name_;
  describe_fn describe_;
};

} // namespace tandem::protocol
