// Journal recovery (journal::open) over arbitrary segment bytes. The input describes a journal
// directory: 1-3 segment files (first seq chosen by the input) made of chunks, each chunk either
// raw bytes or bytes the harness turns into a checksummed record (optionally with the seq the
// journal expects there), an optional "base" file, an optional "positions" file and an optional
// "skipped" file (ranges skipped after a host crash: well-formed from input ranges, or raw bytes).
// Properties: open() either fails with an error or yields a journal whose records read back
// densely (stepping only over skipped ranges) and in order up to durable_seq(), scan_durable() agrees, one more record can be
// appended and made durable, and reopening that repaired journal succeeds with the same end.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "journal/journal.hpp"
#include "journal/reader.hpp"
#include "journal/segment.hpp"
#include "journal/seq_reservation.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tandem::journal;

namespace {

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

journal_options options(const std::string& dir) {
  journal_options o;
  o.dir = dir;
  o.instance_name = "fuzz-a";
  o.segment_bytes = 64 * 1024;
  o.tail_window_bytes = 256 * 1024;
  o.destinations = {"fuzz-b"};
  return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string& dir = tandem::fuzz::scratch_dir();
  tandem::fuzz::clear_dir(dir);

  std::uint64_t first = in.ConsumeIntegralInRange<std::uint64_t>(1, 1000);
  const int segments = in.ConsumeIntegralInRange<int>(1, 3);
  for (int s = 0; s < segments && in.remaining_bytes() > 0; ++s) {
    std::string seg;
    std::uint64_t next_seq = first;
    const int chunks = in.ConsumeIntegralInRange<int>(0, 12);
    for (int c = 0; c < chunks && in.remaining_bytes() > 0; ++c) {
      const std::uint8_t how = in.ConsumeIntegral<std::uint8_t>();
      std::string chunk = in.ConsumeRandomLengthString(2048);
      if ((how & 1) && chunk.size() >= 52) {
        if (how & 2)
          for (int i = 0; i < 8; ++i)
            chunk[16 + static_cast<std::size_t>(i)] = static_cast<char>((next_seq >> (8 * i)) & 0xff);
        tandem::fuzz::seal_journal_record(chunk);
        ++next_seq;
      }
      seg += chunk;
    }
    write_file(dir + "/" + segment_file_name(first), seg);
    first = in.ConsumeBool() ? next_seq : in.ConsumeIntegralInRange<std::uint64_t>(1, 2000);
  }
  if (in.ConsumeBool())
    write_file(dir + "/base", in.ConsumeRandomLengthString(32));
  if (in.ConsumeBool())
    write_file(dir + "/positions", in.ConsumeRandomLengthString(256));
  if (in.ConsumeBool()) {
    if (in.ConsumeBool()) {
      std::vector<seq_range> ranges;
      const int n = in.ConsumeIntegralInRange<int>(1, 3);
      for (int i = 0; i < n; ++i) {
        const auto from = in.ConsumeIntegralInRange<std::uint64_t>(1, 3000);
        ranges = with_skipped(ranges, {from, from + in.ConsumeIntegralInRange<std::uint64_t>(0, 500)});
      }
      write_file(dir + "/" + skipped_file_name, encode_skipped(ranges));
    } else {
      write_file(dir + "/" + skipped_file_name, in.ConsumeRandomLengthString(256));
    }
  }

  std::uint64_t durable = 0;
  {
    auto opened = journal::open(options(dir));
    if (!opened)
      return 0; // refused with a reason: fine
    journal& j = **opened;
    durable = j.durable_seq();
    const std::uint64_t from = j.first_seq();
    FUZZ_CHECK(from <= durable + 1, "first_seq beyond the durable end");
    auto cur = j.open_cursor(from);
    FUZZ_CHECK(cur.ok(), "cannot open a cursor at first_seq");
    std::uint64_t expect = from, records = 0;
    for (;;) {
      auto batch = cur.value().read(64, 1 << 20);
      if (!batch)
        return 0; // a damaged record found while reading is reported, not served: fine
      if (batch.value().empty())
        break;
      for (const auto& r : batch.value()) {
        FUZZ_CHECK(r.seq == j.past_skipped(expect), "records not dense (but for skipped ranges) and in order");
        expect = r.seq + 1;
        ++records;
      }
    }
    FUZZ_CHECK(j.past_skipped(expect) == durable + 1, "cursor did not reach durable_seq");
    std::uint64_t scanned = 0;
    if (j.scan_durable([&](std::string_view) { ++scanned; }).ok())
      FUZZ_CHECK(scanned == records, "scan_durable count differs from the cursor's");

    record r;
    r.publisher = "fuzz-pub";
    r.publisher_seq = 1;
    r.topic = "t";
    r.payload = "after recovery";
    auto appended = j.append(std::span<const record>(&r, 1));
    FUZZ_CHECK(appended.ok(), "append after recovery failed");
    auto synced = j.sync();
    FUZZ_CHECK(synced.ok() && synced.value() == durable + 1, "sync after recovery failed");
    durable = synced.value();
  }
  auto reopened = journal::open(options(dir));
  FUZZ_CHECK(reopened.ok(), "a journal that recovered and took an append does not reopen");
  FUZZ_CHECK((*reopened)->durable_seq() == durable, "reopen changed the durable end");
  return 0;
}
