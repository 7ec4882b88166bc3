// Exact wire size of a record in a record_batch frame (field list: protocol/fields.hpp,
// apply_record; spec: docs/protocol.md, record_batch), computed from the field lengths alone, for
// a check that must know before anything is encoded or stored whether a record can travel in one
// frame: the client listener refuses a publish that no link could send (docs/protocol.md,
// publish). tests/protocol/record_size_test.cpp holds it equal to what batch_encoder writes.
//
// Worked example: origin "A", publisher "p", path ["A"], topic "t", payload of 960 bytes:
//   record = 8 seq + (2+1) origin + 8 origin_seq + (2+1) publisher + 8 publisher_seq
//            + 8 timestamp + (1 + 2+1) path + (2+1) topic + (4+960) payload = 1009 bytes
//   length = 1 type + 4 count + 1009 = 1014 (<= max_frame_bytes 1024: fits; with a 971-byte
//   payload length is 1025 and it does not).
#pragma once

#include <cstddef>

namespace tandem::protocol {

// The lengths of a record's variable fields (bytes; path_bytes is the sum of its entries' lengths).
struct record_shape {
  std::size_t origin_bytes = 0;
  std::size_t publisher_bytes = 0;
  std::size_t path_entries = 0;
  std::size_t path_bytes = 0;
  std::size_t topic_bytes = 0;
  std::size_t payload_bytes = 0;
};

// Bytes of the record inside a record_batch: fixed fields (seq, origin_seq, publisher_seq,
// timestamp_ns: 8 each), a u16 length per string, a u8 path count, a u32 payload length.
constexpr std::size_t batch_record_bytes(const record_shape& r) noexcept {
  return 8 + (2 + r.origin_bytes) + 8 + (2 + r.publisher_bytes) + 8 + 8 + (1 + 2 * r.path_entries + r.path_bytes)
         + (2 + r.topic_bytes) + (4 + r.payload_bytes);
}

// The `length` field (type byte + count + record; what max_frame_bytes bounds) of a record_batch
// frame that holds this record alone. The frame occupies 4 more bytes on the wire.
constexpr std::size_t single_record_batch_length(const record_shape& r) noexcept {
  return 1 + 4 + batch_record_bytes(r);
}

} // namespace tandem::protocol
