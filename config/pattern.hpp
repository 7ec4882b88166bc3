// Tandem's one regular-expression dialect, for every pattern that meets a topic or a group name:
// destinations[i].topics and passthrough (config/destinations.cpp validates them, the routing
// rule runs them) and a client's subscription pattern (the client listener validates it, the
// subscription runs it). One compile function with one set of options, so a pattern accepted
// where it is checked cannot fail where it is used.
//
// The engine is RE2 (https://github.com/google/re2/wiki/Syntax): matching is linear in the
// subject and uses no recursion, whatever the pattern and however long the subject, so neither a
// 64 KiB topic nor a pathological client pattern like (a+)+b can exhaust the stack or the CPU.
// A pattern must match the WHOLE subject (RE2::FullMatch). Subjects and patterns are bytes
// (RE2 Latin-1 mode), as with the std::regex this replaced: `.` matches any byte but newline, so
// the default ".*" matches every topic, valid UTF-8 or not. Not supported (compile error):
// backreferences (\1) and lookaround ((?=...), (?!...), (?<=...)). Compiling takes at most
// pattern_max_memory bytes; a larger program is refused ("pattern too large"), and the match
// cache stays within that budget (RE2 falls back to a slower, still linear, engine).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace re2 {
class RE2;
}

namespace tandem::config {

inline constexpr std::size_t pattern_max_memory = 1u << 20; // per compiled pattern (RE2 max_mem)

// A compiled pattern. Cheap to copy (shares the immutable program); full_match() is const and
// thread-safe (RE2's guarantee).
class pattern {
public:
  // The compiled pattern, or RE2's reason it is invalid ("missing ): orders.(").
  static std::variant<pattern, std::string> compile(std::string_view source);

  bool full_match(std::string_view subject) const;
  const std::string& source() const noexcept { return source_; }

private:
  pattern(std::string source, std::shared_ptr<const re2::RE2> re) : source_(std::move(source)), re_(std::move(re)) {}
  std::string source_;
  std::shared_ptr<const re2::RE2> re_; // never null
};

} // namespace tandem::config
