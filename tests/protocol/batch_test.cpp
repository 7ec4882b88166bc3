// protocol/batch.hpp: record-at-a-time encoding, zero-copy validated iteration, and the
// count checks that keep a hostile batch from driving allocations or loops.
#include <doctest/doctest.h>

#include "protocol/batch.hpp"
#include "protocol/codec.hpp"
#include "message_samples.hpp"

using namespace tandem::protocol;
namespace s = tandem::protocol::samples;

namespace {

void set_u32(std::string& f, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    f[at + i] = static_cast<char>(v >> (8 * i));
}

// The smallest valid record: zeros and empty fields, origin "o" (an instance name is never empty).
record min_record() {
  record r;
  r.origin_instance = "o";
  return r;
}

record_view min_record_view() {
  record_view r;
  r.origin_instance = "o";
  return r;
}

// Frame of a batch with one minimal record: header, type, count, then 44 record bytes.
std::string one_min_record_batch() {
  std::string out;
  REQUIRE(encode(record_batch{{min_record()}}, out).ok());
  REQUIRE(out.size() == 4 + 1 + 4 + 44);
  return out;
}

} // namespace

TEST_CASE("batch_encoder output equals encode() of the same records") {
  s::random_messages gen{5};
  std::vector<record> recs;
  for (int i = 0; i < 50; ++i)
    recs.push_back(gen.rec());
  std::string expect;
  REQUIRE(encode(record_batch{recs}, expect).ok());

  std::string out = "x";
  batch_encoder enc;
  enc.begin(out);
  for (const auto& r : recs) {
    std::vector<std::string_view> path(r.path.begin(), r.path.end());
    REQUIRE(enc.add({r.seq, r.origin_instance, r.origin_seq, r.publisher_id, r.publisher_seq,
                     r.timestamp_ns, path, r.topic, r.payload})
              .ok());
  }
  CHECK(enc.record_count() == 50);
  auto fin = enc.finish();
  REQUIRE(fin.ok());
  CHECK(fin.value() == expect.size());
  CHECK(out == "x" + expect);
  CHECK_FALSE(enc.active());
}

TEST_CASE("decode_batch iterates views into the frame without copying") {
  s::random_messages gen{6};
  record_batch b;
  for (int i = 0; i < 20; ++i)
    b.records.push_back(gen.rec());
  std::string frame;
  REQUIRE(encode(b, frame).ok());
  auto view = decode_batch(frame);
  REQUIRE(view.ok());
  CHECK(view.value().size() == 20);
  auto cur = view.value().cursor();
  std::size_t i = 0;
  while (const record_view* r = cur.next()) {
    REQUIRE(i < b.records.size());
    CHECK(to_record(*r) == b.records[i]);
    const char* lo = frame.data();
    const char* hi = frame.data() + frame.size();
    CHECK((r->payload.empty() || (r->payload.data() >= lo && r->payload.data() < hi)));
    CHECK((r->topic.empty() || (r->topic.data() >= lo && r->topic.data() < hi)));
    ++i;
  }
  CHECK(i == 20);
  CHECK(cur.next() == nullptr);
}

TEST_CASE("decode_batch refuses other frame types") {
  std::string frame;
  REQUIRE(encode(heartbeat{1}, frame).ok());
  CHECK(decode_batch(frame).code() == errc::bad_value);
}

TEST_CASE("a record that would overflow the frame is refused and the batch stays valid") {
  const std::string payload(290, 'p'); // 44 + 290 bytes a record; 5 + 3 * 334 <= 1024
  batch_encoder enc{1024};
  std::string out;
  enc.begin(out);
  record_view r = min_record_view();
  r.payload = payload;
  int added = 0;
  for (;;) {
    auto res = enc.add(r);
    if (!res) {
      CHECK(res.code() == errc::frame_too_large);
      CHECK(res.error().message.find("record_batch: records[3].") == 0);
      break;
    }
    ++added;
  }
  CHECK(added == 3);
  REQUIRE(enc.finish().ok());
  auto d = decode(out, 1024);
  REQUIRE(d.ok());
  CHECK(std::get<record_batch>(d.value()).records.size() == 3);
}

TEST_CASE("a record with a too-long field is dropped whole and later records still fit") {
  const std::string long_topic(70000, 't');
  batch_encoder enc;
  std::string out;
  enc.begin(out);
  record_view good = min_record_view();
  good.topic = "ok";
  record_view bad = min_record_view();
  bad.topic = long_topic;
  REQUIRE(enc.add(good).ok());
  auto res = enc.add(bad);
  REQUIRE_FALSE(res.ok());
  CHECK(res.code() == errc::field_too_long);
  REQUIRE(enc.add(good).ok());
  REQUIRE(enc.finish().ok());
  auto d = decode(out);
  REQUIRE(d.ok());
  CHECK(std::get<record_batch>(d.value()).records.size() == 2);
}

TEST_CASE("finish without records is empty_batch and removes the partial frame") {
  std::string out = "keep";
  batch_encoder enc;
  enc.begin(out);
  auto res = enc.finish();
  REQUIRE_FALSE(res.ok());
  CHECK(res.code() == errc::empty_batch);
  CHECK(out == "keep");
}

TEST_CASE("abandon removes the partial frame") {
  std::string out = "keep";
  batch_encoder enc;
  enc.begin(out);
  REQUIRE(enc.add(min_record_view()).ok());
  enc.abandon();
  CHECK(out == "keep");
}

TEST_CASE("a record count that cannot fit in the remaining bytes is refused before allocating") {
  std::string f = one_min_record_batch();
  for (std::uint32_t count : {2u, 1000u, 0xffffffffu}) {
    CAPTURE(count);
    set_u32(f, 5, count);
    auto d = decode(f);
    REQUIRE_FALSE(d.ok());
    CHECK(d.code() == errc::field_overrun);
    CHECK(d.error().message.find("record_batch: count: count") == 0);
  }
}

TEST_CASE("a path count that cannot fit in the remaining bytes is refused") {
  std::string f = one_min_record_batch();
  // Record layout: seq 8, origin_instance 2 + 1, origin_seq 8, publisher_id 2, publisher_seq 8,
  // timestamp 8, then the u8 path count.
  const std::size_t path_at = 9 + 8 + 3 + 8 + 2 + 8 + 8;
  REQUIRE(f[path_at] == '\0');
  f[path_at] = '\x20'; // 32 entries (the most allowed) need >= 64 bytes; 6 remain
  auto d = decode(f);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::field_overrun);
  CHECK(d.error().message == "record_batch: records[0].path: 32 entries cannot fit in 6 remaining bytes");
  f[path_at] = '\xff'; // over the limit: refused for that before the bytes are counted
  CHECK(decode(f).code() == errc::field_too_long);
  f[path_at] = '\x03'; // 3 entries need 6 bytes, fits the count check; the first is empty
  CHECK(decode(f).error().message == "record_batch: records[0].path: entry 0: an instance name must not be empty");
}

TEST_CASE("a field error inside a batch names the record index") {
  record_batch b{{min_record(), min_record()}};
  b.records[1].topic = "abc";
  std::string f;
  REQUIRE(encode(b, f).ok());
  // The topic length of record 1 sits 2+4+3 bytes before the end (len, payload len, "abc").
  f[f.size() - 4 - 3 - 2] = '\x09';
  auto d = decode(f);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::field_overrun);
  CHECK(d.error().message.find("record_batch: records[1].topic:") == 0);
}
