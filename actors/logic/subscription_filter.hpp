// Which records of the journal a bookmark subscription delivers (docs/protocol.md, bookmark
// subscriptions), apart from the topic regex:
//
//   * the bookmark: per origin instance, the highest origin_seq the subscriber has seen; a
//     record is delivered only if its origin_seq is above its origin's entry (origins absent from
//     the bookmark: every record). An origin listed twice counts with its highest entry. Every
//     node stores one origin's records in that origin's order, so this names the same records on
//     every replicated node whatever order each interleaved origins in.
//   * start 3 (from time): nothing before the first record, in journal order, whose
//     timestamp_ns >= time_ns; from that record on, everything passes the time gate (later
//     records with an older timestamp included: "from that point of the journal").
//
// Records are offered in journal order, each once. Pure and bounded by the bookmark's size
// (at most protocol::max_bookmark_entries entries).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::logic {

class subscription_filter {
public:
  subscription_filter() = default;
  subscription_filter(const std::vector<std::pair<std::string, std::uint64_t>>& bookmark,
                      std::optional<std::int64_t> from_time_ns);

  bool admit(std::string_view origin, std::uint64_t origin_seq, std::int64_t timestamp_ns);

  bool waiting_for_time() const noexcept { return from_time_.has_value(); }

private:
  std::map<std::string, std::uint64_t, std::less<>> seen_;
  std::optional<std::int64_t> from_time_; // cleared once the gate opened
};

} // namespace tandem::logic
