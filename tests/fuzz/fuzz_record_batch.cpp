// record_batch frames through the hot-path decoder (protocol/batch.hpp): decode_batch validates
// once, then iteration must not fail or over-read; the records re-encode with batch_encoder and
// with encode_batch_record + batch_header to the same frame. The input is the body after the
// type byte (the harness adds length and type).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/batch.hpp"
#include "protocol/codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace tandem::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size + 1 > default_max_frame_bytes)
    return 0;
  std::string frame(4, '\0');
  auto length = static_cast<std::uint32_t>(size + 1);
  for (int i = 0; i < 4; ++i)
    frame[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  frame.push_back(static_cast<char>(frame_type::record_batch));
  frame.append(reinterpret_cast<const char*>(data), size);

  auto batch = decode_batch(frame);
  if (!batch.ok())
    return 0;
  std::string via_encoder;
  std::string records_bytes;
  batch_encoder enc;
  enc.begin(via_encoder);
  auto cursor = batch.value().cursor();
  std::uint32_t n = 0;
  while (const record_view* v = cursor.next()) {
    ++n;
    FUZZ_CHECK(enc.add(*v).ok(), "a decoded record does not re-encode");
    FUZZ_CHECK(encode_batch_record(*v, records_bytes).ok(), "encode_batch_record refused a decoded record");
  }
  FUZZ_CHECK(n == batch.value().size(), "cursor count differs from the batch count");
  FUZZ_CHECK(enc.finish().ok(), "batch_encoder::finish failed");
  FUZZ_CHECK(via_encoder == frame, "batch_encoder gives other bytes");
  auto header = batch_header(n, records_bytes.size());
  FUZZ_CHECK(header.ok() && header.value() + records_bytes == frame, "batch_header + records differ");
  return 0;
}
