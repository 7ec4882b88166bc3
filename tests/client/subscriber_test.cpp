// subscriber against a scripted fake node: subscribe frames, reassembly, close handling.
#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "client/subscriber.hpp"
#include "fake_node.hpp"
#include "protocol/codec.hpp"

using namespace std::chrono_literals;
using tandem::client::client_connection;
using tandem::client::subscriber;
using tandem::test::fake_node;
using tandem::test::node_side;
namespace protocol = tandem::protocol;

namespace {

protocol::delivered sample(std::uint64_t i) {
  // Payload sizes 0, small, and one over the client's 64 KiB read chunk.
  std::size_t size = i == 0 ? 0 : i == 17 ? 70000 : i * 13;
  std::string payload(size, '\0');
  for (std::size_t k = 0; k < size; ++k)
    payload[k] = static_cast<char>((i + k) % 251);
  return {1, 1000 + i, "node-" + std::to_string(i % 3), 500 + i, static_cast<std::int64_t>(i) * 1000,
          "orders." + std::to_string(i), payload};
}

} // namespace

TEST_CASE("subscriber reassembles delivered frames split at arbitrary boundaries") {
  constexpr std::uint64_t count = 40;
  protocol::subscribe seen;
  fake_node node{[&](node_side& n) {
    n.answer_hello();
    auto m = n.read();
    n.expect(m && std::holds_alternative<protocol::subscribe>(*m), "subscribe arrives");
    if (m && std::holds_alternative<protocol::subscribe>(*m))
      seen = std::get<protocol::subscribe>(*m);
    std::string stream;
    for (std::uint64_t i = 0; i < count; ++i) {
      protocol::encode(sample(i), stream);
      if (i % 7 == 3)
        protocol::encode(protocol::heartbeat{i}, stream);
      if (i % 11 == 5) // another subscription id: dropped by the subscriber
        protocol::encode(protocol::delivered{42, i, "x", i, 0, "other", "y"}, stream);
    }
    n.write_raw(stream, {1, 2, 3, 4, 5, 7, 11, 13, 1024, 3, 4096, 1});
    n.close();
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  subscriber sub{c};
  REQUIRE(sub.subscribe("orders\\..*", 7u) == 1u);
  for (std::uint64_t i = 0; i < count; ++i) {
    auto d = sub.next(5s);
    REQUIRE(d.has_value());
    CHECK(*d == sample(i));
  }
  CHECK_FALSE(sub.next(5s).has_value()); // the node closed after the last frame
  CHECK_FALSE(sub.is_open());
  CHECK(sub.error().find("closed") != std::string::npos);
  CHECK(sub.ignored_frames() == 4);
  CHECK(node.join().empty());
  CHECK(seen == protocol::subscribe{1, "orders\\..*", true, 7});
}

TEST_CASE("subscribe without a from seq asks for live only; unsubscribe stops deliveries") {
  std::vector<protocol::message> got;
  fake_node node{[&](node_side& n) {
    n.answer_hello();
    for (int i = 0; i < 2; ++i)
      if (auto m = n.read())
        got.push_back(*m);
    n.write(protocol::delivered{1, 5, "a", 5, 0, "t", "after unsubscribe"});
    n.write(protocol::close_frame{protocol::close_code::shutdown, "bye"});
    n.read();
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  subscriber sub{c};
  REQUIRE(sub.subscribe("t", std::nullopt) == 1u);
  CHECK(sub.unsubscribe(1));
  CHECK_FALSE(sub.next(5s).has_value());
  CHECK(sub.error().find("shutdown") != std::string::npos);
  CHECK(sub.ignored_frames() == 1);
  CHECK(node.join().empty());
  REQUIRE(got.size() == 2);
  CHECK(std::get<protocol::subscribe>(got[0]) == protocol::subscribe{1, "t", false, 0});
  CHECK(std::get<protocol::unsubscribe>(got[1]) == protocol::unsubscribe{1});
}

TEST_CASE("subscriber collects the gap notices of its subscriptions ahead of the first delivery") {
  fake_node node{[&](node_side& n) {
    n.answer_hello();
    n.read(); // subscribe
    n.write(protocol::subscription_gap{1, "", 10, 19, protocol::gap_reason::retention});
    n.write(protocol::subscription_gap{9, "", 1, 2, protocol::gap_reason::retention}); // not ours
    n.write(protocol::delivered{1, 20, "a", 20, 0, "t", "first held"});
    n.read(); // until the client closes
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  subscriber sub{c};
  REQUIRE(sub.subscribe("t", 10) == 1u);
  auto d = sub.next(5s);
  REQUIRE(d.has_value());
  CHECK(d->seq == 20);
  auto gaps = sub.take_gaps();
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0] == protocol::subscription_gap{1, "", 10, 19, protocol::gap_reason::retention});
  CHECK(sub.take_gaps().empty()); // handed over once
  CHECK(sub.ignored_frames() == 1);
  c.close();
  CHECK(node.join().empty());
}
