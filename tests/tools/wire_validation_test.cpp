// Issue 14, defect 8 end to end: names that break the naming rules (here: not UTF-8) are refused
// by the decoder of a live node, which closes that one connection with bad_frame, logs the
// reason, and keeps serving (status, publishes, replication). On the old code such a hello's
// instance name reached nlohmann::json in the journal actor, which threw and stopped the node.
#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;

namespace {

// A frame body written field by field without the codec's checks (encode() refuses these).
struct raw {
  std::string b;
  template <class U>
  raw& le(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i)
      b.push_back(static_cast<char>(static_cast<unsigned char>(v >> (8 * i))));
    return *this;
  }
  raw& str(std::string_view s) {
    le(static_cast<std::uint16_t>(s.size()));
    b += s;
    return *this;
  }
  raw& bytes(std::string_view s) {
    le(static_cast<std::uint32_t>(s.size()));
    b += s;
    return *this;
  }
  std::string frame(tandem::protocol::frame_type t) const {
    raw f;
    f.le(static_cast<std::uint32_t>(1 + b.size())).le(static_cast<std::uint8_t>(t));
    return f.b + b;
  }
};

std::uint64_t publish_count(const test_node& node, const std::string& id, int n) {
  tandem::client::client_connection c;
  if (!c.connect("127.0.0.1", node.ports().client, id, 5s).empty())
    return 0;
  tandem::client::publisher p{c, tandem::client::publisher_options{id, 64}};
  for (int i = 0; i < n; ++i)
    if (!p.publish("orders." + id, "payload", 10s))
      break;
  p.wait_all(30s);
  return p.counters().persisted;
}

} // namespace

TEST_CASE("defect 8: a hello or client names that are not valid UTF-8 close that connection and the node keeps serving") {
  using tandem::protocol::frame_type;
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b, "sync");

  // Replication listener: hello{1.0, instance "\xff\xfe", group "G"}.
  const std::string hello =
    raw{}.le(std::uint16_t{1}).le(std::uint16_t{0}).str("\xff\xfe").str("G").le(std::uint64_t{0}).bytes("")
      .le(std::uint64_t{0}).frame(frame_type::hello);
  auto answer = poke(a.ports().replication, hello, 10s);
  REQUIRE(answer.has_value());
  CHECK(answer->find("hello: instance: byte 0xff at offset 0") != std::string::npos); // the close reason
  CHECK(wait_until([&] { return a.log().find("hello: instance: byte 0xff") != std::string::npos; }, 10s));

  // Client listener: a client_hello whose client_name is not UTF-8, and a publish whose
  // publisher id is longer than the journal's 255 bytes after a valid client_hello.
  const std::string client_hello =
    raw{}.le(std::uint16_t{1}).le(std::uint16_t{0}).str("c\xc0\x80").frame(frame_type::client_hello);
  answer = poke(a.ports().client, client_hello, 10s);
  REQUIRE(answer.has_value());
  CHECK(answer->find("client_hello: client_name: not valid UTF-8") != std::string::npos);
  const std::string good_hello =
    raw{}.le(std::uint16_t{1}).le(std::uint16_t{0}).str("c").frame(frame_type::client_hello);
  const std::string long_id_publish =
    raw{}.str("orders.x").bytes("p").str(std::string(256, 'p')).le(std::uint64_t{1}).frame(frame_type::publish);
  answer = poke(a.ports().client, good_hello + long_id_publish, 10s);
  REQUIRE(answer.has_value());
  CHECK(answer->find("publish: publisher_id: 256 bytes exceed the maximum of 255") != std::string::npos);

  // The node is alive and serving: status answers, publishes are acknowledged and replicated.
  CHECK(a.running());
  CHECK(a.status().is_object());
  CHECK(publish_count(a, "after", 50) == 50);
  CHECK(wait_until([&] { return b.records_held() == 50; }, 10s));
  CHECK(a.connected_to("B"));
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}
