// A closed range of journal seqs (its own header so that journal.hpp and seq_reservation.hpp can
// both use it).
#pragma once

#include <cstdint>

namespace tandem::journal {

// A closed seq range; empty when last < first.
struct seq_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  bool empty() const { return last < first; }
  friend bool operator==(const seq_range&, const seq_range&) = default;
};

} // namespace tandem::journal
