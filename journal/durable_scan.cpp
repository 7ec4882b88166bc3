// journal::scan_durable: one sequential pass over the durable records (see journal.hpp).
#include <cerrno>

#include "journal/journal.hpp"
#include "journal/segment.hpp"

namespace tandem::journal {

status journal::scan_durable(const std::function<void(std::string_view record)>& visit) const {
  const std::uint64_t durable = durable_seq();
  const status stopped{errc::stopped, "the node is shutting down"};
  for (const auto& seg : segments()) {
    if (seg.last_seq < seg.first_seq || seg.first_seq > durable)
      continue; // empty, or nothing durable in it yet
    if (scans_stopped())
      return stopped;
    auto file = fs_.open_readable(seg.path);
    if (!file) {
      if (file.error().sys_errno() == ENOENT)
        return status{errc::trimmed, seg.path + " was removed by retention during the scan"};
      return file.error();
    }
    auto scan = scan_segment(
      **file, seg.first_seq,
      [&](std::uint64_t, std::string_view rec) {
        if (peek_seq(rec) <= durable)
          visit(rec);
      },
      &scans_stopped_);
    if (!scan)
      return scan.error();
    if (scan->stopped)
      return stopped;
    // Bytes past the durable end of the active segment may be a write in progress; anything
    // wrong before it is damage.
    if (scan->end != scan_end::clean && scan->bad_offset < seg.bytes)
      return status{errc::corruption, seg.path + " offset " + std::to_string(scan->bad_offset) + ": " + scan->reason};
  }
  return {};
}

} // namespace tandem::journal
