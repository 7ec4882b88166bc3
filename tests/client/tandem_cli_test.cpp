// The `tandem publish` / `tandem subscribe` commands against the fake node: summary line, exit
// codes, one line per delivered message.
#include <doctest/doctest.h>

#include "fake_node.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using tandem::test::fake_node;
using tandem::test::node_side;
namespace protocol = tandem::protocol;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("tandem publish prints the summary and rejections and exits 1 unless all persisted") {
  fake_node node{[](node_side& n) {
    n.answer_hello();
    for (std::uint64_t s = 1; s <= 3; ++s) {
      auto m = n.read();
      auto* p = m ? std::get_if<protocol::publish>(&*m) : nullptr;
      n.expect(p && p->topic == "cli.t" && p->payload.size() == 10 && p->publisher_id == "cli-pub",
               "publish of 10 bytes on cli.t from cli-pub");
      if (s == 2)
        n.write(protocol::negative_ack{2, protocol::nack_reason::journal_error, "disk full"});
      else
        n.write(protocol::persisted_ack{s, 10 + s});
    }
    n.read(); // close_frame, then EOF
  }};
  auto endpoint = "127.0.0.1:" + std::to_string(node.port());
  auto r = tandem::test::run({tandem::test::tandem_cli_path(), "publish", "--client", endpoint, "--topic", "cli.t",
                              "--count", "3", "--size", "10", "--window", "2", "--publisher-id", "cli-pub"},
                             ".", 20s);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "published 3 to " + endpoint + ": persisted 2, rejected 1, ack latency p50 "));
  CHECK(contains(r.out, " msg/s\n"));
  CHECK(contains(r.out, "rejected seq 2: journal_error: disk full"));
  CHECK(node.join().empty());
}

TEST_CASE("tandem publish exits 1 with a clear message when nothing listens") {
  std::uint16_t port = tandem::test::free_port();
  auto r = tandem::test::run({tandem::test::tandem_cli_path(), "publish", "--client",
                              "127.0.0.1:" + std::to_string(port), "hello"},
                             ".", 20s);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "tandem: cannot connect: "));
  CHECK(contains(r.err, "127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("tandem publish and subscribe reject bad arguments with exit 2") {
  auto cli = tandem::test::tandem_cli_path();
  CHECK(tandem::test::run({cli, "publish", "--count", "0"}).exit_code == 2);
  CHECK(tandem::test::run({cli, "publish", "--count", "2", "message"}).exit_code == 2);
  CHECK(tandem::test::run({cli, "subscribe", "--from", "x"}).exit_code == 2);
  CHECK(tandem::test::run({cli, "subscribe", "--client", "nohost"}).exit_code == 2);
}

TEST_CASE("tandem subscribe prints one line per message and stops after --count") {
  protocol::subscribe seen;
  fake_node node{[&](node_side& n) {
    n.answer_hello();
    if (auto m = n.read(); m && std::holds_alternative<protocol::subscribe>(*m))
      seen = std::get<protocol::subscribe>(*m);
    n.write(protocol::delivered{1, 11, "node-a", 3, 0, "orders.eu", "hello", "gw-1", 7});
    n.write(protocol::delivered{1, 12, "node-b", 9, 0, "orders.us", std::string("a\0b", 3), "", 0});
    n.write(protocol::delivered{1, 13, "node-b", 10, 0, "orders.us", "not printed", "gw-1", 8});
    n.read();
  }};
  auto r = tandem::test::run({tandem::test::tandem_cli_path(), "subscribe", "--client",
                              "127.0.0.1:" + std::to_string(node.port()), "--topic", "orders\\..*", "--from",
                              "11", "--count", "2"},
                             ".", 20s);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "seq=11 origin=node-a:3 publisher=gw-1:7 topic=orders.eu size=5 payload=hello\n"
                 "seq=12 origin=node-b:9 publisher=-:0 topic=orders.us size=3 payload=a.b\n");
  CHECK(node.join().empty());
  CHECK(seen == protocol::subscribe{1, "orders\\..*", true, 11});
}
