// protocol/record_size.hpp: the size arithmetic the client listener's admission check relies on
// (actors/logic/publish_admission.hpp) must equal what batch_encoder writes, byte for byte, and
// a frame of exactly that length must be accepted while one byte less of limit refuses it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "protocol/batch.hpp"
#include "protocol/record_size.hpp"

using namespace tandem::protocol;

namespace {

record_shape shape_of(const record_view& r) {
  record_shape s;
  s.origin_bytes = r.origin_instance.size();
  s.publisher_bytes = r.publisher_id.size();
  s.path_entries = r.path.size();
  for (auto p : r.path)
    s.path_bytes += p.size();
  s.topic_bytes = r.topic.size();
  s.payload_bytes = r.payload.size();
  return s;
}

// The length field of the frame batch_encoder builds for `r` alone (0 when it cannot).
std::size_t encoded_length(const record_view& r, std::size_t max_frame_bytes) {
  std::string out;
  batch_encoder enc{max_frame_bytes};
  enc.begin(out);
  if (!enc.add(r)) {
    enc.abandon();
    return 0;
  }
  auto done = enc.finish();
  REQUIRE(done);
  REQUIRE(out.size() == done.value());
  return out.size() - frame_header_bytes;
}

} // namespace

TEST_CASE("record size: the arithmetic equals the encoder's output for every field length") {
  const std::string name_a = "A", name_long(64, 'n'), topic(300, 't'), payload(5000, 'p');
  const std::vector<std::vector<std::string_view>> paths{{}, {name_a}, {name_a, name_long}, {name_long, name_long, name_a}};
  for (const auto& path : paths)
    for (std::string_view origin : {std::string_view{name_a}, std::string_view{name_long}})
      for (std::size_t publisher_len : {0u, 1u, 255u})
        for (std::size_t topic_len : {0u, 1u, 300u})
          for (std::size_t payload_len : {0u, 1u, 960u, 5000u}) {
            const std::string publisher(publisher_len, 'q');
            record_view r{7, origin, 9, publisher, 11, -5, path,
                          std::string_view{topic}.substr(0, topic_len), std::string_view{payload}.substr(0, payload_len)};
            CHECK(single_record_batch_length(shape_of(r)) == encoded_length(r, default_max_frame_bytes));
            CHECK(batch_record_bytes(shape_of(r)) + batch_header_bytes - frame_header_bytes
                  == single_record_batch_length(shape_of(r)));
          }
}

TEST_CASE("record size: the worked example of the header, at the limit and at limit+1") {
  const std::vector<std::string_view> path{"A"};
  const std::string fits(959, 'x'), over(960, 'x');
  record_view at{1, "A", 1, "p1", 1, 0, path, "frame-limit", fits};
  record_view above{1, "A", 1, "p1", 1, 0, path, "frame-limit", over};
  CHECK(single_record_batch_length(shape_of(at)) == 1024);
  CHECK(single_record_batch_length(shape_of(above)) == 1025);
  // max_frame_bytes bounds the length field: exactly 1024 is accepted, 1025 refused.
  CHECK(encoded_length(at, 1024) == 1024);
  CHECK(encoded_length(above, 1024) == 0);
  CHECK(encoded_length(above, 1025) == 1025);
}
