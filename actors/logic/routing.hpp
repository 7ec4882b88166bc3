// The routing rule: which of this node's durable records a destination link sends.
//
// Replication model (shared by everything in actors/logic/):
//   * Every node has a journal with local seqs that grow by one per record from the journal's base
//     (1 for a journal never lost; a rebuilt journal starts above every seq its earlier
//     incarnation used: docs/journal-format.md), and retention removes the oldest segments, so
//     the seqs held are a contiguous range [first_seq, durable_seq]. A record carries its local seq,
//     origin_instance + origin_seq (where it was first published and its seq there),
//     publisher_id + publisher_seq, path (the instances that stored it BEFORE this node, origin
//     first; empty for a record published to this node), topic and payload.
//   * A destination link of node X to destination D reads X's journal in seq order and sends the
//     records routing admits to D in batches; the wire carries each record's X-local seq. When X
//     sends a record, the path on the wire is stored_path + [X].
//   * D appends received records to its journal (keeping origin, origin_seq and path as
//     received) and acks with durable_ack{seq}: the highest X-local seq such that every record of
//     X's up to it that D received is durable in D's journal or was recognised as already held.
//   * D's first durable_ack on a connection is its resume point: the highest X-local seq D durably
//     holds (the hello's durable_from_peer field is sent as 0 and not used). Where X resumes from
//     it is logic/resume_decision.hpp's one decision (usually right after it).
//
// The rule (destination_route::admits). A record goes to destination D when ALL of:
//   1. its topic fully matches D's topic filter;
//   2. it was published to this node (path empty), OR the group of the instance it arrived from
//      (the group of path.back()) fully matches one of D's passthrough regexes;
//   3. D is neither the record's origin nor in its path. D is a GROUP of equivalent servers
//      (config destinations[i].instances, issue 17 part 2): no instance of the group is the
//      record's origin or in its path (no echo to the group it came from: a record B1 sent us is
//      not sent to B2, which gets it from B1 itself).
// Rule 2 is what stops echoes: in a pair A<->B without passthrough, B never sends A's records
// back.
//
// The one exception, REFILL: once the link knows D's journal base (D's hello; set_destination_base),
// a record whose origin is D with origin_seq < that base is admitted when its topic matches and
// D appears in its path only as the origin (path[0]). For a group, D is the SERVING instance (the
// one whose hello gave the base; set_serving_instance): only its own earlier records go back to
// it, and no other instance of the group may appear in the path. D's base is above every seq an earlier
// incarnation of D used, so such a record is one D published before it lost its journal; D takes
// it back if it does not hold it yet. The base is 0 (unknown: no refill) until set; a peer whose
// journal was never lost has base 1 or holds everything below its base already (it then drops the
// refill as duplicates). Rule 3 is what stops loops when passthrough is on: in a ring A->B->C->A, C does not send
// A's record to A (the origin), and nobody sends it to an instance already in its path.
// Durability is the caller's concern: only durable records may be routed.
//
// Patterns are RE2 (config/pattern.hpp) and must match the WHOLE string, compiled by the same
// function config/destinations.cpp validates with, so a pattern accepted by the config cannot
// fail here (an invalid pattern makes the constructor throw std::invalid_argument: a programming
// error). RE2 matches in time linear in the subject without recursion: a 64 KiB topic costs
// microseconds, not the stack (the old libstdc++ regex engine recursed once per character and crashed the link).
//
// Match results are cached in bounded maps (cleared when full); only subjects up to
// max_cached_subject_bytes are remembered, so the cache holds at most about
// max_entries * max_cached_subject_bytes bytes whatever topics arrive. The cache is mutable state
// behind a const admits(): one route belongs to one link and is used from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/pattern.hpp"

namespace tandem::logic {

struct route_input {
  std::string_view origin_instance;
  std::string_view topic;
  std::span<const std::string> path; // as stored on this node; empty when published here
  std::string_view upstream_group;   // group of path.back(); empty when published here
  std::uint64_t origin_seq = 0;      // only for the refill exception
};

// Memoises a full-match of one pattern over many subjects. At most max_entries are remembered;
// when full the map is cleared (cheap, and the working set of topics refills it quickly).
// Subjects longer than max_cached_subject_bytes are matched every time, never stored.
class regex_match_cache {
public:
  static constexpr std::size_t default_max_entries = 4096;
  static constexpr std::size_t max_cached_subject_bytes = 256;

  explicit regex_match_cache(std::string_view pattern,
                             std::size_t max_entries = default_max_entries);
  bool matches(std::string_view subject);

  std::uint64_t hits() const noexcept { return hits_; }
  std::uint64_t misses() const noexcept { return misses_; }
  std::size_t size() const noexcept { return cache_.size(); }

private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  config::pattern pattern_;
  std::size_t max_entries_;
  std::unordered_map<std::string, bool, string_hash, std::equal_to<>> cache_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

class destination_route {
public:
  destination_route(std::string destination, std::string_view topics_regex,
                    const std::vector<std::string>& passthrough_regexes,
                    std::size_t cache_entries = regex_match_cache::default_max_entries);
  // A destination served by a group of instances (never empty; the first serves until
  // set_serving_instance says otherwise).
  destination_route(std::vector<std::string> instances, std::string_view topics_regex,
                    const std::vector<std::string>& passthrough_regexes,
                    std::size_t cache_entries = regex_match_cache::default_max_entries);

  // True when the record goes to this destination (the rule in the header comment).
  bool admits(const route_input& in) const;

  // The serving instance: the one refill applies to.
  const std::string& destination() const noexcept { return destination_; }
  const std::vector<std::string>& instances() const noexcept { return instances_; }
  // Which instance of the group serves now (one of instances(); others are ignored).
  void set_serving_instance(const std::string& instance);
  // The destination's journal base (its hello); 0 = unknown, disables refill.
  void set_destination_base(std::uint64_t base) noexcept { destination_base_ = base; }
  std::uint64_t destination_base() const noexcept { return destination_base_; }
  // Cache counters for the topic filter (tests, metrics).
  std::uint64_t topic_cache_hits() const noexcept { return topics_.hits(); }
  std::uint64_t topic_cache_misses() const noexcept { return topics_.misses(); }
  std::size_t topic_cache_size() const noexcept { return topics_.size(); }

private:
  bool passes_through(std::string_view upstream_group) const;
  bool is_instance(std::string_view name) const;

  std::vector<std::string> instances_;
  std::string destination_;
  std::uint64_t destination_base_ = 0;
  mutable regex_match_cache topics_;
  mutable std::vector<regex_match_cache> passthrough_;
};

} // namespace tandem::logic
