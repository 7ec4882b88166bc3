#include "journal/errc.hpp"

#include <cerrno>
#include <cstring>

namespace tandem::journal {

namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "tandem.journal"; }
  std::string message(int ev) const override { return to_string(static_cast<errc>(ev)); }
};

} // namespace

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::io_error: return "io_error";
    case errc::no_space: return "no_space";
    case errc::corruption: return "corruption";
    case errc::record_too_large: return "record_too_large";
    case errc::invalid_argument: return "invalid_argument";
    case errc::trimmed: return "trimmed";
    case errc::queue_full: return "queue_full";
    case errc::stopped: return "stopped";
    case errc::locked: return "locked";
  }
  return "unknown";
}

const std::error_category& journal_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), journal_category()}; }

status status::from_errno(int err, std::string what) {
  const bool full = err == ENOSPC || err == EDQUOT || err == EFBIG;
  std::string msg = std::move(what);
  msg += ": ";
  msg += std::strerror(err);
  return status{full ? errc::no_space : errc::io_error, std::move(msg), err};
}

std::string status::to_string() const {
  if (ok()) return "ok";
  return std::string(journal::to_string(code_)) + ": " + message_;
}

} // namespace tandem::journal
