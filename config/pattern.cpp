#include "config/pattern.hpp"

#include <re2/re2.h>

namespace tandem::config {

namespace {

re2::RE2::Options options() {
  re2::RE2::Options o;
  o.set_encoding(re2::RE2::Options::EncodingLatin1); // bytes, like topics (header comment)
  o.set_max_mem(static_cast<std::int64_t>(pattern_max_memory));
  o.set_log_errors(false); // errors are returned to whoever supplied the pattern, not logged by RE2
  o.set_never_capture(true); // only match/no match is ever asked
  return o;
}

} // namespace

std::variant<pattern, std::string> pattern::compile(std::string_view source) {
  auto re = std::make_shared<const re2::RE2>(re2::StringPiece{source.data(), source.size()}, options());
  if (!re->ok())
    return re->error().empty() ? std::string{"invalid pattern"} : re->error();
  return pattern{std::string{source}, std::move(re)};
}

bool pattern::full_match(std::string_view subject) const {
  return re2::RE2::FullMatch(re2::StringPiece{subject.data(), subject.size()}, *re_);
}

} // namespace tandem::config
