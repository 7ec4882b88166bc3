// `tandem verify-pair ADMIN_A ADMIN_B` (issue 17, part 7): do two partners hold the same records?
//
// For every origin either node reports in /status "inbound", asks both nodes' GET /digest for the
// same range (1 .. the higher of their highest origin_seqs; above what either node's retention
// removed, which cannot be compared) and compares (logic/anti_entropy.hpp). Each differing bucket
// is narrowed by asking again for just its range, until the differing ranges are exact (one seq)
// or max_rounds requests per origin were made. Plain blocking HTTP through an injected fetch, so
// tests drive it without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/logic/anti_entropy.hpp"
#include "client/http_get.hpp"

namespace tandem::client {

// GET `path` of one node's admin endpoint.
using admin_fetch = std::function<http_result(const std::string& path)>;

struct verify_options {
  std::size_t buckets = anti_entropy::default_buckets;
  std::size_t max_rounds = 16;  // drill-down requests per origin and node
  std::size_t max_ranges = 64;  // differing ranges kept per origin (before adjacent ones are joined)
};

struct origin_verdict {
  std::string origin;
  std::uint64_t from = 0;     // compared range
  std::uint64_t to = 0;
  bool compared = false;      // false: nothing comparable (all removed, or none held)
  std::vector<anti_entropy::difference> differing; // left = A, right = B; in seq order
  std::uint64_t min_divergent = 0;
};

struct verify_result {
  std::string error;          // non-empty: a node did not answer as expected (exit 2)
  std::vector<origin_verdict> origins;
  bool divergent() const;
  int exit_code() const { return !error.empty() ? 2 : divergent() ? 1 : 0; }
  // Human-readable, one line per origin and per differing range.
  std::string describe(const std::string& name_a, const std::string& name_b) const;
};

verify_result verify_pair(const admin_fetch& a, const admin_fetch& b, const verify_options& opts = {});

} // namespace tandem::client
