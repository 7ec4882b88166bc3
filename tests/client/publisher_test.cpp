// publisher against a scripted fake node: seq assignment, the window, ack accounting.
#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "client/percentile.hpp"
#include "client/publisher.hpp"
#include "fake_node.hpp"

using namespace std::chrono_literals;
using tandem::client::client_connection;
using tandem::client::publisher;
using tandem::test::fake_node;
using tandem::test::gate;
using tandem::test::node_side;
namespace protocol = tandem::protocol;

namespace {

// Reads one publish; records a problem unless it carries `seq` (and, if given, `payload`).
std::optional<protocol::publish> expect_publish(node_side& n, std::uint64_t seq, const std::string& payload = {}) {
  auto m = n.read();
  auto* p = m ? std::get_if<protocol::publish>(&*m) : nullptr;
  n.expect(p != nullptr, "publish " + std::to_string(seq) + " arrives");
  if (p == nullptr)
    return std::nullopt;
  n.expect(p->publisher_seq == seq, "publisher_seq " + std::to_string(p->publisher_seq) + " is " + std::to_string(seq));
  n.expect(payload.empty() || p->payload == payload, "payload of seq " + std::to_string(seq) + " is " + payload);
  return *p;
}

} // namespace

TEST_CASE("publish window: at most W outstanding, publish blocks until an ack frees a slot") {
  gate got_three, release;
  fake_node node{[&](node_side& n) {
    n.answer_hello();
    for (std::uint64_t s = 1; s <= 3; ++s) {
      auto p = expect_publish(n, s);
      n.expect(p && p->publisher_id == "pub-a" && p->topic == "orders", "publisher_id and topic");
    }
    got_three.open();
    n.expect(release.wait(), "test releases the first ack");
    n.write(protocol::persisted_ack{1, 101});
    // The timed-out attempt sent nothing: the next publish on the wire is "fourth" with seq 4.
    expect_publish(n, 4, "fourth");
    for (std::uint64_t s = 2; s <= 4; ++s)
      n.write(protocol::persisted_ack{s, 100 + s});
    n.read(); // until the client hangs up
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  publisher pub{c, {"pub-a", 3}};
  for (std::uint64_t s = 1; s <= 3; ++s)
    CHECK(pub.publish("orders", "m" + std::to_string(s), 5s) == s);
  CHECK(pub.outstanding() == 3);
  REQUIRE(got_three.wait());

  CHECK_FALSE(pub.publish("orders", "never-sent", 100ms).has_value());
  CHECK(pub.error().find("window full") != std::string::npos);
  CHECK(pub.counters().sent == 3);
  CHECK(pub.next_seq() == 4);
  CHECK(c.is_open());

  release.open();
  CHECK(pub.publish("orders", "fourth", 5s) == 4u);
  CHECK(pub.outstanding() <= 3);
  CHECK(pub.wait_all(5s));
  const auto& k = pub.counters();
  CHECK(k.sent == 4);
  CHECK(k.persisted == 4);
  CHECK(k.negative == 0);
  CHECK(k.ack_latencies.size() == 4);
  CHECK(k.last_journal_seq == 104);
  CHECK(pub.outstanding() == 0);
  c.close();
  CHECK(node.join().empty());
}

TEST_CASE("negative acks are counted by reason, may overtake, and unknown acks are ignored") {
  fake_node node{[](node_side& n) {
    n.answer_hello();
    for (std::uint64_t s = 1; s <= 5; ++s)
      expect_publish(n, s);
    n.write(protocol::negative_ack{3, protocol::nack_reason::queue_full, "queue is full"});
    n.write(protocol::heartbeat{1});
    n.write(protocol::persisted_ack{99, 1}); // never sent: counted, not fatal
    for (std::uint64_t s : {1, 2, 4})
      n.write(protocol::persisted_ack{s, s});
    n.write(protocol::negative_ack{5, static_cast<protocol::nack_reason>(77), "from the future"});
    n.read();
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  publisher pub{c, {"pub-b", 10}};
  for (int i = 0; i < 5; ++i)
    REQUIRE(pub.publish("t", "x", 5s).has_value());
  CHECK(pub.wait_all(5s));
  const auto& k = pub.counters();
  CHECK(k.persisted == 3);
  CHECK(k.negative == 2);
  CHECK(k.negative_by_reason.at("queue_full") == 1);
  CHECK(k.negative_by_reason.at("code 77") == 1);
  REQUIRE(k.first_rejections.size() == 2);
  CHECK(k.first_rejections[0].publisher_seq == 3);
  CHECK(k.first_rejections[0].reason == "queue is full");
  CHECK(k.unexpected_acks == 1);
  CHECK(k.ack_latencies.size() == 3);
  c.close();
  CHECK(node.join().empty());
}

TEST_CASE("a node closing with publishes outstanding fails wait_all with its reason") {
  fake_node node{[](node_side& n) {
    n.answer_hello();
    expect_publish(n, 1);
    n.write(protocol::close_frame{protocol::close_code::shutdown, "node stopping"});
    n.close();
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  publisher pub{c, {"pub-c", 4}};
  REQUIRE(pub.publish("t", "x", 5s).has_value());
  CHECK_FALSE(pub.wait_all(5s));
  CHECK(pub.error().find("shutdown") != std::string::npos);
  CHECK(pub.error().find("node stopping") != std::string::npos);
  CHECK(pub.outstanding() == 1);
  CHECK_FALSE(pub.publish("t", "y", 1s).has_value());
  CHECK(node.join().empty());
}

TEST_CASE("a message that cannot be encoded does not use a seq and leaves the connection usable") {
  fake_node node{[](node_side& n) {
    n.answer_hello();
    expect_publish(n, 1, "ok");
    n.write(protocol::persisted_ack{1, 1});
    n.read();
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  publisher pub{c, {"pub-d", 4}};
  CHECK_FALSE(pub.publish(std::string(70000, 't'), "too long a topic", 1s).has_value());
  CHECK(pub.error().find("topic") != std::string::npos);
  CHECK(pub.next_seq() == 1);
  CHECK(pub.counters().sent == 0);
  CHECK(c.is_open());
  CHECK(pub.publish("t", "ok", 5s) == 1u);
  CHECK(pub.wait_all(5s));
  c.close();
  CHECK(node.join().empty());
}

TEST_CASE("percentile is nearest-rank and 0 without samples") {
  using ns = std::chrono::nanoseconds;
  using tandem::client::percentile;
  CHECK(percentile({}, 50) == ns{0});
  std::vector<ns> s;
  for (int i = 100; i >= 1; --i)
    s.push_back(ns{i});
  CHECK(percentile(s, 50) == ns{50});
  CHECK(percentile(s, 99) == ns{99});
  CHECK(percentile(s, 100) == ns{100});
  CHECK(percentile(s, 0) == ns{1});
  CHECK(percentile({ns{7}}, 99) == ns{7});
}

TEST_CASE("a persisted_partial ends its seq, names who lacks it, and a replicated note completes it") {
  gate acked;
  fake_node node{[&](node_side& n) {
    n.answer_hello();
    for (std::uint64_t s = 1; s <= 3; ++s)
      expect_publish(n, s);
    n.write(protocol::persisted_partial{1, 11, {"node-b"}});
    n.write(protocol::persisted_ack{2, 12});
    n.write(protocol::waiting{1500, {"node-b"}});
    n.write(protocol::persisted_partial{3, 13, {"node-b", "node-c"}});
    n.expect(acked.wait(), "the test saw the acks");
    n.write(protocol::replicated{"other-publisher", 3}); // not ours: ignored
    n.write(protocol::replicated{"pub-a", 1});           // completes seq 1 only
    n.read(); // until the client hangs up
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  publisher pub{c, {"pub-a", 8}};
  for (std::uint64_t s = 1; s <= 3; ++s)
    CHECK(pub.publish("orders", "m" + std::to_string(s), 5s) == s);
  REQUIRE(pub.wait_all(5s));
  const auto& k = pub.counters();
  CHECK(k.persisted == 3);
  CHECK(k.partial == 2);
  CHECK(k.not_on.at("node-b") == 2);
  CHECK(k.not_on.at("node-c") == 1);
  CHECK(k.unexpected_acks == 0);
  CHECK(k.waiting_notices == 1);
  REQUIRE(k.last_waiting.has_value());
  CHECK(k.last_waiting->destinations == std::vector<std::string>{"node-b"});
  acked.open();
  // Notes come with nothing outstanding: poll() reads them.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (k.replicated_notes == 0 && std::chrono::steady_clock::now() < deadline)
    REQUIRE(pub.poll(50ms));
  CHECK(k.replicated_notes == 1);
  CHECK(k.completed == 1);
  CHECK(k.ignored_frames == 1);
  c.close();
  CHECK(node.join().empty());
}
