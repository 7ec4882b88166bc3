// The admin listener's HTTP request parser (protocol/http_request.hpp): the input is a small max
// head size, cut points, then the byte stream. Properties: the outcome and the request do not
// depend on how the stream is cut into reads; the parser never holds more than max_head_bytes;
// an accepted request has a method, a target starting with '/' and a known version.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "protocol/http_request.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace tandem::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::size_t max_head = in.ConsumeBool() ? http_request_parser::default_max_head_bytes
                                                : in.ConsumeIntegralInRange<std::size_t>(1, 512);
  std::vector<std::size_t> cuts(in.ConsumeIntegralInRange<std::size_t>(0, 12));
  for (auto& c : cuts)
    c = in.ConsumeIntegralInRange<std::size_t>(0, 32);
  const std::string stream = in.ConsumeRemainingBytesAsString();

  http_request_parser whole{max_head};
  const auto whole_state = whole.feed(stream);

  http_request_parser split{max_head};
  std::size_t pos = 0;
  for (std::size_t i = 0; split.state() == http_parse_state::incomplete && pos < stream.size(); ++i) {
    std::size_t n = i < cuts.size() ? cuts[i] : stream.size() - pos;
    n = std::min(n, stream.size() - pos);
    split.feed(std::string_view{stream}.substr(pos, n));
    pos += n;
  }
  FUZZ_CHECK(split.state() == whole_state, "the outcome depends on how the stream was cut");
  if (whole_state != http_parse_state::complete)
    return 0;
  const auto& a = whole.request();
  const auto& b = split.request();
  FUZZ_CHECK(a.method == b.method && a.target == b.target && a.query == b.query && a.version == b.version,
             "the request depends on how the stream was cut");
  FUZZ_CHECK(!a.method.empty() && !a.target.empty() && a.target[0] == '/', "accepted a request without method or path");
  FUZZ_CHECK(a.version == "HTTP/1.0" || a.version == "HTTP/1.1", "accepted an unknown version");
  return 0;
}
