// The journal's error vocabulary: one enum, one std::error_category, and two small value types.
//
// Contract: no exception escapes the journal API. Every fallible call returns a `status` (or a
// `result<T>`), whose message names the file and byte offset when one is involved, e.g.
// "corruption: /data/journal/00000000000000000001.seg offset 4096: checksum mismatch".
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace tandem::journal {

enum class errc {
  ok = 0,
  io_error,          // a read/write/sync/rename failed (errno in status::sys_errno)
  no_space,          // ENOSPC, EDQUOT or EFBIG: the batch was rejected, the journal stays usable
  corruption,        // a record that should be valid is not; open/verify refuse to go on
  record_too_large,  // a field exceeds the documented maximum (record_format.hpp)
  invalid_argument,  // caller error (bad name, seq beyond the durable end, ...)
  trimmed,           // the requested sequence was removed by retention
  queue_full,        // group_committer: the bounded queue has no room; retry later
  stopped,           // group_committer: stop() was called
  locked,            // another process holds the journal directory
};

const std::error_category& journal_category() noexcept;
std::error_code make_error_code(errc e) noexcept;
const char* to_string(errc e) noexcept;

// An error value: a code, the errno that caused it (0 if none) and a human-readable message.
class [[nodiscard]] status {
public:
  status() = default; // ok
  status(errc code, std::string message, int sys_errno = 0)
      : code_(code), sys_errno_(sys_errno), message_(std::move(message)) {}

  static status from_errno(int err, std::string what); // maps ENOSPC/EDQUOT/EFBIG to no_space

  bool ok() const noexcept { return code_ == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  errc code() const noexcept { return code_; }
  int sys_errno() const noexcept { return sys_errno_; }
  const std::string& message() const noexcept { return message_; }
  std::string to_string() const; // "no_space: <message>"

private:
  errc code_ = errc::ok;
  int sys_errno_ = 0;
  std::string message_;
};

// Either a T or a non-ok status.
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : v_(std::move(value)) {}
  result(status s) : v_(std::move(s)) { assert(!std::get<status>(v_).ok()); }

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  // The error; an ok status when this holds a value.
  status error() const { return ok() ? status{} : std::get<1>(v_); }

private:
  std::variant<T, status> v_;
};

} // namespace tandem::journal

template <>
struct std::is_error_code_enum<tandem::journal::errc> : std::true_type {};
