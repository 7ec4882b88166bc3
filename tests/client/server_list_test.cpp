// server_list: parsing, and the failover rule (top of the list first, growing wait after each
// failed pass) checked against real sockets for the dials and a virtual clock for the waits.
#include <doctest/doctest.h>

#include "client/server_list.hpp"
#include "fake_node.hpp"

using namespace std::chrono_literals;
using tandem::client::attempt_report;
using tandem::client::client_connection;
using tandem::client::failover_clock;
using tandem::client::failover_options;
using tandem::client::parse_servers;
using tandem::client::server_address;
using tandem::client::server_list;
using tandem::client::setup_result;
using tandem::client::steady_clock;
using tandem::test::fake_node;
using tandem::test::node_side;
using tandem::test::refusing_port;

namespace {

// Time that moves only when the code under test sleeps; every sleep is recorded.
struct virtual_clock {
  steady_clock::time_point now = steady_clock::now();
  std::vector<std::chrono::milliseconds> sleeps;

  failover_clock clock() {
    return {[this] { return now; },
            [this](steady_clock::time_point t) {
              sleeps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(t - now));
              now = std::max(now, t);
            }};
  }
};

failover_options no_jitter(std::chrono::milliseconds initial, std::chrono::milliseconds max) {
  failover_options o;
  o.backoff = {initial, max, 2.0, 0.0};
  o.connect_timeout = 2s;
  return o;
}

server_address local(std::uint16_t port) { return {"127.0.0.1", port}; }

// Serves the hello, then waits until the client goes away.
void serve_until_closed(node_side& n) {
  n.answer_hello();
  n.read();
}

} // namespace

TEST_CASE("parse_servers reads host:port lists in order and names a bad entry") {
  auto ok = parse_servers("a.example:27101, 10.0.0.2:1,[::1]:65535");
  REQUIRE(ok.error == "");
  REQUIRE(ok.servers.size() == 3);
  CHECK(ok.servers[0] == server_address{"a.example", 27101});
  CHECK(ok.servers[1] == server_address{"10.0.0.2", 1});
  CHECK(ok.servers[2] == server_address{"::1", 65535});
  CHECK(parse_servers("a:1,b").error == "server 2 'b': expected host:port");
  CHECK(parse_servers("a:0").error == "server 1 'a:0': port must be 1..65535");
  CHECK(parse_servers("a:65536").error == "server 1 'a:65536': port must be 1..65535");
  CHECK(parse_servers("").error == "server 1 '': expected host:port");
  CHECK(parse_servers("a:1,").servers.empty());
}

TEST_CASE("after each failed pass the wait grows by the multiplier up to the max (virtual clock)") {
  refusing_port a, b;
  virtual_clock vc;
  const auto start = vc.now;
  server_list servers{{local(a.port()), local(b.port())}, no_jitter(100ms, 400ms), vc.clock()};
  std::vector<std::size_t> dialed;
  servers.set_attempt_observer([&](const attempt_report& r) { dialed.push_back(r.index); });
  client_connection c;
  auto r = servers.connect(c, "t", start + 1000ms, {});
  CHECK_FALSE(r.connected);
  CHECK_FALSE(r.fatal);
  // Passes at 0, 100, 300 and 700 ms; the next would start at 1100 ms, after the deadline.
  CHECK(vc.sleeps == std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms});
  CHECK(dialed == std::vector<std::size_t>{0, 1, 0, 1, 0, 1, 0, 1});
  CHECK(servers.cycler().passes_failed() == 4);
  CHECK(r.error.find("Connection refused") != std::string::npos);
  CHECK(r.error.find("next attempt in 400 ms") != std::string::npos);
  // The wait stays due: a call with more time sleeps it out first, then dials from the top.
  dialed.clear();
  r = servers.connect(c, "t", vc.now + 450ms, {});
  CHECK_FALSE(r.connected);
  CHECK(vc.sleeps.back() == 400ms);
  CHECK(dialed == std::vector<std::size_t>{0, 1});
}

TEST_CASE("a refused first server fails over to the second; the next search starts at the top again") {
  refusing_port down;
  fake_node b{std::vector<fake_node::script>{serve_until_closed, serve_until_closed}};
  virtual_clock vc;
  server_list servers{{local(down.port()), local(b.port())}, no_jitter(100ms, 1000ms), vc.clock()};
  std::vector<attempt_report> attempts;
  servers.set_attempt_observer([&](const attempt_report& r) { attempts.push_back(r); });
  client_connection c;
  auto r = servers.connect(c, "t", vc.now + 5s, {});
  REQUIRE(r.connected);
  REQUIRE(servers.current() != nullptr);
  CHECK(*servers.current() == local(b.port()));
  CHECK(vc.sleeps.empty()); // no full pass failed: no wait
  c.close();
  vc.now += 2s; // a long session: no penalty on the reconnect
  servers.on_disconnected();
  r = servers.connect(c, "t", vc.now + 5s, {});
  REQUIRE(r.connected);
  c.close();
  servers.on_disconnected();
  REQUIRE(attempts.size() == 4);
  CHECK(attempts[0].index == 0);
  CHECK(attempts[0].error.find("refused") != std::string::npos);
  CHECK(attempts[1].index == 1);
  CHECK(attempts[1].error == "");
  CHECK(attempts[2].index == 0); // top of the list first, although b served last
  CHECK(attempts[3].index == 1);
  CHECK(servers.failovers() == 0); // both connections went to b
  CHECK(b.join().empty());
}

TEST_CASE("the first server is used again as soon as it answers; moving between servers counts failovers") {
  fake_node a{std::vector<fake_node::script>{serve_until_closed, serve_until_closed}};
  fake_node b{std::vector<fake_node::script>{serve_until_closed}};
  virtual_clock vc;
  server_list servers{{local(a.port()), local(b.port())}, no_jitter(100ms, 1000ms), vc.clock()};
  client_connection c;
  // A setup that refuses a's first session sends the search on to b.
  int setups = 0;
  auto setup = [&](client_connection&, steady_clock::time_point) {
    return ++setups == 1 ? setup_result::failed("not ready") : setup_result::ok();
  };
  REQUIRE(servers.connect(c, "t", vc.now + 5s, setup).connected);
  CHECK(*servers.current() == local(b.port()));
  c.close();
  vc.now += 2s;
  servers.on_disconnected();
  REQUIRE(servers.connect(c, "t", vc.now + 5s, setup).connected);
  CHECK(*servers.current() == local(a.port()));
  CHECK(servers.failovers() == 1);
  c.close();
  servers.on_disconnected();
  CHECK(a.join().empty());
  CHECK(b.join().empty());
}

TEST_CASE("a fatal setup stops the search at once") {
  fake_node a{serve_until_closed};
  fake_node b{std::vector<fake_node::script>{serve_until_closed}};
  virtual_clock vc;
  server_list servers{{local(a.port()), local(b.port())}, no_jitter(100ms, 1000ms), vc.clock()};
  client_connection c;
  auto r = servers.connect(c, "t", vc.now + 5s,
                           [](client_connection&, steady_clock::time_point) { return setup_result::fatal("in use"); });
  CHECK_FALSE(r.connected);
  CHECK(r.fatal);
  CHECK(r.error.find("in use") != std::string::npos);
  b.stop_accepting();
  CHECK(a.join().empty());
  CHECK(b.join().empty());
  CHECK(b.connections() == 0);
}

TEST_CASE("a session that ends at once delays the next dial by the initial backoff") {
  fake_node a{std::vector<fake_node::script>{serve_until_closed, serve_until_closed}};
  virtual_clock vc;
  server_list servers{{local(a.port())}, no_jitter(250ms, 1000ms), vc.clock()};
  client_connection c;
  REQUIRE(servers.connect(c, "t", vc.now + 5s, {}).connected);
  c.close();
  servers.on_disconnected(); // no virtual time passed: shorter than min_session
  auto r = servers.connect(c, "t", vc.now + 100ms, {});
  CHECK_FALSE(r.connected);
  CHECK(r.error.find("next attempt in 250 ms") != std::string::npos);
  REQUIRE(servers.connect(c, "t", vc.now + 5s, {}).connected);
  CHECK(vc.sleeps == std::vector<std::chrono::milliseconds>{250ms});
  c.close();
  servers.on_disconnected();
  CHECK(a.join().empty());
}
