// Encoding and decoding of whole frames: pure functions over bytes. decode() never reads outside
// its input and never allocates more than a small multiple of the frame's size, whatever the
// frame declares. For record batches on the hot path see batch.hpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "protocol/frame.hpp"
#include "protocol/messages.hpp"
#include "protocol/result.hpp"

namespace tandem::protocol {

// Bytes appended on success.
using encode_result = result<std::size_t>;
using decode_result = result<message>;

// Appends exactly one frame to `out`. Errors: field_too_long (string > 65535 bytes, bytes >
// 4 GiB - 1, path > 255 entries), frame_too_large (length would exceed max_frame_bytes),
// empty_batch. On error `out` is left as it was.
encode_result encode(const message& m, std::string& out,
                     std::size_t max_frame_bytes = default_max_frame_bytes);

// Decodes exactly one frame, header included (e.g. what frame_reader::next() returns).
// Errors: those of split_frame(), then field_overrun, trailing_bytes, bad_value, empty_batch,
// each with a message naming the frame type and the field.
decode_result decode(std::string_view frame, std::size_t max_frame_bytes = default_max_frame_bytes);

} // namespace tandem::protocol
