// The journal record codec (journal/record_codec.hpp) over arbitrary bytes. The first input byte
// chooses whether the harness seals the rest (own size as length, correct checksum) so that the
// field checks behind the checksum get exercised too. Properties: check_record never reads past
// the buffer; an accepted record decodes, passes validate_record, re-encodes to the same bytes,
// and the peek_* helpers agree with the decoded fields.
#include <cstddef>
#include <cstdint>
#include <string>

#include "journal/record_codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tandem::journal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::string buf(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1)
    tandem::fuzz::seal_journal_record(buf);
  auto checked = check_record(buf);
  if (checked.outcome != check_outcome::ok)
    return 0;
  FUZZ_CHECK(checked.length <= buf.size(), "accepted length runs past the buffer");
  std::string_view rec{buf.data(), checked.length};
  record r = decode_record(rec);
  FUZZ_CHECK(validate_record(r).ok(), "an accepted record fails validate_record");
  FUZZ_CHECK(encoded_size(r) == checked.length, "encoded_size differs from the record's length");
  std::string again;
  encode_record(r, again);
  FUZZ_CHECK(again == rec, "re-encoding gives other bytes");
  FUZZ_CHECK(peek_seq(rec) == r.seq && peek_timestamp(rec) == r.timestamp_ns &&
                 peek_origin_seq(rec) == r.origin_seq && peek_origin(rec) == r.origin &&
                 peek_publisher_seq(rec) == r.publisher_seq && peek_publisher(rec) == r.publisher,
             "a peek differs from the decoded field");
  return 0;
}
