// The `tandem publish` / `tandem subscribe` commands against the fake node: summary line, exit
// codes, one line per delivered message; the failover options (--servers, --store-file,
// --bookmark-file, the special starts) and their usage errors.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <map>

#include <unistd.h>

#include "client/bookmark.hpp"
#include "fake_node.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using tandem::test::fake_node;
using tandem::test::gate;
using tandem::test::node_side;
using tandem::test::refusing_port;
using tandem::test::temp_dir;
namespace protocol = tandem::protocol;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string loopback(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// The next publish from the client, or an empty one (noted as a problem) if none came.
protocol::publish expect_publish(node_side& n) {
  auto m = n.read();
  auto* p = m ? std::get_if<protocol::publish>(&*m) : nullptr;
  n.expect(p != nullptr, "a publish");
  return p ? *p : protocol::publish{};
}

// Reads the subscribe_from the client sends after its hello.
protocol::subscribe_from expect_subscribe_from(node_side& n) {
  n.answer_hello();
  auto m = n.read();
  auto* s = m ? std::get_if<protocol::subscribe_from>(&*m) : nullptr;
  n.expect(s != nullptr, "subscribe_from follows the hello");
  return s ? *s : protocol::subscribe_from{};
}

// `tandem` with `args`, expected to fail with exit 2 and `message` on stderr.
void check_usage_error(std::vector<std::string> args, const std::string& message) {
  args.insert(args.begin(), tandem::test::tandem_cli_path());
  auto r = tandem::test::run(args, ".", 10s);
  CHECK_MESSAGE(r.exit_code == 2, args[1] << " " << args[2] << ": " << r.err);
  CHECK_MESSAGE(contains(r.err, message), r.err);
  CHECK(r.out.empty());
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

TEST_CASE("tandem publish --servers fails over to the second server when the first is down") {
  refusing_port down;
  std::vector<protocol::publish> got;
  fake_node b{[&](node_side& n) {
    n.answer_hello();
    n.expect(n.answer_logon(0) == std::optional<std::string>{"cli-ha"}, "logon as cli-ha");
    for (std::uint64_t s = 1; s <= 2; ++s) {
      got.push_back(expect_publish(n));
      n.write(protocol::persisted_ack{s, 100 + s});
    }
    n.read(); // until the client closes
  }};
  const std::string servers = loopback(down.port()) + "," + loopback(b.port());
  auto r = tandem::test::run({tandem::test::tandem_cli_path(), "publish", "--servers", servers, "--publisher-name",
                              "cli-ha", "--topic", "cli.t", "--count", "2", "--size", "10"},
                             ".", 30s);
  CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
  CHECK(contains(r.out, "published 2 via " + servers + " as cli-ha: persisted 2, rejected 0, "));
  CHECK(b.join().empty());
  REQUIRE(got.size() == 2);
  CHECK(got[0] == protocol::publish{"cli.t", "1 cdefghij", "cli-ha", 1});
  CHECK(got[1] == protocol::publish{"cli.t", "2 cdefghij", "cli-ha", 2});
}

TEST_CASE("tandem publish --store-file: a killed and restarted publisher resends what was never acked") {
  temp_dir dir;
  gate all_sent;
  std::vector<protocol::publish> first_run, second_run;
  fake_node a{[&](node_side& n) {
    n.answer_hello();
    n.answer_logon(0);
    for (int i = 0; i < 3; ++i)
      first_run.push_back(expect_publish(n));
    all_sent.open(); // no ack comes: the store still holds 1..3 when the client dies
    n.read(); // until the client dies
  }};
  const std::vector<std::string> common = {"--publisher-name", "cli-store", "--store-file", dir / "store", "--topic",
                                           "cli.t", "--size", "10"};
  {
    std::vector<std::string> argv = {tandem::test::tandem_cli_path(), "publish", "--servers", loopback(a.port()),
                                     "--count", "3", "--timeout-ms", "60000"};
    argv.insert(argv.end(), common.begin(), common.end());
    tandem::test::child_process first{argv, ".", dir.path()};
    REQUIRE(all_sent.wait(10s));
    first.signal(SIGKILL);
    CHECK(first.wait_exit(10s) == 128 + SIGKILL);
  }
  CHECK(a.join().empty());
  REQUIRE(first_run.size() == 3);

  // The restarted run (same name, same store) on a node that holds seq 1 (it was stored, the ack
  // lost): 1 is dropped by the logon, 2 and 3 are resent as they were, then its own message
  // takes seq 4.
  fake_node b{[&](node_side& n) {
    n.answer_hello();
    n.answer_logon(1);
    for (std::uint64_t s = 2; s <= 4; ++s) {
      second_run.push_back(expect_publish(n));
      n.write(protocol::persisted_ack{s, 10 + s});
    }
    n.read();
  }};
  std::vector<std::string> argv = {tandem::test::tandem_cli_path(), "publish", "--servers", loopback(b.port()),
                                   "--count", "1"};
  argv.insert(argv.end(), common.begin(), common.end());
  auto r = tandem::test::run(argv, ".", 30s);
  CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
  CHECK(contains(r.out, "as cli-store: persisted 4, rejected 0, "));
  CHECK(b.join().empty());
  REQUIRE(second_run.size() == 3);
  CHECK(second_run[0] == first_run[1]);
  CHECK(second_run[1] == first_run[2]);
  CHECK(second_run[2] == protocol::publish{"cli.t", "1 cdefghij", "cli-store", 4});
}

TEST_CASE("tandem subscribe --bookmark-file resumes after a restart; lines show origin and publisher") {
  temp_dir dir;
  const std::string long_payload(70, 'x');
  protocol::subscribe_from first, second;
  fake_node a{[&](node_side& n) {
    first = expect_subscribe_from(n);
    n.write(protocol::delivered{first.subscription_id, 21, "node-a", 1, 5, "orders.eu", "hello world", "gw:1", 7});
    n.write(protocol::delivered{first.subscription_id, 22, "node-a", 2, 6, "orders.eu", long_payload, "gw:1", 8});
    n.read(); // until the client closes
  }};
  const std::vector<std::string> common = {tandem::test::tandem_cli_path(), "subscribe", "--topic", "orders\\..*",
                                           "--bookmark-file", dir / "bookmark", "--count"};
  auto argv = common;
  argv.insert(argv.end(), {"2", "--servers", loopback(a.port())});
  auto r1 = tandem::test::run(argv, ".", 30s);
  CHECK_MESSAGE(r1.exit_code == 0, r1.err);
  CHECK(r1.out == "seq=21 origin=node-a:1 publisher=gw:1:7 topic=orders.eu size=11 payload=hello world\n"
                  "seq=22 origin=node-a:2 publisher=gw:1:8 topic=orders.eu size=70 payload=" +
                    long_payload.substr(0, 64) + "...\n");
  CHECK(a.join().empty());
  CHECK(first.start == protocol::subscribe_start::after_bookmark);
  CHECK(first.bookmark.empty());
  CHECK(std::filesystem::exists(dir / "bookmark"));

  // The restarted subscriber, on another node: it subscribes after what it saw, and a copy of a
  // record it already printed (here under the same origin) is not printed again.
  fake_node b{[&](node_side& n) {
    second = expect_subscribe_from(n);
    n.write(protocol::delivered{second.subscription_id, 90, "node-a", 2, 6, "orders.eu", "again", "gw:1", 8});
    n.write(protocol::delivered{second.subscription_id, 91, "node-a", 3, 7, "orders.us", "next", "gw:1", 9});
    n.read();
  }};
  argv = common;
  argv.insert(argv.end(), {"1", "--client", loopback(b.port())});
  auto r2 = tandem::test::run(argv, ".", 30s);
  CHECK_MESSAGE(r2.exit_code == 0, r2.err);
  CHECK(r2.out == "seq=91 origin=node-a:3 publisher=gw:1:9 topic=orders.us size=4 payload=next\n");
  CHECK(b.join().empty());
  CHECK(second.start == protocol::subscribe_start::after_bookmark);
  CHECK(second.bookmark == std::vector<protocol::bookmark_entry>{{"node-a", 2}});
}

TEST_CASE("tandem subscribe --from-time takes ISO 8601 UTC or unix ns; --from-now and --fully-durable reach the node") {
  auto subscription_for = [](std::vector<std::string> flags) {
    protocol::subscribe_from seen;
    fake_node n{[&](node_side& side) {
      seen = expect_subscribe_from(side);
      side.read(); // until the client closes (idle after --timeout-ms)
    }};
    std::vector<std::string> argv = {tandem::test::tandem_cli_path(), "subscribe", "--client", loopback(n.port()),
                                     "--timeout-ms", "200"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto r = tandem::test::run(argv, ".", 30s);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out.empty());
    CHECK(n.join().empty());
    return seen;
  };
  auto iso = subscription_for({"--from-time", "2026-11-22T10:00:00.25Z", "--fully-durable"});
  CHECK(iso.start == protocol::subscribe_start::from_time);
  CHECK(iso.time_ns == 1795341600'250000000);
  CHECK(iso.fully_durable);
  auto ns = subscription_for({"--from-time", "1795341600000000001"});
  CHECK(ns.start == protocol::subscribe_start::from_time);
  CHECK(ns.time_ns == 1795341600'000000001);
  CHECK_FALSE(ns.fully_durable);
  CHECK(subscription_for({"--from-now"}).start == protocol::subscribe_start::now);
}

TEST_CASE("tandem publish and subscribe: bad failover flags are usage errors (exit 2) that say what is wrong") {
  check_usage_error({"subscribe", "--from-start", "--from-now"}, "give one of --from-start, --from-now and --from-time");
  check_usage_error({"subscribe", "--from-time", "2026-02-30T10:00:00Z"}, "--from-time: expected ISO 8601 UTC");
  check_usage_error({"subscribe", "--from-time", "2026-11-22 10:00:00"}, "--from-time: expected ISO 8601 UTC");
  check_usage_error({"subscribe", "--from-time", "2026-11-22T10:00:00+01:00"}, "--from-time: expected ISO 8601 UTC");
  check_usage_error({"subscribe", "--from-time"}, "--from-time needs a value");
  check_usage_error({"subscribe", "--servers", ""}, "--servers: ");
  check_usage_error({"subscribe", "--servers", "127.0.0.1:1", "--client", "127.0.0.1:2"}, "not both");
  check_usage_error({"subscribe", "--bookmark-file", "b", "--from", "5"}, "--from SEQ");
  check_usage_error({"subscribe", "--fully-durable", "--bogus"}, "unknown argument '--bogus'");
  check_usage_error({"publish", "--servers", "nohost"}, "--servers: ");
  check_usage_error({"publish", "--servers", "127.0.0.1:1", "--client", "127.0.0.1:2"}, "not both");
  check_usage_error({"publish", "--store-file", "s"}, "--store-file needs --publisher-name");
  check_usage_error({"publish", "--publisher-name", "a", "--publisher-id", "b"}, "not both");
}

TEST_CASE("tandem subscribe stops on SIGINT with its bookmark saved and exits 0") {
  temp_dir dir;
  fake_node a{[&](node_side& n) {
    auto s = expect_subscribe_from(n);
    for (std::uint64_t i = 1; i <= 3; ++i)
      n.write(protocol::delivered{s.subscription_id, 40 + i, "node-a", i, 5, "orders.eu", "m", "gw-1", 6 + i});
    n.read(); // until the client closes
  }};
  tandem::test::child_process sub{{tandem::test::tandem_cli_path(), "subscribe", "--servers", loopback(a.port()),
                                   "--bookmark-file", dir / "bookmark", "--timeout-ms", "60000"},
                                  ".", dir.path()};
  REQUIRE(tandem::test::wait_until([&] { return contains(sub.stdout_text(), "seq=43 "); }, 10s));
  sub.signal(SIGINT);
  CHECK(sub.wait_exit(10s) == 0); // not 128 + SIGINT: it stopped by itself
  CHECK(a.join().empty());
  auto saved = tandem::client::load_bookmark(dir / "bookmark");
  REQUIRE_MESSAGE(saved.value, saved.error);
  CHECK(saved.value->origins() == std::map<std::string, std::uint64_t>{{"node-a", 3}});
  CHECK(saved.value->publishers() == std::map<std::string, std::uint64_t>{{"gw-1", 9}});
}

TEST_CASE("tandem subscribe that recovered from a disconnect and then goes idle exits 0, not with the old error") {
  auto deliver = [](std::uint64_t origin_seq) {
    return [origin_seq](node_side& n) {
      auto s = expect_subscribe_from(n);
      n.write(protocol::delivered{s.subscription_id, origin_seq, "node-a", origin_seq, 5, "t", "m", "gw-1",
                                  origin_seq});
      if (origin_seq == 2)
        n.read(); // stays up until the client closes; the first connection drops at once
    };
  };
  fake_node a{std::vector<fake_node::script>{deliver(1), deliver(2)}};
  auto r = tandem::test::run({tandem::test::tandem_cli_path(), "subscribe", "--servers", loopback(a.port()),
                              "--timeout-ms", "1500"},
                             ".", 30s);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.out, "origin=node-a:1 "));
  CHECK(contains(r.out, "origin=node-a:2 "));
  CHECK(a.join().empty());
}

TEST_CASE("tandem subscribe exits 1 naming the reason when no server of its list answers") {
  refusing_port down;
  auto r = tandem::test::run({tandem::test::tandem_cli_path(), "subscribe", "--servers", loopback(down.port()),
                              "--timeout-ms", "1000"},
                             ".", 30s);
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(contains(r.err, "tandem: "), r.err);
  CHECK(r.out.empty());
}

TEST_CASE("tandem publish without a name uses a new publisher id on every run (host, pid, time)") {
  std::vector<std::string> ids;
  auto one_publish = [&](bool logon) {
    return [&ids, logon](node_side& n) {
      n.answer_hello();
      if (logon)
        n.answer_logon(0);
      auto m = n.read();
      auto* p = m ? std::get_if<protocol::publish>(&*m) : nullptr;
      n.expect(p != nullptr && p->publisher_seq == 1, "a publish with seq 1");
      if (p)
        ids.push_back(p->publisher_id);
      n.write(protocol::persisted_ack{1, 1});
      n.read(); // until the client closes
    };
  };
  fake_node first{one_publish(false)}, second{one_publish(true)};
  auto r1 = tandem::test::run({tandem::test::tandem_cli_path(), "publish", "--client", loopback(first.port()), "m"},
                              ".", 20s);
  auto r2 = tandem::test::run({tandem::test::tandem_cli_path(), "publish", "--servers", loopback(second.port()), "m"},
                              ".", 20s);
  CHECK_MESSAGE(r1.exit_code == 0, r1.out << r1.err);
  CHECK_MESSAGE(r2.exit_code == 0, r2.out << r2.err);
  CHECK(first.join().empty());
  CHECK(second.join().empty());
  REQUIRE(ids.size() == 2);
  char hostname[256] = "host";
  ::gethostname(hostname, sizeof hostname - 1);
  for (const auto& id : ids)
    CHECK_MESSAGE(id.rfind("tandem-cli-" + std::string{hostname} + "-", 0) == 0, id);
  CHECK(ids[0] != ids[1]); // a second run is stored, not dropped as a copy of the first
}
