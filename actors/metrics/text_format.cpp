#include "actors/metrics/text_format.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace tandem::metrics {
namespace {

bool is_letter_or_underscore(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

} // namespace

bool is_valid_metric_name(std::string_view name) noexcept {
  if (name.empty() || !(is_letter_or_underscore(name[0]) || name[0] == ':')) return false;
  for (char c : name.substr(1))
    if (!(is_letter_or_underscore(c) || is_digit(c) || c == ':')) return false;
  return true;
}

bool is_valid_label_name(std::string_view name) noexcept {
  if (name.empty() || !is_letter_or_underscore(name[0])) return false;
  for (char c : name.substr(1))
    if (!(is_letter_or_underscore(c) || is_digit(c))) return false;
  return true;
}

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void append_escaped_help(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  // Shortest round-trip form; for integral values below 1e16 or so that is the plain integer.
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  (void)ec; // 32 bytes hold any shortest double representation
  out.append(buf.data(), end);
}

void append_value(std::string& out, std::uint64_t value) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  (void)ec;
  out.append(buf.data(), end);
}

std::string format_value(double value) {
  std::string out;
  append_value(out, value);
  return out;
}

} // namespace tandem::metrics
