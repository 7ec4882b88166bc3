// result<T>: a value or a metrics_error (C++20 has no std::expected). Cheap to return, no
// exceptions; value() on an error result (or error() on a value) is a programming error.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "actors/metrics/errc.hpp"

namespace tandem::metrics {

template <class T>
class result {
public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(metrics_error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return *std::get_if<0>(&v_); }
  const T& value() const& { assert(ok()); return *std::get_if<0>(&v_); }
  T&& value() && { assert(ok()); return std::move(*std::get_if<0>(&v_)); }
  const metrics_error& error() const { assert(!ok()); return *std::get_if<1>(&v_); }
  errc code() const { return error().code; }

private:
  std::variant<T, metrics_error> v_;
};

} // namespace tandem::metrics
