// Anti-entropy digests (issue 17, part 7): partners prove they hold the same records of an origin.
//
// A digest summarises what a node holds of one origin over a closed origin_seq range [from, to],
// cut into equal-width buckets. Each bucket holds the number of records in it and an
// order-independent hash (sum mod 2^64 of mix(origin_seq, content crc)) of them, so two nodes that
// stored the same records in a different local order (different seqs, different paths) agree.
//
// The content crc covers what the origin gave the record and every node keeps unchanged:
// origin_seq, publisher_seq, timestamp_ns, publisher, topic, payload. NOT the local seq, NOT the
// forwarding path (both differ between nodes by design) -- hence not the journal record's own crc.
//
// Bucket geometry, worked example: from = 1, to = 10, buckets = 4 -> width = ceil(10 / 4) = 3,
// buckets [1,3] [4,6] [7,9] [10,10] (the last may be narrower; there may be fewer than asked:
// from 1 to 4 in 3 buckets gives width 2 and buckets [1,2] [3,4]).
//
// Comparing two digests of the same request gives the differing buckets in seq order: a bucket
// one side has no record in is "missing" on that side (the other side can repair it by re-sending
// the range), any other difference is "differs". A differing bucket wider than one seq is narrowed
// by asking both sides again for just that range (drill_down). Plain C++: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal/record_codec.hpp"
#include "protocol/digest_rules.hpp"
#include "protocol/messages.hpp"

namespace tandem::anti_entropy {

// Limits every digest request and reply is checked against (the admin endpoint, the CLI).
inline constexpr std::size_t max_buckets = protocol::digest_rules::max_buckets; // the 1.5 frames' too
inline constexpr std::size_t default_buckets = 64;

// The content crc of an encoded journal record that check_record() accepted.
std::uint32_t content_checksum(std::string_view encoded_record) noexcept;
// The same for a record in memory (tests; the value equals that of its encoding).
std::uint32_t content_checksum(const journal::record& r);

// What to summarise: one origin, a closed origin_seq range, at most `buckets` buckets.
struct digest_request {
  std::string origin;
  std::uint64_t from = 1;
  std::uint64_t to = 0;
  std::size_t buckets = default_buckets;
  friend bool operator==(const digest_request&, const digest_request&) = default;
};
// Empty when the request is well formed (origin 1..255 bytes, 1 <= from <= to, 1 <= buckets <=
// max_buckets); otherwise what is wrong, naming the field. protocol::digest_rules::check_request,
// which the 1.5 digest frames are decoded with.
std::string check_request(const digest_request& req);

struct digest_bucket {
  std::uint64_t first = 0; // origin_seq range of this bucket
  std::uint64_t last = 0;
  std::uint64_t count = 0; // records held in the range
  std::uint64_t hash = 0;  // sum of mix(origin_seq, content crc) over them
  friend bool operator==(const digest_bucket&, const digest_bucket&) = default;
};

struct digest {
  digest_request request;
  std::vector<digest_bucket> buckets; // all of them, empty ones included, in seq order
  friend bool operator==(const digest&, const digest&) = default;
};

// Bucket width for a request that check_request() accepted (>= 1).
std::uint64_t bucket_width(const digest_request& req) noexcept;

// Builds a digest from records fed in any order. Records of other origins or outside the range
// are ignored (the caller may feed a whole journal).
class digest_builder {
public:
  // Precondition: check_request(req).empty().
  explicit digest_builder(digest_request req);
  void add(std::string_view origin, std::uint64_t origin_seq, std::uint32_t content_crc);
  // An encoded record that check_record() accepted.
  void add_encoded(std::string_view encoded_record);
  const digest& result() const noexcept { return digest_; }
  // The lowest origin_seq added within the range; 0 when none was.
  std::uint64_t lowest() const noexcept { return lowest_; }

private:
  digest digest_;
  std::uint64_t lowest_ = 0;
  std::uint64_t width_;
};

enum class difference_kind { missing_left, missing_right, differs };
const char* to_string(difference_kind k) noexcept;

struct difference {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  difference_kind kind = difference_kind::differs;
  std::uint64_t left_count = 0;
  std::uint64_t right_count = 0;
  // Fewest records that can differ in this bucket: |left - right|, at least 1.
  std::uint64_t min_divergent() const noexcept;
  // Nothing left to narrow: one seq, or one side holds none of the range and the other all of it.
  bool exact() const noexcept;
  friend bool operator==(const difference&, const difference&) = default;
};

struct comparison {
  std::string error;                  // non-empty: the digests do not answer the same request
  std::vector<difference> differing;  // in seq order; empty and no error: identical
  std::uint64_t min_divergent() const noexcept; // sum over differing
};
comparison compare(const digest& left, const digest& right);
// Joins differences that touch (one's last + 1 == the next's first) and are of the same kind,
// summing their counts: what drilling a long missing range into buckets gives back as one range.
std::vector<difference> merge_adjacent(const std::vector<difference>& in);

// The request that narrows `d` (same origin, its range, up to `buckets` buckets); nullopt when
// d.exact().
std::optional<digest_request> drill_down(const std::string& origin, const difference& d,
                                         std::size_t buckets = default_buckets);

// The admin endpoint's query: "/digest?origin=A&from=1&to=100&buckets=64". origin is required
// (taken as is: no percent-decoding, names carry no special characters); from defaults to 1,
// buckets to default_buckets; without `to` the node fills in the highest origin_seq it knows of
// the origin (to_given false). Numbers are plain decimals (at most 20 digits, no sign); unknown,
// repeated or empty parameters are refused. Returns the request, or nullopt with `error` naming
// the parameter; the request then passes check_request() (a missing `to` counts as `from`).
struct digest_query {
  digest_request request;
  bool to_given = false;
};
std::optional<digest_query> parse_digest_query(std::string_view target, std::string& error);

// JSON (the admin endpoint's answer, docs/metrics.md, "GET /digest"). parse() checks every field:
// the request by check_request(), exactly as many buckets as the request's geometry gives, each
// bucket's range equal to that geometry's and its count at most its width.
std::string to_json(const digest& d);
std::optional<digest> parse_digest(std::string_view json, std::string& error);

// The protocol 1.5 frames (protocol/messages.hpp digest_request, digest_reply). A request of
// more than 65535 buckets cannot be said on the wire: it is sent as 0 and refused by the peer.
protocol::digest_request to_frame(const digest_request& req, std::uint64_t request_id);
digest_request from_frame(const protocol::digest_request& f);
// The reply's buckets with their ranges, from a reply that decode() accepted and whose error is
// empty (its bucket list then has exactly the request's geometry).
digest from_frame(const protocol::digest_reply& f);
// Fills the reply's request fields and buckets from `d` (error, highest, removed left alone).
void fill_reply(const digest& d, protocol::digest_reply& out);

} // namespace tandem::anti_entropy
