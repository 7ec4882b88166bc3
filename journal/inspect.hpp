// Offline inspection, called by `tandemd journal verify DIR` and `tandemd journal dump DIR
// [--from SEQ]`. Both are read-only: they take no lock, truncate nothing and may run next to a
// live node (they then see a possibly torn tail, which they report as such).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "journal/errc.hpp"
#include "journal/file_io.hpp"

namespace tandem::journal {

// Scans every segment completely (sidecars are checked against the scan, not trusted) and prints
// one line per segment: name, bytes, record count, seq range, sidecar state; then the retention
// positions. Returns errc::corruption naming the file and byte offset of the first corruption (a
// torn tail of the last segment is reported but is not an error: open() would truncate it).
status verify(const std::string& dir, std::ostream& out, file_system* fs = nullptr);

// Prints one line per record with seq >= from_seq:
//   seq=5 origin=a origin_seq=5 publisher=p pub_seq=3 path=a,b ts=1700000000000000000 topic=t size=12 preview="hello world."
// Non-printable payload bytes show as '.', the preview holds at most 32 bytes. Stops with
// errc::corruption at the first corrupt record.
status dump(const std::string& dir, std::uint64_t from_seq, std::ostream& out, file_system* fs = nullptr);

} // namespace tandem::journal
