// Round trips and the named decode/encode failures of protocol/codec.hpp.
#include <doctest/doctest.h>

#include <cstring>

#include "protocol/codec.hpp"
#include "protocol/version.hpp"
#include "message_samples.hpp"

using namespace tandem::protocol;
namespace s = tandem::protocol::samples;

namespace {

std::string encoded(const message& m, std::size_t max = default_max_frame_bytes) {
  std::string out;
  auto r = encode(m, out, max);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  REQUIRE(r.value() == out.size());
  return out;
}

void check_round_trip(const message& m) {
  CAPTURE(frame_type_name(type_of(m)));
  const std::string frame = encoded(m);
  CHECK(static_cast<std::uint8_t>(frame[4]) == static_cast<std::uint8_t>(type_of(m)));
  auto d = decode(frame);
  REQUIRE_MESSAGE(d.ok(), d.error().message);
  CHECK(d.value() == m);
}

void set_length(std::string& frame, std::uint32_t len) {
  for (int i = 0; i < 4; ++i)
    frame[i] = static_cast<char>(len >> (8 * i));
}

std::string header(std::uint32_t len) {
  std::string h(4, '\0');
  set_length(h, len);
  return h;
}

} // namespace

TEST_CASE("every message type round-trips at its minimum values") {
  for (const auto& m : s::min_messages())
    check_round_trip(m);
}

TEST_CASE("every message type round-trips at its maximum values") {
  for (const auto& m : s::max_messages())
    check_round_trip(m);
}

TEST_CASE("random messages of every type round-trip (seeded)") {
  s::random_messages gen{0x7a4de3};
  for (int i = 0; i < 3000; ++i)
    check_round_trip(gen.make(static_cast<std::size_t>(i)));
}

TEST_CASE("encode appends after existing bytes and frames decode back to back") {
  std::string out = "prefix";
  heartbeat hb{42};
  durable_ack ack{7};
  REQUIRE(encode(hb, out).ok());
  REQUIRE(encode(ack, out).ok());
  std::string_view rest = std::string_view{out}.substr(6);
  auto first = peek_frame(rest);
  REQUIRE(std::holds_alternative<frame_ready>(first));
  const auto n = std::get<frame_ready>(first).size;
  CHECK(std::get<heartbeat>(decode(rest.substr(0, n)).value()) == hb);
  CHECK(std::get<durable_ack>(decode(rest.substr(n)).value()) == ack);
}

TEST_CASE("wire layout of a heartbeat is length, type, little-endian u64") {
  std::string out;
  REQUIRE(encode(heartbeat{0x0102030405060708}, out).ok());
  const std::string expect{"\x09\x00\x00\x00\x04\x08\x07\x06\x05\x04\x03\x02\x01", 13};
  CHECK(out == expect);
}

TEST_CASE("the worked hello example of docs/protocol.md is byte exact") {
  std::string out;
  REQUIRE(encode(hello{1, 0, "a", "g", 5, "", 7, {}}, out).ok());
  const std::string expect{"\x1f\x00\x00\x00"  // length 31
                           "\x01"              // type hello
                           "\x01\x00\x00\x00"  // 1.0
                           "\x01\x00"
                           "a"
                           "\x01\x00"
                           "g"
                           "\x05\x00\x00\x00\x00\x00\x00\x00"
                           "\x00\x00\x00\x00"
                           "\x07\x00\x00\x00\x00\x00\x00\x00",
                           35};
  CHECK(out == expect);
}

TEST_CASE("a declared length over the maximum is refused from the 4 header bytes alone") {
  const std::string h = header(1025);
  auto p = peek_frame(h, 1024);
  REQUIRE(std::holds_alternative<protocol_error>(p));
  CHECK(std::get<protocol_error>(p).code == errc::frame_too_large);
  CHECK(decode(h, 1024).code() == errc::frame_too_large);
  // Exactly the maximum is fine (and just needs its bytes).
  auto at_max = peek_frame(header(1024), 1024);
  REQUIRE(std::holds_alternative<need_more>(at_max));
  CHECK(std::get<need_more>(at_max).bytes == 1024);
  // The 16 MiB default.
  CHECK(std::holds_alternative<protocol_error>(peek_frame(header(16 * 1024 * 1024 + 1))));
  CHECK(std::holds_alternative<need_more>(peek_frame(header(16 * 1024 * 1024))));
}

TEST_CASE("length 0 is an empty_frame error") {
  auto p = peek_frame(header(0));
  REQUIRE(std::holds_alternative<protocol_error>(p));
  CHECK(std::get<protocol_error>(p).code == errc::empty_frame);
  CHECK(decode(header(0)).code() == errc::empty_frame);
}

TEST_CASE("an unknown type byte is an unknown_type error") {
  for (int t : {0x00, 0x07, 0x0f, 0x1f, 0x2e, 0x2f, 0x80, 0xff}) { // 0x06: validation (1.4)
    CAPTURE(t);
    std::string f = header(1) + static_cast<char>(t);
    CHECK(decode(f).code() == errc::unknown_type);
  }
  CHECK(decode(header(1) + "\x7f").error().message == "frame: unknown type byte 0x7f");
}

TEST_CASE("trailing bytes after the last field are rejected") {
  for (const auto& m : s::min_messages()) {
    CAPTURE(frame_type_name(type_of(m)));
    std::string f = encoded(m);
    f.push_back('\0');
    set_length(f, static_cast<std::uint32_t>(f.size() - 4));
    auto d = decode(f);
    REQUIRE_FALSE(d.ok());
    if (std::holds_alternative<hello>(m) && std::get<hello>(m).instance_id.empty()) {
      // A hello without its optional instance_id (1.3): the byte starts that field.
      CHECK(d.code() == errc::field_overrun);
      CHECK(d.error().message.find("hello: instance_id") == 0);
      continue;
    }
    if (std::holds_alternative<client_hello>(m)) {
      // A client_hello without its optional credentials (1.8): the byte starts the user field.
      CHECK(d.error().message.find("client_hello: user") == 0);
      continue;
    }
    CHECK(d.code() == errc::trailing_bytes);
    CHECK(d.error().message.find(frame_type_name(type_of(m))) != std::string::npos);
  }
}

TEST_CASE("bytes after the declared frame end are rejected by decode") {
  std::string f = encoded(heartbeat{1}) + "x";
  CHECK(decode(f).code() == errc::trailing_bytes);
}

TEST_CASE("subscribe with from_flag 2 is a bad_value naming the field") {
  std::string f = encoded(subscribe{9, "t", true, 3});
  // from_flag follows u64 id and the 1-byte string "t".
  const std::size_t flag_at = 5 + 8 + 2 + 1;
  REQUIRE(f[flag_at] == '\x01');
  f[flag_at] = '\x02';
  auto d = decode(f);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::bad_value);
  CHECK(d.error().message == "subscribe: from_flag: must be 0 or 1, got 2");
}

TEST_CASE("a string length running past the frame end is a field_overrun naming the field") {
  std::string f = encoded(close_frame{close_code::shutdown, "bye"});
  f[5 + 2] = '\x04'; // reason length 3 -> 4
  auto d = decode(f);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::field_overrun);
  CHECK(d.error().message == "close: reason: needs 4 bytes, 3 remain in the frame");
}

TEST_CASE("unknown close and negative-ack codes decode as-is") {
  check_round_trip(close_frame{close_code{999}, "future"});
  check_round_trip(negative_ack{1, nack_reason{999}, "future"});
  CHECK(static_cast<int>(close_code::auth) == 7);
  CHECK(static_cast<int>(nack_reason::shutting_down) == 5);
}

TEST_CASE("encoding a string longer than 65535 bytes is field_too_long and leaves out untouched") {
  std::string out = "keep";
  auto r = encode(publish{std::string(65536, 't'), "", "p", 1}, out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::field_too_long);
  CHECK(r.error().message == "publish: topic: 65536 bytes exceed the maximum of 65535");
  CHECK(out == "keep");
}

TEST_CASE("encoding a path of 33 entries is field_too_long") {
  record r;
  r.origin_instance = "o";
  r.path.assign(33, "x");
  std::string out;
  auto res = encode(record_batch{{r}}, out);
  REQUIRE_FALSE(res.ok());
  CHECK(res.code() == errc::field_too_long);
  CHECK(res.error().message == "record_batch: records[0].path: 33 entries exceed the maximum of 32");
  CHECK(out.empty());
  r.path.pop_back();
  check_round_trip(record_batch{{r}});
}

TEST_CASE("encoding a frame over the maximum is frame_too_large and leaves out untouched") {
  std::string out;
  auto r = encode(publish{"t", std::string(2000, 'p'), "p", 1}, out, 1024);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::frame_too_large);
  CHECK(out.empty());
  // The same frame fits a maximum equal to its length.
  auto ok = encode(publish{"t", std::string(2000, 'p'), "p", 1}, out, 1 + 3 + 4 + 2000 + 3 + 8);
  CHECK(ok.ok());
}

TEST_CASE("an empty record_batch is refused by encode and decode") {
  std::string out;
  auto r = encode(record_batch{}, out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::empty_batch);
  CHECK(out.empty());
  std::string f = header(5) + "\x02" + std::string(4, '\0');
  CHECK(decode(f).code() == errc::empty_batch);
}

TEST_CASE("errc has a std::error_category") {
  std::error_code ec = errc::field_overrun;
  CHECK(ec.category().name() == std::string{"tandem.protocol"});
  CHECK(ec.message() == "field runs past the end of the frame");
  CHECK(static_cast<bool>(ec));
  CHECK(ec.value() == static_cast<int>(errc::field_overrun));
}

TEST_CASE("version check: same version is compatible without a message") {
  auto v = check_version(hello{});
  CHECK(v.compatible);
  CHECK(v.message.empty());
}

TEST_CASE("version check: a different major is refused naming both versions") {
  hello h;
  h.protocol_major = 2;
  auto v = check_version(h);
  CHECK_FALSE(v.compatible);
  CHECK(v.message.find("peer speaks protocol 2.8, this node speaks 1.8") == 0);
  CHECK_FALSE(check_version(0, 9).compatible);
  CHECK_FALSE(check_version(client_hello{3, 0, "c"}).compatible);
}

TEST_CASE("version check: a different minor is accepted") {
  auto v = check_version(1, 9);
  CHECK(v.compatible);
  CHECK(v.message.find("peer speaks protocol 1.9, this node speaks 1.8") == 0);
  CHECK(check_version(client_hello{1, 3, "c"}).compatible);
}

// ---- publisher logon, subscribe_from, delivered's publisher fields ----

namespace {

// subscribe_from{id 5, "t", start, time 0, fully_durable, bookmark of `entries` {"a", 7}}.
std::string subscribe_from_frame(subscribe_start start, std::size_t entries) {
  subscribe_from f{5, "t", start, 0, true, {}};
  f.bookmark.assign(entries, bookmark_entry{"a", 7});
  return encoded(f);
}

// Byte offset of subscribe_from's bookmark count (after id, "t", start, time_ns, fully_durable).
constexpr std::size_t bookmark_count_at = 5 + 8 + 3 + 1 + 8 + 1;

} // namespace

TEST_CASE("the worked subscribe_from example of docs/protocol.md is byte exact") {
  std::string out;
  REQUIRE(encode(subscribe_from{5, "t", subscribe_start::after_bookmark, 0, true, {{"a", 7}}}, out).ok());
  const std::string expect{"\x23\x00\x00\x00"                 // length 35
                           "\x29"                             // type subscribe_from
                           "\x05\x00\x00\x00\x00\x00\x00\x00" // subscription_id 5
                           "\x01\x00"
                           "t"                                // topic_regex "t"
                           "\x00"                             // start 0 = after bookmark
                           "\x00\x00\x00\x00\x00\x00\x00\x00" // time_ns 0
                           "\x01"                             // fully_durable
                           "\x01\x00"                         // bookmark count 1
                           "\x01\x00"
                           "a"                                // origin_instance "a"
                           "\x07\x00\x00\x00\x00\x00\x00\x00", // origin_seq 7
                           39};
  CHECK(out == expect);
}

TEST_CASE("delivered carries publisher_id and publisher_seq as its last two fields") {
  // The defaults ("" and 0) still take their 2 + 8 bytes on the wire.
  const std::string defaults = encoded(delivered{1, 2, "o", 3, 4, "t", "p", "", 0});
  const std::string with = encoded(delivered{1, 2, "o", 3, 4, "t", "p", "pub", 9});
  REQUIRE(with.size() == defaults.size() + 3);
  const std::size_t fields_before = defaults.size() - 5 - 2 - 8;
  CHECK(with.substr(5, fields_before) == defaults.substr(5, fields_before));
  CHECK(with.substr(with.size() - 13) == std::string{"\x03\x00pub\x09\x00\x00\x00\x00\x00\x00\x00", 13});
}

TEST_CASE("subscribe_from with a start above 3 is a bad_value naming the field") {
  std::string f = subscribe_from_frame(subscribe_start::from_time, 0);
  const std::size_t start_at = 5 + 8 + 3;
  REQUIRE(f[start_at] == '\x03');
  for (int bad : {4, 0x80, 0xff}) {
    f[start_at] = static_cast<char>(bad);
    auto d = decode(f);
    REQUIRE_FALSE(d.ok());
    CHECK(d.code() == errc::bad_value);
    CHECK(d.error().message == "subscribe_from: start: must be 0..3, got " + std::to_string(bad));
  }
}

TEST_CASE("subscribe_from with a bad fully_durable flag is a bad_value") {
  std::string f = subscribe_from_frame(subscribe_start::now, 0);
  f[bookmark_count_at - 1] = '\x02';
  CHECK(decode(f).error().message == "subscribe_from: fully_durable: must be 0 or 1, got 2");
}

TEST_CASE("a bookmark count over 4096 is refused before anything is reserved") {
  std::string f = subscribe_from_frame(subscribe_start::after_bookmark, 0);
  f[bookmark_count_at] = '\x01';
  f[bookmark_count_at + 1] = '\x10'; // 4097
  auto d = decode(f);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::bad_value);
  CHECK(d.error().message == "subscribe_from: bookmark: 4097 entries exceed the maximum of 4096");
  // 0xffff entries too; the frame holds none of them.
  f[bookmark_count_at] = '\xff';
  f[bookmark_count_at + 1] = '\xff';
  CHECK(decode(f).code() == errc::bad_value);
}

TEST_CASE("a bookmark count that cannot fit in the rest of the frame is a field_overrun") {
  // Three entries of 11 bytes are present; a count of 4 needs at least 40 bytes, 33 remain.
  std::string f = subscribe_from_frame(subscribe_start::after_bookmark, 3);
  REQUIRE(f[bookmark_count_at] == '\x03');
  f[bookmark_count_at] = '\x04';
  auto d = decode(f);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::field_overrun);
  CHECK(d.error().message == "subscribe_from: bookmark: 4 entries cannot fit in 33 remaining bytes");
}

TEST_CASE("an error inside a bookmark entry names the entry and its field") {
  // Count 3 but the second entry's name says 5 bytes: it swallows 4 bytes of its origin_seq,
  // which are no name characters.
  std::string f = subscribe_from_frame(subscribe_start::after_bookmark, 3);
  f[bookmark_count_at + 2 + 11] = '\x05';
  auto d = decode(f);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::invalid_field);
  CHECK(d.error().message ==
        "subscribe_from: bookmark[1].origin_instance: byte 0x07 at offset 1 is not one of A-Z a-z 0-9 . _ -");
  f = subscribe_from_frame(subscribe_start::after_bookmark, 2);
  f[bookmark_count_at + 2 + 11] = '\x09'; // entry 1's name now runs past the end
  d = decode(f);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message.find("subscribe_from: bookmark[1].") == 0);
}

TEST_CASE("encoding a bookmark of 4097 entries is field_too_long and leaves out untouched") {
  subscribe_from f{1, "t", subscribe_start::after_bookmark, 0, false, {}};
  f.bookmark.assign(max_bookmark_entries + 1, bookmark_entry{"a", 1});
  std::string out = "keep";
  auto r = encode(f, out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::field_too_long);
  CHECK(r.error().message == "subscribe_from: bookmark: 4097 entries exceed 4096");
  CHECK(out == "keep");
  f.bookmark.pop_back();
  check_round_trip(f);
}

TEST_CASE("publisher logon frames round-trip and publisher_in_use is close code 8") {
  check_round_trip(publisher_logon{"orders-gateway"});
  check_round_trip(publisher_logon_ack{"orders-gateway", 41});
  check_round_trip(close_frame{close_code::publisher_in_use, "publisher orders-gateway is in use"});
  CHECK(static_cast<int>(close_code::publisher_in_use) == 8);
  CHECK(frame_type_name(frame_type::publisher_logon) == "publisher_logon");
  CHECK(frame_type_name(frame_type::publisher_logon_ack) == "publisher_logon_ack");
  CHECK(frame_type_name(frame_type::subscribe_from) == "subscribe_from");
  // publisher_logon_ack{"", 0}: the node holds nothing of an id it has never seen.
  CHECK(encoded(publisher_logon_ack{"", 0}) == std::string{"\x0b\x00\x00\x00\x28\x00\x00", 7} + std::string(8, '\0'));
}

// ---- subscription_gap (protocol 1.1) ----

TEST_CASE("subscription_gap round-trips and is byte exact") {
  const subscription_gap g{7, "A", 101, 3000, gap_reason::retention};
  std::string out;
  REQUIRE(encode(g, out).ok());
  const std::string expect{"\x1e\x00\x00\x00"                  // length 30
                           "\x2a"                              // type subscription_gap
                           "\x07\x00\x00\x00\x00\x00\x00\x00"  // subscription_id 7
                           "\x01\x00"
                           "A"                                 // origin_instance "A"
                           "\x65\x00\x00\x00\x00\x00\x00\x00"  // first 101
                           "\xb8\x0b\x00\x00\x00\x00\x00\x00"  // last 3000
                           "\x01\x00",                         // reason 1 = retention
                           34};
  CHECK(out == expect);
  auto d = decode(out);
  REQUIRE(d.ok());
  CHECK(std::get<subscription_gap>(d.value()) == g);
  CHECK(frame_type_name(frame_type::subscription_gap) == "subscription_gap");
  // A range of exactly one record is valid; an unknown reason decodes as-is.
  out.clear();
  REQUIRE(encode(subscription_gap{1, "", 5, 5, gap_reason{42}}, out).ok());
  d = decode(out);
  REQUIRE(d.ok());
  CHECK(std::get<subscription_gap>(d.value()).reason == gap_reason{42});
}

TEST_CASE("subscription_gap with last below first is a bad_value") {
  std::string out;
  REQUIRE(encode(subscription_gap{1, "", 5, 4, gap_reason::retention}, out).ok());
  auto d = decode(out);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::bad_value);
  CHECK(d.error().message.find("subscription_gap") != std::string::npos);
}

TEST_CASE("subscription_gap cut at every byte is truncated or an overrun, never a message") {
  std::string out;
  REQUIRE(encode(subscription_gap{9, "origin", 1, 2, gap_reason::retention}, out).ok());
  for (std::size_t cut = 0; cut < out.size(); ++cut) {
    CAPTURE(cut);
    CHECK_FALSE(decode(std::string_view{out}.substr(0, cut)).ok());
  }
  // The same frame with one byte more in the body (declared length included) has trailing bytes.
  std::string longer = out + '\0';
  longer[0] = static_cast<char>(longer[0] + 1);
  auto d = decode(longer);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::trailing_bytes);
}

// ---- persisted_partial, replicated, waiting (protocol 1.2) ----

TEST_CASE("persisted_partial round-trips and is byte exact") {
  const persisted_partial p{5, 9, {"B", "C"}};
  const std::string expect{"\x19\x00\x00\x00"                 // length 25
                           "\x2b"                             // type persisted_partial
                           "\x05\x00\x00\x00\x00\x00\x00\x00" // publisher_seq 5
                           "\x09\x00\x00\x00\x00\x00\x00\x00" // journal_seq 9
                           "\x02\x00"                         // not_on count 2
                           "\x01\x00" "B"                     // "B"
                           "\x01\x00" "C",                    // "C"
                           29};
  CHECK(encoded(p) == expect);
  auto d = decode(expect);
  REQUIRE(d.ok());
  CHECK(std::get<persisted_partial>(d.value()) == p);
  CHECK(frame_type_name(frame_type::persisted_partial) == "persisted_partial");
}

TEST_CASE("replicated round-trips and is byte exact") {
  const replicated r{"gw", 7};
  const std::string expect{"\x0d\x00\x00\x00"                  // length 13
                           "\x2c"                              // type replicated
                           "\x02\x00" "gw"                     // publisher_id "gw"
                           "\x07\x00\x00\x00\x00\x00\x00\x00", // up_to_publisher_seq 7
                           17};
  CHECK(encoded(r) == expect);
  auto d = decode(expect);
  REQUIRE(d.ok());
  CHECK(std::get<replicated>(d.value()) == r);
  CHECK(frame_type_name(frame_type::replicated) == "replicated");
}

TEST_CASE("waiting round-trips and is byte exact") {
  const waiting w{1500, {"B"}};
  const std::string expect{"\x0e\x00\x00\x00"                 // length 14
                           "\x2d"                             // type waiting
                           "\xdc\x05\x00\x00\x00\x00\x00\x00" // waited_ms 1500
                           "\x01\x00"                         // destinations count 1
                           "\x01\x00" "B",                    // "B"
                           18};
  CHECK(encoded(w) == expect);
  auto d = decode(expect);
  REQUIRE(d.ok());
  CHECK(std::get<waiting>(d.value()) == w);
  CHECK(frame_type_name(frame_type::waiting) == "waiting");
}

TEST_CASE("destination lists decode at 1024 names and are refused at 1025, before anything is reserved") {
  auto names = s::max_destination_list();
  REQUIRE(names.size() == max_destination_names);
  check_round_trip(persisted_partial{1, 2, names});
  check_round_trip(waiting{3, names});
  // One more name: encode refuses it, and a frame declaring 1025 is refused by decode.
  names.push_back("zz");
  std::string out;
  auto e = encode(persisted_partial{1, 2, names}, out);
  REQUIRE_FALSE(e.ok());
  CHECK(e.code() == errc::field_too_long);
  CHECK(out.empty());
  std::string frame = encoded(waiting{3, {"a"}});
  frame[4 + 1 + 8] = static_cast<char>(1025 & 0xff); // the u16 count, little-endian
  frame[4 + 1 + 9] = static_cast<char>(1025 >> 8);
  auto d = decode(frame);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::bad_value);
  CHECK(d.error().message.find("waiting: destinations: 1025 entries exceed the maximum of 1024") == 0);
  // A count the remaining bytes cannot hold is an overrun, also before anything is reserved.
  frame[4 + 1 + 8] = static_cast<char>(2);
  frame[4 + 1 + 9] = 0;
  d = decode(frame);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::field_overrun);
}

TEST_CASE("destination lists must be non-empty and strictly ascending") {
  for (const message& m : std::vector<message>{persisted_partial{1, 2, {}}, waiting{3, {}},
                                               persisted_partial{1, 2, {"B", "A"}}, waiting{3, {"A", "A"}}}) {
    CAPTURE(frame_type_name(type_of(m)));
    auto d = decode(encoded(m));
    REQUIRE_FALSE(d.ok());
    CHECK(d.code() == errc::bad_value);
  }
}

TEST_CASE("replicated up to seq 0 is a bad_value") {
  auto d = decode(encoded(replicated{"gw", 0}));
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::bad_value);
  CHECK(d.error().message.find("replicated: up_to_publisher_seq") == 0);
}

TEST_CASE("the 1.2 frames cut at every byte are never a message") {
  for (const message& m : std::vector<message>{persisted_partial{1, 2, {"node-b"}}, replicated{"gw", 3},
                                               waiting{4, {"node-b", "node-c"}}}) {
    const std::string out = encoded(m);
    for (std::size_t cut = 0; cut < out.size(); ++cut) {
      CAPTURE(cut);
      CHECK_FALSE(decode(std::string_view{out}.substr(0, cut)).ok());
    }
  }
}

// ---- digest_request, digest_reply (protocol 1.5, anti-entropy) ----

TEST_CASE("digest_request round-trips and is byte exact") {
  const digest_request r{7, "A", 1, 10, 4};
  const std::string expect{"\x1e\x00\x00\x00"                 // length 30
                           "\x08"                             // type digest_request
                           "\x07\x00\x00\x00\x00\x00\x00\x00" // request_id 7
                           "\x01\x00" "A"                     // origin "A"
                           "\x01\x00\x00\x00\x00\x00\x00\x00" // from 1
                           "\x0a\x00\x00\x00\x00\x00\x00\x00" // to 10
                           "\x04\x00",                        // buckets 4
                           34};
  CHECK(encoded(r) == expect);
  auto d = decode(expect);
  REQUIRE(d.ok());
  CHECK(std::get<digest_request>(d.value()) == r);
  CHECK(frame_type_name(frame_type::digest_request) == "digest_request");
  CHECK(frame_type_name(frame_type::digest_reply) == "digest_reply");
}

TEST_CASE("digest_request decodes at 1024 buckets and is refused at 1025 and at 0") {
  check_round_trip(digest_request{1, "A", 1, 100, 1024});
  for (std::uint16_t n : {std::uint16_t{1025}, std::uint16_t{0}}) {
    auto d = decode(encoded(digest_request{1, "A", 1, 100, n}));
    REQUIRE_FALSE(d.ok());
    CHECK(d.code() == errc::bad_value);
    CHECK(d.error().message == "digest_request: buckets must be 1..1024, got " + std::to_string(n));
  }
}

TEST_CASE("digest_request ranges follow the digest rules: from >= 1, to >= from") {
  auto d = decode(encoded(digest_request{1, "A", 0, 5, 4}));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == "digest_request: from must be >= 1 (origin seqs start at 1)");
  d = decode(encoded(digest_request{1, "A", 6, 5, 4}));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == "digest_request: to (5) is below from (6)");
  check_round_trip(digest_request{1, "A", 5, 5, 4}); // one seq: one bucket
}

TEST_CASE("digest_reply carries exactly the buckets of its request's geometry") {
  // from 1 to 10 in 4 buckets: width 3, buckets [1,3] [4,6] [7,9] [10,10].
  digest_reply r{3, "A", 1, 10, 4, 10, 0, "", {{3, 1}, {3, 2}, {3, 3}, {1, 4}}};
  check_round_trip(r);
  auto three = r;
  three.buckets.pop_back();
  auto d = decode(encoded(three));
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::bad_value);
  CHECK(d.error().message == "digest_reply: buckets: 3 entries, the request's geometry gives 4");
  auto over = r;
  over.buckets[3].count = 2; // the last bucket is one seq wide
  d = decode(encoded(over));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == "digest_reply: buckets[3].count: 2 exceeds the bucket's width");
  over.buckets[3].count = 1;
  over.buckets[0].count = 4;
  d = decode(encoded(over));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == "digest_reply: buckets[0].count: 4 exceeds the bucket's width");
}

TEST_CASE("digest_reply with an error has no buckets; its request is checked like a digest_request") {
  check_round_trip(digest_reply{3, "A", 1, 10, 4, 0, 0, "journal scan failed", {}});
  auto d = decode(encoded(digest_reply{3, "A", 1, 10, 4, 0, 0, "journal scan failed", {{0, 0}}}));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == "digest_reply: buckets: 1 entries, the request's geometry gives 0 (an error reply has none)");
  d = decode(encoded(digest_reply{3, "A", 1, 10, 1025, 0, 0, "x", {}}));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == "digest_reply: buckets must be 1..1024, got 1025");
}

TEST_CASE("digest_reply bucket lists decode at 1024 entries and are refused at 1025, before anything is reserved") {
  const auto max = s::max_digest_reply();
  REQUIRE(max.buckets.size() == 1024);
  check_round_trip(max);
  auto more = max;
  more.buckets.push_back({0, 0});
  std::string out;
  auto e = encode(more, out);
  REQUIRE_FALSE(e.ok());
  CHECK(e.code() == errc::field_too_long);
  CHECK(out.empty());
  // A frame declaring 1025 buckets: the u16 count after the fixed fields and the empty error.
  std::string frame = encoded(digest_reply{1, "A", 1, 1, 1, 0, 0, "", {{1, 0}}});
  const std::size_t count_at = 4 + 1 + 8 + (2 + 1) + 8 + 8 + 2 + 8 + 8 + 2;
  frame[count_at] = static_cast<char>(1025 & 0xff);
  frame[count_at + 1] = static_cast<char>(1025 >> 8);
  auto d = decode(frame);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::bad_value);
  CHECK(d.error().message.find("digest_reply: buckets: 1025 entries exceed the maximum of 1024") == 0);
}

TEST_CASE("digest_reply error text is at most 1024 bytes") {
  check_round_trip(digest_reply{1, "A", 1, 1, 1, 0, 0, std::string(1024, 'e'), {}});
  std::string out;
  CHECK_FALSE(encode(digest_reply{1, "A", 1, 1, 1, 0, 0, std::string(1025, 'e'), {}}, out).ok());
}

TEST_CASE("the 1.5 digest frames cut at every byte are never a message") {
  for (const message& m : std::vector<message>{digest_request{1, "A", 1, 10, 4},
                                               digest_reply{3, "A", 1, 10, 4, 10, 0, "", {{3, 1}, {3, 2}, {3, 3}, {1, 4}}}}) {
    const std::string out = encoded(m);
    for (std::size_t cut = 0; cut < out.size(); ++cut) {
      CAPTURE(cut);
      CHECK_FALSE(decode(std::string_view{out}.substr(0, cut)).ok());
    }
  }
}
