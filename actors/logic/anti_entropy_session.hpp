// One destination link's background anti-entropy (issue 17, part 7, step 3): when to compare
// with the peer, what the comparison found, and what to re-send. A plain class: the link feeds
// it connection changes, ticks and the two digests of each comparison, every input with `now_ms`
// (unix milliseconds, read by the actor; no clock here), and carries out what it returns.
// The link (destination_link.cpp) drives it through anti_entropy_exchange.hpp, which pairs the
// peer's and the local digest of each request (protocol 1.5 digest frames), and re-sends the
// repairs through anti_entropy_repair.hpp (protocol 1.6); see docs/performance.md
// "Anti-entropy digests" for the cost.
//
//   [ off ] (interval 0)         never compares
//   [ unsupported ]              connected to a peer whose minor is below min_peer_minor: not
//                                compared, /status says so
//   [ idle ] --due--> [ comparing ] --finished / disconnected--> [ idle ]
//
// Due: at connect (the first tick after on_connected), then interval_ms after the previous
// comparison STARTED; never while one is running or while disconnected. A comparison is one
// round per origin: the link asks the peer for the digest of each request `due()` returns, makes
// its own (digest scanner), and reports each pair with on_digests(). Differences that are not
// exact come back as narrower requests (drill-down) until they are, or max_rounds is used up.
//
// Retention: what either side's retention removed (the digest replies' removed_through) is cut
// off every difference before it counts, so a partner that keeps less is not "diverging".
//
// Findings, kept until the next comparison finishes: the records that differ at least
// (comparison::min_divergent over exact and unnarrowed ranges), the first differing range, and
// the repairs -- the exact ranges of which this node holds every record and the peer none
// (missing_right): the link re-sends those as protocol 1.6 repair_batch frames
// (anti_entropy_repair.hpp), and the peer stores the ones its journal does not hold. A range the peer holds and this node lacks is the peer's to repair
// (its own link to this node does the same). A range that differs in content is reported only.
//
// Held elsewhere (issue 17 review): a publisher that failed over resends its unacknowledged
// messages to the partner, which stores them as its own origin; the copy under the first node's
// origin then arrives there as a duplicate and is not stored (the duplicate rule). Each node holds
// the message once, but the per-origin digests differ: missing_right. The repair of such a range
// stores nothing (the receiver's journal scan finds the message by publisher). So a repaired range
// whose repair_ack said `stored` 0 is noted as settled (on_repaired), and a missing_right range
// wholly inside settled ranges counts as held_elsewhere_records instead of divergent_records. It
// is still re-sent at every comparison: the receiver checks its journal again each time, and a
// repair that stores anything un-settles the range (it was missing after all, and is now
// repaired), so nothing the peer lacks is ever hidden. Settled ranges are per connection (a new
// one may reach another instance of the group) and at most max_settled intervals are kept; past
// that, a range is reported as divergent, as before.
// A link compares its own origin only (destination_link.cpp, ae_origins), so the other half of
// such a pair -- the partner's origin, lacking here -- is the partner's link's missing_right,
// settled the same way there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/logic/anti_entropy.hpp"

namespace tandem::logic {

struct anti_entropy_settings {
  std::uint64_t interval_ms = 300'000; // anti_entropy_interval_s * 1000; 0 = off
  std::size_t buckets = anti_entropy::default_buckets;
  std::size_t max_rounds = 16;         // narrowing requests per comparison
  std::uint16_t min_peer_minor = 5;    // protocol 1.5 carries the digest frames
  std::size_t max_settled = 1024;      // settled intervals kept (held elsewhere, see above)
};

// An origin the link compares, and the range to compare: from above what either side's
// retention removed to the highest origin_seq either side knows.
struct anti_entropy_origin {
  std::string origin;
  std::uint64_t from = 1;
  std::uint64_t to = 0;
};

enum class anti_entropy_state { off, unsupported, disconnected, idle, comparing };
const char* to_string(anti_entropy_state s) noexcept;

// What /status shows per destination (anti_entropy: {...}) and /metrics counts.
struct anti_entropy_figures {
  anti_entropy_state state = anti_entropy_state::disconnected;
  std::uint64_t last_run_ms = 0;       // when the latest finished comparison started; 0: none yet
  std::uint64_t divergent_records = 0; // at least this many differ (latest finished comparison)
  std::uint64_t held_elsewhere_records = 0; // missing_right, but the peer holds them under another origin
  std::uint64_t settled_overflows = 0;      // settled intervals not kept (max_settled)
  std::optional<anti_entropy::difference> first_range; // its first differing range, in origin order
  std::string first_origin;                            // the origin of first_range
  std::uint64_t comparisons = 0;       // finished since start
};

// A range to re-send to the peer.
struct anti_entropy_repair {
  std::string origin;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  friend bool operator==(const anti_entropy_repair&, const anti_entropy_repair&) = default;
};

class anti_entropy_session {
public:
  explicit anti_entropy_session(anti_entropy_settings s);

  void on_connected(std::uint16_t peer_minor, std::uint64_t now_ms);
  void on_disconnected(); // a running comparison is dropped, its findings not kept

  // The requests to start a comparison with, when one is due (state becomes comparing); empty
  // otherwise. `origins` with to < from are skipped; no origin to compare finishes at once.
  std::vector<anti_entropy::digest_request> due(std::uint64_t now_ms, const std::vector<anti_entropy_origin>& origins);
  // The two digests of one request (local = this node's). Returns the narrower requests to send
  // next; when none are outstanding any more the comparison is finished and its findings kept.
  // Digests that answer another request than one outstanding are ignored (a late answer).
  // removed_through: the highest origin_seq either side's retention removed (the digest replies'
  // removed_through): a difference at or below it is no divergence -- the records are gone by
  // design, not lost -- and is neither reported nor repaired (repairing it would bring back
  // what retention removed); a difference that straddles it is cut to the part above.
  std::vector<anti_entropy::digest_request> on_digests(const anti_entropy::digest& local,
                                                       const anti_entropy::digest& peer,
                                                       std::uint64_t removed_through = 0);

  // A request that got no digest (a scan failed on either side): dropped from the comparison,
  // which finishes without it when nothing else is outstanding. Returns nothing to send.
  std::vector<anti_entropy::digest_request> on_failed(const anti_entropy::digest_request& req);

  // A repair_batch covering origin_seqs first..last of `origin` was answered: `stored` of its
  // records were stored by the peer. 0: the peer holds every one (by origin or, under another
  // origin, by publisher): the range is settled. More: the range was missing, settled no more.
  // The latest findings are recounted at once.
  void on_repaired(const std::string& origin, std::uint64_t first, std::uint64_t last, std::uint64_t stored);

  const anti_entropy_figures& figures() const noexcept { return figures_; }
  // Repairs found by the latest finished comparison, handed out once.
  std::vector<anti_entropy_repair> take_repairs();

private:
  void finish();
  void recount(); // figures_ from findings_ and settled_
  bool settled(const std::string& origin, std::uint64_t first, std::uint64_t last) const;

  anti_entropy_settings settings_;
  anti_entropy_figures figures_;
  bool connected_ = false;
  bool supported_ = false;
  std::optional<std::uint64_t> next_due_ms_;
  std::uint64_t started_ms_ = 0;
  std::size_t rounds_ = 0;
  std::vector<anti_entropy::digest_request> outstanding_;
  std::vector<std::pair<std::string, anti_entropy::difference>> found_; // this comparison's
  std::vector<anti_entropy_repair> repairs_;
  std::vector<std::pair<std::string, anti_entropy::difference>> findings_; // the latest finished comparison's
  std::map<std::string, std::map<std::uint64_t, std::uint64_t>> settled_;   // origin -> first -> last, disjoint
  std::size_t settled_count_ = 0;
};

} // namespace tandem::logic
