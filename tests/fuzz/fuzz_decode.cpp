// Every message decoder (protocol/codec.hpp): the input is a frame's type byte and body; the
// harness prepends the length so that the fuzzer spends its time inside the bodies. Properties:
// decode never reads out of bounds (ASan), and whatever decodes re-encodes to the same bytes
// (the wire format is canonical) and decodes again to an equal message; a compressed_batch that
// decodes is decompressed within its declared size and its content checked as a record_batch.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/batch.hpp"
#include "protocol/codec.hpp"
#include "protocol/compression.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace tandem::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > default_max_frame_bytes)
    return 0;
  std::string frame(4, '\0');
  auto length = static_cast<std::uint32_t>(size);
  for (int i = 0; i < 4; ++i)
    frame[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  frame.append(reinterpret_cast<const char*>(data), size);

  auto decoded = decode(frame);
  // The zero-copy batch decoder must agree with the owning one on every record_batch frame.
  if (data[0] == static_cast<std::uint8_t>(frame_type::record_batch)) {
    auto batch = decode_batch(frame);
    FUZZ_CHECK(batch.ok() == decoded.ok(), "decode_batch and decode disagree on validity");
    if (batch.ok()) {
      const auto& owned = std::get<record_batch>(decoded.value()).records;
      FUZZ_CHECK(batch.value().size() == owned.size(), "record counts differ");
      auto cursor = batch.value().cursor();
      for (const auto& r : owned) {
        const record_view* v = cursor.next();
        FUZZ_CHECK(v != nullptr, "cursor ended early");
        FUZZ_CHECK(to_record(*v) == r, "cursor record differs from decoded record");
      }
      FUZZ_CHECK(cursor.next() == nullptr, "cursor returned more records than the count");
    }
  }
  if (!decoded.ok())
    return 0;
  // compressed_batch (1.7): decompression stays within the declared size, and what it restores
  // is judged by decode_batch like any plain frame (never trusted, never out of bounds).
  if (const auto* c = std::get_if<compressed_batch>(&decoded.value())) {
    auto plain = decompress_batch(*c, supported_decompression);
    if (plain.ok()) {
      FUZZ_CHECK(plain.value().size() == 4 + c->uncompressed_bytes, "restored frame of another size than declared");
      (void)decode_batch(plain.value());
    }
  }
  FUZZ_CHECK(type_of(decoded.value()) == static_cast<frame_type>(data[0]), "decoded another type");
  std::string again;
  auto encoded = encode(decoded.value(), again);
  FUZZ_CHECK(encoded.ok(), "a decoded message does not encode");
  FUZZ_CHECK(again == frame, "re-encoding gives other bytes (non-canonical decode)");
  auto redecoded = decode(again);
  FUZZ_CHECK(redecoded.ok() && redecoded.value() == decoded.value(), "round trip changed the message");
  return 0;
}
