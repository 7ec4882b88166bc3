// The frame reader (protocol/frame_reader.hpp) over an arbitrary byte stream cut into arbitrary
// reads, with a small max_frame_bytes so that the limit is reached. Properties: the frames it
// returns are exactly the ones peek_frame() finds in the unsplit stream, in order; the error (if
// any) comes where peek_frame() says; the buffer never holds more than a partial frame plus the
// last read; wanted() is consistent with next(). Every frame is also decoded (any decoder).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "protocol/batch.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame_reader.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace tandem::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::size_t max_frame = in.ConsumeIntegralInRange<std::size_t>(1, 4096);
  const std::size_t n_cuts = in.ConsumeIntegralInRange<std::size_t>(0, 16);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < n_cuts; ++i)
    cuts.push_back(in.ConsumeIntegralInRange<std::size_t>(0, 64));
  const std::string stream = in.ConsumeRemainingBytesAsString();

  // The reference: peek_frame over the whole stream.
  std::vector<std::string_view> expected;
  bool expect_error = false;
  for (std::string_view rest = stream;;) {
    auto p = peek_frame(rest, max_frame);
    if (auto* ready = std::get_if<frame_ready>(&p)) {
      expected.push_back(rest.substr(0, ready->size));
      rest.remove_prefix(ready->size);
      continue;
    }
    expect_error = std::holds_alternative<protocol_error>(p);
    break;
  }

  frame_reader reader{max_frame};
  std::size_t got = 0;
  std::size_t pos = 0;
  std::size_t cut_index = 0;
  auto drain = [&] {
    for (;;) {
      bool ready = reader.wanted() == 0; // also 0 once failed (nothing more to read)
      auto f = reader.next();
      FUZZ_CHECK(reader.failed() || ready == f.has_value(), "wanted() == 0 exactly when next() has a frame");
      if (!f)
        break;
      FUZZ_CHECK(got < expected.size() && *f == expected[got], "frame differs from peek_frame's");
      ++got;
      (void)decode(*f, max_frame);
      if (!f->empty() && f->size() > 4 && static_cast<std::uint8_t>((*f)[4]) == 0x02)
        (void)decode_batch(*f, max_frame);
    }
  };
  while (pos < stream.size()) {
    std::size_t n = cut_index < cuts.size() ? cuts[cut_index++] : stream.size() - pos;
    n = std::min(n, stream.size() - pos);
    std::string_view chunk{stream.data() + pos, n};
    pos += n;
    bool ok = reader.feed(chunk);
    FUZZ_CHECK(ok == !reader.failed(), "feed() result and failed() disagree");
    if (!ok)
      break;
    FUZZ_CHECK(reader.buffered() <= 4 + max_frame + chunk.size() + (expected.size() - got) * (4 + max_frame),
               "buffer holds more than the frames not yet taken plus one partial frame");
    drain();
  }
  if (!reader.failed())
    drain();
  if (reader.failed()) {
    FUZZ_CHECK(expect_error, "reader failed where peek_frame found no error");
    drain(); // frames before the error are still returned
    FUZZ_CHECK(got == expected.size(), "frames before the error were lost");
  } else {
    FUZZ_CHECK(got == expected.size(), "reader returned other frames than peek_frame");
    FUZZ_CHECK(!expect_error || pos < stream.size(), "reader missed a bad header");
  }
  return 0;
}
