// Receiver side of one peer connection: which received records to store, and when to ack.
//
// Replication model: see routing.hpp. The parts this class relies on:
//   * Peer X sends records in batches, in ascending X-local seq; each carries origin_instance
//     and origin_seq (the seq at the node it was first published to).
//   * We append the records we keep to our journal, keeping origin, origin_seq and path, and
//     ack with durable_ack{seq}: the highest X-local seq such that every record of X's up to it
//     that we received is durable here or was recognised as already held.
//   * Once the connection is kept, our first frame to X is durable_ack{durable_from_peer} (what
//     the journal actor's inbound_pos says we durably hold of X's journal) and X's link resumes
//     after it. (The hello's own durable_from_peer field is sent as 0: it carries no resume point.)
//
// Per received batch:
//   1. classify(records) decides store or duplicate for each record (origin_filter, below).
//   2. If the batch has records to store, the caller appends them as ONE journal append and
//      later reports on_batch_durable(id) or on_batch_failed(id). Appends complete in
//      submission order (the journal's group committer guarantees it). A batch with nothing to
//      store is complete at once and must not be reported.
//   3. ack_to_send() yields the highest peer seq whose batch and all earlier batches are
//      complete -- never ahead of the journal (persist first, then ack) -- once per advance.
//      durable_from_peer() is the last value it yielded (initialised from the persisted value).
//
// On a failed append the high-water marks of that batch's origins drop back to held(), and acks
// stop for good at the batch before it (failed() turns true): the records are not durable, so
// the caller must close the connection; the peer then resends from durable_from_peer().
// Caveat: batches submitted AFTER the failed one may still become durable; if they hold later
// records of the same origin, the resent records of the failed batch will look held and be
// dropped. The journal fails an append only on I/O errors, which fail every queued batch.
//
// held(origin) must return the journal's highest origin_seq held for origin
// (journal::highest_origin_seq). It is called at most once per origin per classify() and on
// failures. Records submitted by ANOTHER connection and not yet staged by the journal are
// invisible to both held() and this object; keep the old connection's dedup object until its
// batches complete, or share submitted state, when switching connections of the same peer.
//
// REFILL. After accept_earlier_own(base, held_earlier), a record of this node's own origin with
// origin_seq < base (published by an earlier incarnation of this node whose journal was lost,
// sent back by a partner: routing.hpp) is treated like a record of any other origin, with
// held_earlier() (journal::highest_earlier_own_seq) as what is held: stored once, in order.
// Own-origin records at or above base are always duplicates.
//
// KNOWN LIMITATION. Duplicate detection by a per-origin high-water mark assumes each origin's
// records reach this node in origin_seq order along any one path. That holds for pairs, chains
// and rings. In a mesh where topic filters differ between paths, records of one origin can
// arrive out of origin_seq order (seq 7 via B, then seq 5 via C, which B filtered out and C did
// not): seq 5 is then below the high-water mark and is DROPPED as a duplicate although this
// node never stored it -- the record is lost on this node.
// Anti-entropy repair (anti_entropy_repair.hpp, protocol 1.6) is the way back: a partner's
// comparison finds such a range and re-sends it in repair_batch frames, which do NOT pass this
// filter; the receiving node stores each record its journal does not hold (a journal scan).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::logic {

struct inbound_record {
  std::uint64_t peer_seq = 0; // the sender's local seq (ascending within and across batches)
  std::string_view origin_instance;
  std::uint64_t origin_seq = 0;
};

enum class verdict { store, duplicate };

// THE per-origin duplicate filter, used by each replication connection (inside inbound_dedup)
// and by the journal (logic::journal_core, across every connection: two connections with the
// same peer during a duplicate-connection switch can carry the same records, and the journal
// sees every append in order).
//
// A record is a duplicate when its origin is this node (except a refilled record of an earlier
// incarnation, REFILL above) or its origin_seq <= max(held(origin), high-water of what this
// filter already passed for origin). Passed records raise that high-water, so the same record
// arriving twice before the first copy is durable is stored once. held(origin) is asked at most
// once per origin per classify() (it can grow through other writers meanwhile).
// Worked example: held(X) = 5; classify([X:4, X:6, X:6, X:7]) = [dup, store, dup, store], the
// high-water of X is 7; classify([X:7]) = [dup] even while 6 and 7 are not durable yet.
// forget(origin) / forget_all() after a failed append: the high-water falls back to held().
class origin_filter {
public:
  using held_fn = std::function<std::uint64_t(std::string_view origin)>;

  origin_filter(std::string local_instance, held_fn held);

  std::vector<verdict> classify(std::span<const inbound_record> records);
  // Accept own-origin records below own_base (REFILL in the header comment).
  void accept_earlier_own(std::uint64_t own_base, std::function<std::uint64_t()> held_earlier_own);
  void forget(std::string_view origin);
  void forget_all() { high_water_.clear(); }
  std::size_t origins() const noexcept { return high_water_.size(); }

private:
  std::uint64_t held_for(std::string_view origin) const;

  std::string local_;
  held_fn held_;
  std::uint64_t own_base_ = 0;
  std::function<std::uint64_t()> held_earlier_own_; // empty: own-origin records are duplicates
  std::map<std::string, std::uint64_t, std::less<>> high_water_;
};

struct classified_batch {
  std::uint64_t id = 0;          // for on_batch_durable / on_batch_failed
  std::vector<verdict> verdicts; // one per input record, same order
  std::size_t to_store = 0;      // 0: complete already, do not submit or report it
};

class inbound_dedup {
public:
  using held_fn = std::function<std::uint64_t(std::string_view origin)>;

  inbound_dedup(std::string local_instance, held_fn held, std::uint64_t durable_from_peer);

  classified_batch classify(std::span<const inbound_record> records);
  void on_batch_durable(std::uint64_t batch_id);
  void on_batch_failed(std::uint64_t batch_id);
  std::optional<std::uint64_t> ack_to_send();
  // Accept own-origin records below own_base (REFILL in the header comment).
  void accept_earlier_own(std::uint64_t own_base, std::function<std::uint64_t()> held_earlier_own);

  std::uint64_t durable_from_peer() const noexcept { return durable_from_peer_; }
  bool failed() const noexcept { return failed_; }
  std::size_t batches_pending() const noexcept { return batches_.size(); }
  std::uint64_t duplicates() const noexcept { return duplicates_; }

private:
  enum class batch_state { submitted, durable, failed };
  struct batch {
    std::uint64_t id;
    std::uint64_t last_peer_seq;
    batch_state state;
    std::vector<std::string> origins; // origins with stored records, for failure reset
  };

  batch* find(std::uint64_t batch_id);

  origin_filter filter_;
  std::deque<batch> batches_; // submission order; front = oldest not yet acked
  std::uint64_t next_id_ = 1;
  std::uint64_t durable_from_peer_;
  std::uint64_t ack_ready_; // highest peer seq whose batch and all earlier are complete
  std::uint64_t duplicates_ = 0;
  bool failed_ = false;
};

} // namespace tandem::logic
