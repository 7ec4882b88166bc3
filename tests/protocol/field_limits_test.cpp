// Decode-time validation of every field a peer or client sends (protocol/fields.hpp with the
// rules of names.hpp and the limits of limits.hpp): each checked field at its limit decodes,
// one past it is refused with an error naming the frame type and the field. The frames are
// built byte by byte here, because encode() refuses to produce them.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "protocol/batch.hpp"
#include "protocol/codec.hpp"
#include "protocol/utf8.hpp"
#include "message_samples.hpp"

using namespace tandem::protocol;
namespace s = tandem::protocol::samples;

namespace {

// A frame body written field by field, with no checks.
struct raw {
  std::string b;
  template <class U>
  raw& le(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i)
      b.push_back(static_cast<char>(static_cast<unsigned char>(v >> (8 * i))));
    return *this;
  }
  raw& u8(std::uint8_t v) { return le(v); }
  raw& u16(std::uint16_t v) { return le(v); }
  raw& u32(std::uint32_t v) { return le(v); }
  raw& u64(std::uint64_t v) { return le(v); }
  raw& str(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    b += s;
    return *this;
  }
  raw& bytes(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    b += s;
    return *this;
  }
  std::string frame(frame_type t) const {
    raw f;
    f.u32(static_cast<std::uint32_t>(1 + b.size())).u8(static_cast<std::uint8_t>(t));
    return f.b + b;
  }
};

struct record_fields {
  std::string origin = "A";
  std::string publisher = "pub";
  std::vector<std::string> path = {"A", "B"};
  std::string topic = "orders";
  std::string payload = "p";
};

std::string record_batch_frame(const record_fields& r) {
  raw w;
  w.u32(1).u64(1).str(r.origin).u64(1).str(r.publisher).u64(1).u64(0);
  w.u8(static_cast<std::uint8_t>(r.path.size()));
  for (const auto& e : r.path)
    w.str(e);
  w.str(r.topic).bytes(r.payload);
  return w.frame(frame_type::record_batch);
}

enum class rule { name, label, text };

// One checked string field: where its errors say they are, its rule, and a valid frame with
// that field set to the given value.
struct field_case {
  std::string where;
  rule kind;
  std::function<std::string(const std::string&)> frame;
};

std::vector<field_case> string_fields() {
  using F = frame_type;
  return {
    {"hello: instance", rule::name,
     [](const std::string& v) { return raw{}.u16(1).u16(0).str(v).str("G").u64(0).bytes("").u64(0).frame(F::hello); }},
    {"hello: group", rule::name,
     [](const std::string& v) { return raw{}.u16(1).u16(0).str("A").str(v).u64(0).bytes("").u64(0).frame(F::hello); }},
    {"record_batch: records[0].origin_instance", rule::name,
     [](const std::string& v) { return record_batch_frame({.origin = v}); }},
    {"record_batch: records[0].publisher_id", rule::label,
     [](const std::string& v) { return record_batch_frame({.publisher = v}); }},
    {"record_batch: records[0].path", rule::name,
     [](const std::string& v) { return record_batch_frame({.path = {"A", v}}); }},
    {"record_batch: records[0].topic", rule::text,
     [](const std::string& v) { return record_batch_frame({.topic = v}); }},
    {"close: reason", rule::text, [](const std::string& v) { return raw{}.u16(2).str(v).frame(F::close); }},
    {"client_hello: client_name", rule::label,
     [](const std::string& v) { return raw{}.u16(1).u16(0).str(v).frame(F::client_hello); }},
    {"publish: topic", rule::text,
     [](const std::string& v) { return raw{}.str(v).bytes("p").str("pub").u64(1).frame(F::publish); }},
    {"publish: publisher_id", rule::label,
     [](const std::string& v) { return raw{}.str("t").bytes("p").str(v).u64(1).frame(F::publish); }},
    {"negative_ack: reason", rule::text,
     [](const std::string& v) { return raw{}.u64(1).u16(3).str(v).frame(F::negative_ack); }},
    {"subscribe: topic_regex", rule::text,
     [](const std::string& v) { return raw{}.u64(1).str(v).u8(0).u64(0).frame(F::subscribe); }},
    {"delivered: origin_instance", rule::name,
     [](const std::string& v) {
       return raw{}.u64(1).u64(1).str(v).u64(1).u64(0).str("t").bytes("p").str("pub").u64(1).frame(F::delivered);
     }},
    {"delivered: topic", rule::text,
     [](const std::string& v) {
       return raw{}.u64(1).u64(1).str("A").u64(1).u64(0).str(v).bytes("p").str("pub").u64(1).frame(F::delivered);
     }},
    {"delivered: publisher_id", rule::label,
     [](const std::string& v) {
       return raw{}.u64(1).u64(1).str("A").u64(1).u64(0).str("t").bytes("p").str(v).u64(1).frame(F::delivered);
     }},
    {"publisher_logon: publisher_id", rule::label,
     [](const std::string& v) { return raw{}.str(v).frame(F::publisher_logon); }},
    {"publisher_logon_ack: publisher_id", rule::label,
     [](const std::string& v) { return raw{}.str(v).u64(0).frame(F::publisher_logon_ack); }},
    {"subscribe_from: topic_regex", rule::text,
     [](const std::string& v) { return raw{}.u64(1).str(v).u8(0).u64(0).u8(0).u16(0).frame(F::subscribe_from); }},
    {"subscribe_from: bookmark[1].origin_instance", rule::name,
     [](const std::string& v) {
       return raw{}.u64(1).str("t").u8(0).u64(0).u8(0).u16(2).str("A").u64(3).str(v).u64(4).frame(F::subscribe_from);
     }},
    {"persisted_partial: not_on[0].name", rule::name,
     [](const std::string& v) { return raw{}.u64(1).u64(2).u16(1).str(v).frame(F::persisted_partial); }},
    {"replicated: publisher_id", rule::label,
     [](const std::string& v) { return raw{}.str(v).u64(1).frame(F::replicated); }},
    {"waiting: destinations[0].name", rule::name,
     [](const std::string& v) { return raw{}.u64(1000).u16(1).str(v).frame(F::waiting); }},
  };
}

struct sample {
  std::string value;
  errc expected; // errc{} = decodes
};

std::vector<sample> samples_for(rule kind) {
  const errc ok{};
  switch (kind) {
    case rule::name:
      return {{"a", ok},
              {std::string(64, 'n'), ok},
              {"Node-1.eu_west", ok},
              {std::string(65, 'n'), errc::field_too_long},
              {std::string(255, 'n'), errc::field_too_long},
              {"", errc::invalid_field},
              {"node 1", errc::invalid_field},
              {"node/1", errc::invalid_field},
              {"n\xc3\xa9", errc::invalid_field},
              {"n\xff", errc::invalid_field},
              {std::string("n\0", 2), errc::invalid_field}};
    case rule::label:
      return {{"", ok},
              {"tandem subscribe", ok},
              {std::string(255, 'p'), ok},
              {s::utf8_text(255), ok},
              {std::string(256, 'p'), errc::field_too_long},
              {std::string(254, 'p') + "\xc3\xa9", errc::field_too_long},
              {"p\xff", errc::invalid_field},
              {"p\xc0\x80", errc::invalid_field},
              {"p\xed\xa0\x80", errc::invalid_field},
              {"p\nq", errc::invalid_field},
              {"p\x7f", errc::invalid_field}};
    case rule::text:
      return {{"", ok},
              {"orders.\xe2\x82\xac\n", ok},
              {s::utf8_text(65535), ok},
              {"t\xff", errc::invalid_field},
              {"t\xe0\x80\xaf", errc::invalid_field},
              {"t\xed\xb0\x80", errc::invalid_field},
              {"t\xf4\x90\x80\x80", errc::invalid_field},
              {"t\xe2\x82", errc::invalid_field}};
  }
  return {};
}

void check_decodes(const std::string& frame, std::size_t max = default_max_frame_bytes) {
  auto d = decode(frame, max);
  REQUIRE_MESSAGE(d.ok(), d.error().message);
  // What decodes, encodes back to the same bytes.
  std::string again;
  REQUIRE(encode(d.value(), again, max).ok());
  CHECK(again == frame);
}

void check_refused(const std::string& frame, errc expected, const std::string& where,
                   std::size_t max = default_max_frame_bytes) {
  auto d = decode(frame, max);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == expected);
  CHECK(d.error().message.rfind(where + ": ", 0) == 0);
  CHECK(utf8::is_valid(d.error().message)); // safe to log and to send in a close frame
}

} // namespace

TEST_CASE("every checked string field decodes at its limit and is refused one past it or when malformed") {
  for (const auto& field : string_fields()) {
    for (const auto& [value, expected] : samples_for(field.kind)) {
      CAPTURE(field.where);
      CAPTURE(value.size());
      const std::string frame = field.frame(value);
      if (expected == errc{})
        check_decodes(frame);
      else
        check_refused(frame, expected, field.where);
    }
  }
}

TEST_CASE("decode_batch applies the same checks as decode") {
  for (const auto& [value, expected] : samples_for(rule::label)) {
    CAPTURE(value.size());
    auto v = decode_batch(record_batch_frame({.publisher = value}));
    CHECK(v.ok() == (expected == errc{}));
    if (!v.ok())
      CHECK(v.code() == expected);
  }
}

TEST_CASE("defect 6: a publisher id over 255 bytes is refused when decoding, not when appending") {
  // The wire allows 65535-byte strings, the journal 255-byte publisher ids.
  const std::string id_255(255, 'p');
  const std::string id_256(256, 'p');
  check_decodes(raw{}.str("t").bytes("p").str(id_255).u64(1).frame(frame_type::publish));
  check_refused(raw{}.str("t").bytes("p").str(id_256).u64(1).frame(frame_type::publish), errc::field_too_long,
                "publish: publisher_id");
  check_refused(raw{}.str("t").bytes("p").str(std::string(65535, 'p')).u64(1).frame(frame_type::publish),
                errc::field_too_long, "publish: publisher_id");
  check_decodes(record_batch_frame({.publisher = id_255}));
  auto d = decode(record_batch_frame({.publisher = id_256}));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == "record_batch: records[0].publisher_id: 256 bytes exceed the maximum of 255");
}

TEST_CASE("defect 6: a path of more than 32 entries is refused when decoding, not when appending") {
  // The wire allows 255 path entries, the journal 32.
  record_fields r;
  r.path.clear();
  for (int i = 0; i < 32; ++i)
    r.path.push_back("n" + std::to_string(i));
  check_decodes(record_batch_frame(r));
  r.path.push_back("n32");
  auto d = decode(record_batch_frame(r));
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::field_too_long);
  CHECK(d.error().message == "record_batch: records[0].path: 33 entries exceed the maximum of 32");
  r.path.assign(255, "n");
  CHECK(decode(record_batch_frame(r)).code() == errc::field_too_long);
  // An entry breaking the name rule is named by its index.
  r.path = {"A", "B", "C D"};
  CHECK(decode(record_batch_frame(r)).error().message ==
        "record_batch: records[0].path: entry 2: byte 0x20 at offset 1 is not one of A-Z a-z 0-9 . _ -");
}

TEST_CASE("defect 8: a hello whose instance name is not valid UTF-8 is refused when decoding") {
  // What stopped a node: the name reached nlohmann::json in the journal actor and threw 316.
  const std::string frame =
    raw{}.u16(1).u16(0).str("\xff\xfe").str("G").u64(0).bytes("").u64(0).frame(frame_type::hello);
  auto d = decode(frame);
  REQUIRE_FALSE(d.ok());
  CHECK(d.code() == errc::invalid_field);
  CHECK(d.error().message == "hello: instance: byte 0xff at offset 0 is not one of A-Z a-z 0-9 . _ -");
  // The same for the group, and for well-formed UTF-8 outside the name rule.
  CHECK(decode(raw{}.u16(1).u16(0).str("A").str("gr\xc3\xbcn").u64(0).bytes("").u64(0).frame(frame_type::hello))
          .code() == errc::invalid_field);
}

TEST_CASE("a payload of 16 MiB decodes and one byte more is refused before it is copied") {
  // Beyond the default frame limit: a node configured with a larger max_frame_bytes still refuses
  // payloads the journal cannot store.
  const std::size_t max_frame = 32u << 20;
  const std::string at_limit(16u << 20, 'x');
  const std::string over(at_limit.size() + 1, 'x');
  using F = frame_type;
  const std::vector<std::pair<std::string, std::function<std::string(const std::string&)>>> fields = {
    {"publish: payload", [](const std::string& v) { return raw{}.str("t").bytes(v).str("pub").u64(1).frame(F::publish); }},
    {"record_batch: records[0].payload", [](const std::string& v) { return record_batch_frame({.payload = v}); }},
    {"delivered: payload",
     [](const std::string& v) {
       return raw{}.u64(1).u64(1).str("A").u64(1).u64(0).str("t").bytes(v).str("pub").u64(1).frame(F::delivered);
     }},
  };
  for (const auto& [where, frame] : fields) {
    CAPTURE(where);
    check_decodes(frame(at_limit), max_frame);
    check_refused(frame(over), errc::field_too_long, where, max_frame);
  }
  // encode() refuses it too, whatever the frame limit.
  std::string out;
  auto e = encode(publish{"t", over, "pub", 1}, out, max_frame);
  REQUIRE_FALSE(e.ok());
  CHECK(e.code() == errc::field_too_long);
  CHECK(e.error().message == "publish: payload: 16777217 bytes exceed the maximum of 16777216");
}

TEST_CASE("encode refuses what decode would refuse, naming the field") {
  std::string out = "keep";
  auto e = encode(hello{1, 0, "a b", "g", 0, "", 0, {}}, out);
  REQUIRE_FALSE(e.ok());
  CHECK(e.code() == errc::invalid_field);
  CHECK(e.error().message == "hello: instance: byte 0x20 at offset 1 is not one of A-Z a-z 0-9 . _ -");
  CHECK(out == "keep");
  CHECK(encode(publish{"t\xff", "", "p", 1}, out).code() == errc::invalid_field);
  CHECK(encode(publish{"t", "", std::string(256, 'p'), 1}, out).code() == errc::field_too_long);
  CHECK(encode(publisher_logon{"a\nb"}, out).code() == errc::invalid_field);
  CHECK(encode(delivered{1, 1, "", 1, 0, "t", "", "", 0}, out).code() == errc::invalid_field);
  CHECK(out == "keep");
  // batch_encoder drops such a record whole; the batch stays usable.
  batch_encoder enc;
  std::string batch;
  enc.begin(batch);
  const std::vector<std::string_view> no_path;
  CHECK(enc.add(record_view{1, "bad name", 1, "p", 1, 0, no_path, "t", ""}).code() == errc::invalid_field);
  CHECK(enc.add(record_view{1, "A", 1, "p", 1, 0, no_path, "t", ""}).ok());
  REQUIRE(enc.finish().ok());
  CHECK(decode(batch).ok());
}

TEST_CASE("hello.instance_id (1.3): absent decodes as not said, 16 bytes decode, 15 and 17 are refused") {
  const auto base = [] { return raw{}.u16(1).u16(3).str("A").str("G").u64(0).bytes("").u64(7); };
  // A 1.2 hello ends after journal_base: the id is not said.
  auto old = decode(base().frame(frame_type::hello));
  REQUIRE(old.ok());
  CHECK(std::get<hello>(old.value()).instance_id.empty());
  const std::string id(16, '\x5a');
  auto d = decode(base().str(id).frame(frame_type::hello));
  REQUIRE(d.ok());
  CHECK(std::get<hello>(d.value()).instance_id == id);
  for (std::size_t n : {0u, 15u, 17u}) {
    auto bad = decode(base().str(std::string(n, 'x')).frame(frame_type::hello));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.code() == errc::bad_value);
    CHECK(bad.error().message == "hello: instance_id: must be 16 bytes, got " + std::to_string(n));
  }
  // Nothing may follow it, unless the hello is from a newer minor (fields it added are ignored).
  CHECK(decode(base().str(id).u16(0).frame(frame_type::hello)).code() == errc::trailing_bytes);
  const auto newer = raw{}.u16(1).u16(protocol_minor + 1).str("A").str("G").u64(0).bytes("").u64(7);
  auto future = decode(raw{newer}.str(id).u16(0).u64(1).frame(frame_type::hello));
  REQUIRE(future.ok());
  CHECK(std::get<hello>(future.value()).instance_id == id);
  CHECK(decode(raw{}.u16(2).u16(0).str("A").str("G").u64(0).bytes("").u64(7).str(id).u16(0).frame(frame_type::hello))
          .code() == errc::trailing_bytes); // another major: no such promise
  // The encoder writes it only when set, and refuses a wrong size.
  std::string out;
  hello h{1, 3, "A", "G", 0, "", 7, id};
  REQUIRE(encode(h, out).ok());
  CHECK(std::get<hello>(decode(out).value()) == h);
  h.instance_id = "short";
  CHECK(encode(h, out).code() == errc::bad_value);
}
