// Sequential reading of durable records from any seq.
//
// A cursor serves records from the journal's tail window while its position is inside the window
// (tailing readers cost no disk I/O), and otherwise from the segment files through its own file
// handle, catching up until it is back inside the window. It never blocks the writer: the only
// shared state it touches is the window (copying pointers under its lock) and the segment list
// (a short lookup under a lock never held around I/O).
//
// Contract: one thread per cursor; the journal outlives the cursor. read() returns only records
// with seq <= journal::durable_seq() at the time of the call, densely and in order; an empty
// vector means the cursor is caught up. A record that retention removed while the cursor was
// behind yields errc::trimmed (the replication layer then resynchronises).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "journal/errc.hpp"
#include "journal/file_io.hpp"
#include "journal/journal.hpp"
#include "journal/record_codec.hpp"
#include "journal/tail_window.hpp"

namespace tandem::journal {

class cursor {
public:
  cursor(cursor&&) noexcept = default;
  cursor& operator=(cursor&&) noexcept = default;

  // Up to max_records records and about max_bytes of encoded records (at least one record when
  // any is available, however large).
  result<std::vector<record>> read(std::size_t max_records, std::size_t max_bytes);
  // The same records, encoded and undecoded: slices of the window's chunks while the cursor is
  // inside the window (shared, nothing copied), or one chunk of this cursor's own holding the
  // bytes read from disk. For readers that forward records (replication links).
  result<std::vector<chunk_slice>> read_slices(std::size_t max_records, std::size_t max_bytes);
  // read_slices() when the window serves it (no disk I/O: safe on any thread); nullopt when the
  // cursor is behind the window and must read segment files (do that with read_slices() on a
  // thread that may block).
  std::optional<std::vector<chunk_slice>> read_window_slices(std::size_t max_records, std::size_t max_bytes);
  // read_window_slices() up to `up_to` instead of the durable seq: a sync link reading written
  // records up to journal::sendable_seq() (seq reservation). `up_to` above sendable_seq() is
  // taken as sendable_seq().
  std::optional<std::vector<chunk_slice>> read_window_slices_up_to(std::size_t max_records, std::size_t max_bytes,
                                                                  std::uint64_t up_to);
  std::uint64_t next_seq() const noexcept { return next_; }

  // Counters for tests and metrics: how many read() calls were served from memory vs disk.
  std::uint64_t window_reads() const noexcept { return window_reads_; }
  std::uint64_t disk_reads() const noexcept { return disk_reads_; }
  // Encoded record bytes this cursor read from segment files (not from the window).
  std::uint64_t disk_bytes() const noexcept { return disk_bytes_; }

private:
  friend class journal;
  cursor(const journal& j, std::uint64_t next) : j_(&j), next_(next), mark_(j.window_.track(next)) {}
  // Tells the window where this cursor is (tail_window::track), after every read.
  struct publish_position {
    cursor& c;
    ~publish_position() {
      if (c.mark_) c.mark_->store(c.next_, std::memory_order_relaxed);
    }
  };
  // Appends the encoded records read from disk to `out` (first_seq must be set).
  status read_from_disk(std::uint64_t durable, std::size_t max_records, std::size_t max_bytes, record_chunk& out);
  result<std::string_view> view(std::uint64_t off, std::size_t n); // bytes of the open segment

  const journal* j_;
  std::uint64_t next_;
  std::shared_ptr<tail_window::reader_mark> mark_; // null only in a moved-from cursor
  std::uint64_t window_reads_ = 0;
  std::uint64_t disk_reads_ = 0;
  std::uint64_t disk_bytes_ = 0;
  // Disk position: the open segment, and the offset of record pos_seq_ in it.
  std::unique_ptr<readable_file> file_;
  std::uint64_t file_first_seq_ = 0;
  std::uint64_t pos_seq_ = 0;
  std::uint64_t pos_off_ = 0;
  std::string buf_; // bounded by max(read chunk, largest record)
  std::uint64_t buf_start_ = 0;
};

} // namespace tandem::journal
