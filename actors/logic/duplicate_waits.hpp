// When a publish that holds duplicates may be answered (issue 14, defect 4).
//
// The duplicate rule (docs/protocol.md, client sessions): a publish whose publisher_seq is at or
// below its publisher's accepted mark is ALREADY HELD -- not stored again, acked with
// journal_seq 0. That ack promises what every persisted ack promises, so it may go out only once
// the ORIGINAL is safe (publisher_dedup::is_safe: durable here and on every sync destination
// that must hold it). A publish batch may mix new records and resends; its answer waits for
// both halves: the new records' release by the ack rule (ack_tracker) AND every original of its
// resends being safe. This class holds the second half: batches (by the caller's token) whose
// stored part is released, or that stored nothing, and whose originals are not all safe yet.
//
// Contract:
//   * wait(token, originals): `token` is answered once every original is safe. originals may be
//     empty (then the next take_safe() returns it). A token waits at most once at a time.
//   * take_safe(marks) returns, and forgets, every waiting token whose originals are all safe
//     now, in the order they started waiting. Call it whenever a safe mark may have risen.
//   * take_on_write_error(marks): a journal write error may have lost every record that was not
//     durable, so an original that is not safe now may never be. Returns, and forgets, every
//     waiting token with the positions (indexes into its `originals`) whose original is not
//     safe: the caller refuses those records (nothing is acked that may not be stored) and acks
//     the rest (their originals are safe).
//   * Cost: take_safe() is O(waiting batches + originals checked); the caller bounds the number
//     of waiting batches with ack_tracker's admission (every waiting batch holds a slot).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "actors/logic/publisher_dedup.hpp"

namespace tandem::logic {

class duplicate_waits {
public:
  struct original {
    std::string publisher;
    std::uint64_t publisher_seq = 0;
  };
  struct lost {
    std::uint64_t token = 0;
    std::vector<std::size_t> unsafe; // indexes into the originals given to wait()
  };

  void wait(std::uint64_t token, std::vector<original> originals);
  std::vector<std::uint64_t> take_safe(const publisher_dedup& marks);
  std::vector<lost> take_on_write_error(const publisher_dedup& marks);

  std::size_t size() const noexcept { return waiting_.size(); }
  bool empty() const noexcept { return waiting_.empty(); }

  // True when every original is safe (an empty list is).
  static bool all_safe(const std::vector<original>& originals, const publisher_dedup& marks);
  // Indexes (ascending) of the originals that are not safe.
  static std::vector<std::size_t> unsafe_positions(const std::vector<original>& originals,
                                                   const publisher_dedup& marks);

private:
  struct entry {
    std::uint64_t token;
    std::vector<original> originals;
    std::size_t checked = 0; // originals[0, checked) were safe at the last look (marks only rise)
  };
  std::deque<entry> waiting_;
};

} // namespace tandem::logic
