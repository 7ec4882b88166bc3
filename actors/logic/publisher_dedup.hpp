// The node's duplicate rule for publishers (docs/protocol.md, client sessions, duplicate rule):
// per publisher_id, high-water marks of the publisher_seqs the node holds, fed with every record
// that goes into the journal, whichever way it came (published here or replicated).
//
// Three marks per publisher, always safe >= 0, durable <= accepted, safe <= durable:
//   accepted  highest seq submitted to the journal (durable or not yet). A publish or replicated
//             record at or below it is ALREADY HELD and must not be stored again -- this is
//             what catches a resend racing its original.
//   durable   highest seq the journal made durable.
//   safe      highest seq that can no longer be lost by a failover: a record published here once
//             the ack rule released it (durable here AND acked by every sync destination), a
//             replicated record once durable here (the sender holds it durably too). This is
//             what publisher_logon_ack reports: a publisher drops from its store everything the
//             logon covers, so covering a record that only this node's disk holds could lose
//             it (see docs/protocol.md).
//
// Contract for the caller (the journal actor, which sees every append in order):
//   * startup: load() for every record of the journal, in seq order, then on_release_bound()
//     with the ack rule's bound at startup;
//   * admit() before submitting a record; only admitted records are submitted;
//   * on_durable() / on_safe() when the journal or the ack rule reports progress (per batch, the
//     highest seq of each publisher is enough: marks only rise);
//   * on_append_failed() when the journal rejected a batch: what was pending may be gone, so
//     accepted falls back to durable.
// publisher_seq 0 is exempt: never held, never raises a mark.
//
// Bounded: at most max_publishers ids. Admitting a new id when full evicts the least recently
// used one (last admit, logon or mark change). An evicted id is forgotten: its next logon reports
// 0 and a resend of seqs it already holds is stored again -- a duplicate in the journal, never a
// loss. evictions() counts them (shown in /status).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tandem::logic {

class publisher_dedup {
public:
  static constexpr std::size_t default_max_publishers = 100'000;

  explicit publisher_dedup(std::size_t max_publishers = default_max_publishers);

  // Startup, one record of the journal in seq order. `safe`: already beyond loss (replicated, or
  // local_seq within the ack rule's bound). An unsafe record becomes safe through
  // on_release_bound(bound >= local_seq).
  void load(std::string_view publisher, std::uint64_t publisher_seq, std::uint64_t local_seq, bool safe);

  // True: store the record (accepted rises). False: already held, do not store.
  bool admit(std::string_view publisher, std::uint64_t publisher_seq);

  void on_durable(std::string_view publisher, std::uint64_t publisher_seq);
  void on_safe(std::string_view publisher, std::uint64_t publisher_seq);
  // The ack rule's bound (every local seq up to it is persisted): releases the loaded records
  // that were not safe at startup.
  void on_release_bound(std::uint64_t bound);
  void on_append_failed();

  // REFILL (docs/protocol.md): the lowest publisher_seq of `publisher` this node stored as its
  // own publish in its current journal incarnation (durable), 0 if none. A publisher resends
  // to a node only what is unacknowledged, in order, and everything it publishes later reaches
  // the node directly or by replication; so a refilled record of this node's earlier incarnation
  // with publisher_seq >= first_local is held already, and one below it is not.
  // note_local_submitted() when such a publish is submitted (so a refilled copy racing it is
  // caught), note_local() once it is durable (and at startup); on_append_failed() falls back to
  // the durable value.
  void note_local_submitted(std::string_view publisher, std::uint64_t publisher_seq);
  void note_local(std::string_view publisher, std::uint64_t publisher_seq);
  std::uint64_t first_local(std::string_view publisher) const;

  // The publisher_logon_ack answer: the safe mark (0 for an unknown id).
  std::uint64_t logon_mark(std::string_view publisher);
  // True when `publisher_seq` is at or below the safe mark (seq 0: always).
  bool is_safe(std::string_view publisher, std::uint64_t publisher_seq) const;

  std::uint64_t accepted(std::string_view publisher) const;
  std::uint64_t durable(std::string_view publisher) const;
  std::size_t publishers() const noexcept { return marks_.size(); }
  std::size_t unsafe_at_startup() const noexcept { return startup_tail_.size(); }
  std::uint64_t evictions() const noexcept { return evictions_; }
  std::size_t max_publishers() const noexcept { return max_; }

private:
  struct entry {
    std::uint64_t accepted = 0, durable = 0, safe = 0;
    std::uint64_t first_local = 0;           // durable (note_local); 0 = none
    std::uint64_t first_local_submitted = 0; // submitted or durable; 0 = none
    std::uint64_t tail_local_seq = 0; // key in startup_tail_, 0 = none
    std::uint64_t tail_publisher_seq = 0;
    std::list<const std::string*>::iterator lru;
  };
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  const entry* find(std::string_view publisher) const;
  entry& touch(std::string_view publisher); // finds or creates (evicting), most recently used

  std::size_t max_;
  std::unordered_map<std::string, entry, hash, std::equal_to<>> marks_;
  std::list<const std::string*> lru_; // front = most recently used; points at marks_' keys
  // Loaded records not yet safe: local_seq -> publisher (one entry per publisher, its newest).
  std::map<std::uint64_t, std::string> startup_tail_;
  std::uint64_t evictions_ = 0;
};

} // namespace tandem::logic
