// logic::ack_wait_notice: when a publishing connection is told why its acks wait.
#include <doctest/doctest.h>

#include <optional>
#include <vector>

#include "actors/logic/ack_wait_notice.hpp"

using tandem::logic::ack_wait_notice;
using ms = std::chrono::milliseconds;

namespace {

struct step {
  long now;                  // ms
  std::optional<long> since; // the oldest unanswered publish's submission, ms; none: nothing waits
  std::optional<long> due;   // expected: waited ms when a notice is due (then it is sent)
};

void run(const std::vector<step>& steps) {
  ack_wait_notice rule{ms{1000}, ms{5000}};
  for (const auto& s : steps) {
    CAPTURE(s.now);
    auto since = s.since ? std::optional<ms>{ms{*s.since}} : std::nullopt;
    auto got = rule.due(ms{s.now}, since);
    CHECK(got.has_value() == s.due.has_value());
    if (got && s.due)
      CHECK(got->count() == *s.due);
    if (got)
      rule.sent(ms{s.now});
  }
}

} // namespace

TEST_CASE("ack_wait_notice: first after the delay, then at most every repeat interval while it waits") {
  run({{0, 0, {}}, {500, 0, {}}, {999, 0, {}}, {1000, 0, 1000}, {3000, 0, {}}, {5999, 0, {}}, {6000, 0, 6000},
       {7000, 0, {}}, {11000, 0, 11000}});
}

TEST_CASE("ack_wait_notice: nothing while nothing waits, and a new wait keeps the repeat limit") {
  run({{0, {}, {}}, {2000, {}, {}}, {2000, 500, 1500}, {3000, {}, {}}, {4000, 3000, {}}, {6999, 3000, {}},
       {7000, 3000, 4000}});
}

TEST_CASE("ack_wait_notice: a submission time after now (clock skew between reads) is not due") {
  run({{1000, 2000, {}}, {4000, 2000, 2000}});
}
