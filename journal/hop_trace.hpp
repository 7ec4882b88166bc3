// Per-hop timestamps of the publish path, for replication_bench --hops (issue 19 part 2).
//
// Off unless the process starts with TANDEM_HOP_TRACE=N in its environment (N marks kept, at most
// 1 << 22; tandemd calls enable_from_env() once at startup). Then each mark() appends (point,
// CLOCK_MONOTONIC ns, seq) to a fixed ring of N entries; when off, mark() is one relaxed load.
// The clock is the host's, so the marks of two nodes on one host line up: the bench merges them
// and finds, per message, how long each hop took. Read through the admin port's GET /debug/hops
// (404 when off; paged, see dump_json). A debug facility: no config key, nothing an operator needs.
//
// It lives in the journal library because that is the lowest one that every layer on the path
// (committer, actors) links.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::hop_trace {

// The points, in the order a sync publish passes them (the entry node's and its partner's
// marks carry the same names; the bench tells them apart by the node it read them from).
enum class point : std::uint8_t {
  client_read,      // client listener: a publish frame decoded
  journal_in,       // journal actor: a publish (entry) or an append (replication) received
  committer_in,     // committer thread: woken with work (before staging and writing it)
  written,          // committer thread: the batch written, before its fdatasync
  synced,           // committer thread: its fdatasync returned
  commit_done,      // journal actor: the commit's outcome received
  link_woken,       // destination link: told that records may be sent (written or durable)
  link_sent,        // destination link: a batch handed to its connection
  conn_out,         // replication connection: a batch frame written to the socket
  conn_in,          // replication connection: a batch frame decoded
  ack_out,          // replication connection: a durable ack written to the socket
  ack_in,           // replication connection: a durable ack decoded
  link_ack,         // destination link: the ack received
  dest_ack,         // journal actor: the destination's ack received
  client_ack,       // client listener: the persisted ack written to the socket
  count_
};

const char* name(point p);

inline constexpr std::size_t max_capacity = std::size_t{1} << 22;

// Turns tracing on with room for `capacity` marks (clamped to [1024, max_capacity]); once per process.
void enable(std::size_t capacity);
// TANDEM_HOP_TRACE's value as a capacity: digits only (strtoull would take "-5" as a huge count),
// saturating at max_capacity; 0 (off) for null, empty, a sign or any other character.
std::size_t parse_capacity(const char* value);
// Reads TANDEM_HOP_TRACE; enables when it holds a positive number. Returns whether it is on.
bool enable_from_env();
bool enabled();

// Records one mark (cheap; from any thread). `seq` names the record when the point knows it
// (0 otherwise): the entry node's seq, or on the partner the origin's seq.
void mark(point p, std::uint64_t seq = 0);

// One page of the ring, at most `max_marks` marks from absolute mark index `from` on (marks are
// numbered from 0 since startup; one below the oldest still held starts at the oldest):
// {"capacity": N, "dropped": K, "from": F, "next": X, "end": E, "marks": [[point_name, ns, seq], ...]}
// oldest first; `dropped` marks were overwritten (the oldest held is number K), `end` is the
// number of marks made so far, and the next page starts at `next` (== `end`: none left). Pages
// keep one answer's size bounded (the admin server builds it on the I/O thread): a reader loops
// until next == end. Marks being written meanwhile may be torn: read it when the traced run is over.
inline constexpr std::size_t max_page_marks = 16384;
std::string dump_json(std::uint64_t from = 0, std::size_t max_marks = max_page_marks);

// GET /debug/hops's query: empty (from 0) or "from=K", K decimal digits (at most 19); anything else
// is nullopt (the admin server answers 400).
std::optional<std::uint64_t> parse_from(std::string_view query);

} // namespace tandem::hop_trace
