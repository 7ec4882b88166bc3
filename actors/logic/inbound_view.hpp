// Per origin instance, what this node holds and who delivered it (issue 17, the inbound view):
// `/status` "inbound", `tandem status`, and the tandem_inbound_* metrics. The end of a chain has no
// destinations; this is what it shows about who feeds it.
//
// The journal actor feeds it (plain C++: no CAF, threads or clocks; the time comes as data):
//   * load(origin) once per record of the startup scan (journal::scan_durable): counted as held,
//     with no delivery known (via and time stay unknown until a record of it arrives);
//   * submitted(id, via, records) when an append or publish goes to the group committer, with
//     the records actually written (duplicates already dropped by journal_core);
//   * committed(id, ok, now_ms) when the committer answers: a durable batch counts, a failed one
//     is forgotten. Only durable records are ever counted.
// What it does not keep: the highest origin_seq per origin. journal::highest_origin_seq is the
// one source of truth for it (the duplicate filter's too); /status reads it from there.
//
// Counting rule: `records` of an origin = records of it the startup scan found (what retention
// had kept) + records of it made durable since. Retention removing segments later does not lower
// it until the next restart, so it is monotonic within a process (hence a Prometheus counter).
// `received` counts only the records made durable since startup.
//
// Bounded: origins are names chosen by whoever sends records, so at most max_origins origins
// besides this node's own are tracked -- the bound of the instance groups a node remembers
// (instance_groups.hpp, journal_actor.cpp max_remembered_groups: 4096). Records of a further
// origin count only in the totals (untracked_records); the first refusal yields one note for the
// log (take_note), later ones are only counted. Pending batches are as many as the journal has
// appends in flight (each has its request in journal_core).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "journal/record_codec.hpp"

namespace tandem::logic {

// Who delivered a batch: the peer instance and its connection's remote address, or nobody
// (empty peer) for this node's own publishes.
struct inbound_via {
  std::string peer;
  std::string address;

  bool local() const noexcept { return peer.empty(); }
  friend bool operator==(const inbound_via&, const inbound_via&) = default;
};

struct inbound_origin {
  std::uint64_t records = 0;          // held, by the counting rule above
  std::uint64_t received = 0;         // made durable since startup
  std::uint64_t last_received_ms = 0; // unix ms its latest batch became durable; 0: none since startup
  inbound_via via;                    // who delivered that batch (meaningful when last_received_ms != 0)
};

class inbound_view {
public:
  static constexpr std::size_t default_max_origins = 4096;

  explicit inbound_view(std::string local_instance, std::size_t max_origins = default_max_origins);

  // Startup scan: one record of `origin` held.
  void load(std::string_view origin);
  // A batch sent to the committer as append `id`; records with an empty origin are this node's.
  void submitted(std::uint64_t id, inbound_via via, const std::vector<journal::record>& records);
  // The committer's answer for `id` (unknown ids are ignored: nothing was submitted under them).
  void committed(std::uint64_t id, bool ok, std::uint64_t now_ms);

  // By origin name; this node's own origin is always present.
  const std::map<std::string, inbound_origin, std::less<>>& origins() const noexcept { return origins_; }
  const std::string& local_instance() const noexcept { return local_; }
  std::size_t max_origins() const noexcept { return max_origins_; }
  std::uint64_t total_records() const noexcept { return total_records_; }
  std::uint64_t total_received() const noexcept { return total_received_; }
  std::uint64_t untracked_records() const noexcept { return untracked_records_; }
  std::size_t pending() const noexcept { return pending_.size(); }
  // The note for the log about the first origin refused by the bound; once, then nullopt.
  std::optional<std::string> take_note();

private:
  // The entry of `origin`, or nullptr when the bound refuses it (the first refusal makes the note).
  inbound_origin* entry(std::string_view origin);

  struct pending_batch {
    inbound_via via;
    std::vector<std::pair<std::string, std::uint64_t>> counts; // origin -> records, first-seen order
  };

  std::string local_;
  std::size_t max_origins_;
  std::map<std::string, inbound_origin, std::less<>> origins_;
  std::unordered_map<std::uint64_t, pending_batch> pending_;
  std::uint64_t total_records_ = 0, total_received_ = 0, untracked_records_ = 0;
  std::optional<std::string> note_;
  bool noted_ = false;
};

} // namespace tandem::logic
