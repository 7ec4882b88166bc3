// client_connection against a scripted fake node: the hello exchange and each way it fails.
#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "fake_node.hpp"

using namespace std::chrono_literals;
using tandem::client::client_connection;
using tandem::test::fake_node;
using tandem::test::node_side;
namespace protocol = tandem::protocol;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("hello exchange names the client and learns the node's instance name, and close says goodbye") {
  protocol::client_hello seen;
  fake_node node{[&](node_side& n) {
    n.answer_hello("node-a");
    seen = n.hello;
    auto bye = n.read();
    n.expect(bye && std::holds_alternative<protocol::close_frame>(*bye) &&
               std::get<protocol::close_frame>(*bye).code == protocol::close_code::normal,
             "close() sends close_frame{normal}");
    n.expect(!n.read().has_value(), "then the client hangs up");
  }};
  client_connection c;
  CHECK(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  CHECK(c.is_open());
  CHECK(c.node_name() == "node-a");
  c.close();
  CHECK(node.join().empty());
  CHECK(seen == protocol::client_hello{protocol::protocol_major, protocol::protocol_minor, "test-client"});
}

TEST_CASE("version mismatch reports the node's close code and reason") {
  fake_node node{[](node_side& n) {
    n.read();
    n.write(protocol::close_frame{protocol::close_code::version_mismatch, "node speaks protocol 2.0"});
    n.close();
  }};
  client_connection c;
  auto err = c.connect("127.0.0.1", node.port(), "old-client", 5s);
  CHECK(contains(err, "version_mismatch"));
  CHECK(contains(err, "node speaks protocol 2.0"));
  CHECK_FALSE(c.is_open());
  CHECK(c.error() == err);
  CHECK(node.join().empty());
}

TEST_CASE("a node answering with another major version is refused") {
  fake_node node{[](node_side& n) {
    n.read();
    n.write(protocol::client_hello{2, 0, "future-node"});
    n.read(); // until the client hangs up
  }};
  client_connection c;
  auto err = c.connect("127.0.0.1", node.port(), "test-client", 5s);
  CHECK(contains(err, "version mismatch"));
  CHECK(contains(err, "2.0"));
  CHECK_FALSE(c.is_open());
  CHECK(node.join().empty());
}

TEST_CASE("connection refused is reported with the endpoint") {
  tandem::test::refusing_port down;
  const auto port = down.port();
  client_connection c;
  auto err = c.connect("127.0.0.1", port, "test-client", 5s);
  CHECK(contains(err, "127.0.0.1:" + std::to_string(port)));
  CHECK(contains(err, "refused"));
  CHECK_FALSE(c.is_open());
}

TEST_CASE("a node that never answers the hello times out") {
  tandem::test::gate done;
  fake_node node{[&](node_side& n) {
    n.read();
    done.wait();
  }};
  client_connection c;
  auto start = std::chrono::steady_clock::now();
  auto err = c.connect("127.0.0.1", node.port(), "test-client", 200ms);
  auto took = std::chrono::steady_clock::now() - start;
  done.open();
  CHECK(contains(err, "timed out"));
  CHECK(took >= 190ms);
  CHECK(took < 3s);
  CHECK_FALSE(c.is_open());
  CHECK(node.join().empty());
}

TEST_CASE("an oversized frame length fails the connection without buffering the body") {
  fake_node node{[](node_side& n) {
    n.answer_hello();
    const std::string header = "\xF0\xFF\xFF\xFF"; // u32 LE length 4294967280
    n.write_raw(header + std::string(1000, 'x'));
    n.read(); // until the client hangs up
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  CHECK_FALSE(c.receive(5s).has_value());
  CHECK_FALSE(c.is_open());
  CHECK(contains(c.error(), "exceeds maximum"));
  CHECK(c.buffered_receive_bytes() == 0);
  c.close();
  CHECK(node.join().empty());
}

TEST_CASE("the receive bound is configurable: a frame over max_frame_bytes is refused") {
  fake_node node{[](node_side& n) {
    n.answer_hello();
    n.write(protocol::heartbeat{7});
    n.write(protocol::close_frame{protocol::close_code::normal, std::string(2000, 'r')});
    n.read();
  }};
  client_connection c{{.max_frame_bytes = 1024, .max_send_buffer = 4096}};
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  auto hb = c.receive(5s);
  REQUIRE(hb.has_value());
  CHECK(std::get<protocol::heartbeat>(*hb).sent_unix_ns == 7);
  CHECK_FALSE(c.receive(5s).has_value());
  CHECK(contains(c.error(), "exceeds maximum 1024"));
  CHECK(node.join().empty());
}

TEST_CASE("receive times out quietly and keeps the connection open") {
  tandem::test::gate done;
  fake_node node{[&](node_side& n) {
    n.answer_hello();
    done.wait();
  }};
  client_connection c;
  REQUIRE(c.connect("127.0.0.1", node.port(), "test-client", 5s) == "");
  CHECK_FALSE(c.receive(50ms).has_value());
  CHECK(c.is_open());
  CHECK(c.error() == "");
  done.open();
  CHECK(node.join().empty());
}
