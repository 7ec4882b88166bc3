// The admin listener under hostile or sloppy HTTP clients: every bad request gets a clear status
// and a closed connection, silent clients are dropped at the deadline, and the connection count is
// bounded, while the node keeps answering. Also the debug endpoint /debug/hops.
#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/tools/node_fixture.hpp"

using namespace tandem::test;

namespace {

std::string http_exchange(std::uint16_t port, const std::string& bytes) {
  auto answer = poke(port, bytes, 3s);
  REQUIRE(answer.has_value());
  return *answer;
}

struct admin_node {
  temp_dir dir;
  node_ports ports;
  std::unique_ptr<child_process> proc;

  explicit admin_node(std::vector<std::string> extra = {}) {
    proc = std::make_unique<child_process>(tandemd_args(ports, extra), dir.path(), dir.path());
    REQUIRE(wait_until_up(*proc, ports.admin));
  }
};

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

} // namespace

TEST_CASE("admin: unknown path is 404, POST is 405, garbage is 400, and the node carries on") {
  admin_node node;
  CHECK(starts_with(http_exchange(node.ports.admin, "GET /nope HTTP/1.1\r\n\r\n"), "HTTP/1.1 404"));
  CHECK(starts_with(http_exchange(node.ports.admin, "POST /status HTTP/1.1\r\n\r\n"), "HTTP/1.1 405"));
  CHECK(starts_with(http_exchange(node.ports.admin, "\x01\x02garbage\r\n\r\n"), "HTTP/1.1 400"));
  CHECK(starts_with(http_exchange(node.ports.admin, "GET /status HTTP/9.9\r\n\r\n"), "HTTP/1.1 400"));
  auto ok = admin_get(node.ports.admin, "/status");
  CHECK(ok.ok);
  CHECK(ok.status == 200);
  CHECK(node.proc->stderr_text().find("malformed request") != std::string::npos);
}

TEST_CASE("admin: an endless request head is refused with 431 at 8 KiB") {
  admin_node node;
  std::string huge = "GET /status HTTP/1.1\r\nX-Filler: " + std::string(20000, 'a');
  auto answer = http_exchange(node.ports.admin, huge);
  CHECK(starts_with(answer, "HTTP/1.1 431"));
  CHECK(admin_get(node.ports.admin, "/healthz").status == 200);
}

TEST_CASE("admin: a silent client is disconnected at the request deadline") {
  admin_node node{{"--set", "limits.handshake_timeout_ms=300"}};
  int fd = connect_loopback(node.ports.admin);
  REQUIRE(fd >= 0);
  auto t0 = std::chrono::steady_clock::now();
  auto answer = read_until_closed(fd, 3s);
  ::close(fd);
  REQUIRE(answer.has_value());
  CHECK(answer->empty());
  CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
  CHECK(node.proc->stderr_text().find("no complete request within 300 ms") != std::string::npos);
}

TEST_CASE("admin: connections beyond the limit are closed at once while the others are served") {
  admin_node node{{"--set", "limits.max_admin_connections=2", "--set", "limits.handshake_timeout_ms=5000"}};
  int a = connect_loopback(node.ports.admin);
  int b = connect_loopback(node.ports.admin);
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  // Both idle slots are taken once the node has accepted them; a third connection is refused.
  std::optional<std::string> third;
  REQUIRE(wait_until([&] {
    int c = connect_loopback(node.ports.admin);
    third = read_until_closed(c, 500ms);
    ::close(c);
    return third.has_value();
  }, 5s));
  CHECK(third->empty());
  CHECK(node.proc->stderr_text().find("2 admin connections open") != std::string::npos);
  ::close(a);
  ::close(b);
  CHECK(wait_until([&] { return admin_get(node.ports.admin, "/healthz").status == 200; }, 5s));
}

TEST_CASE("admin: clients that request /metrics and never read stall nothing; publishing goes on") {
  admin_node node{{"--set", "limits.max_admin_connections=4", "--set", "limits.handshake_timeout_ms=20000"}};
  // Every admin slot held by a client that asks for the largest answer and then reads nothing,
  // with a tiny receive buffer so the answer cannot all be taken off the node's hands.
  std::vector<int> stuck;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    int small = 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(node.ports.admin);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
    stuck.push_back(fd);
  }
  auto published = run({tandem_cli_path(), "publish", "--client", "127.0.0.1:" + std::to_string(node.ports.client),
                        "--count", "3000", "--size", "512", "--timeout-ms", "10000"},
                       ".", 20s);
  CHECK(published.exit_code == 0);
  CHECK(published.out.find("persisted 3000") != std::string::npos);
  for (int fd : stuck)
    ::close(fd);
  // The slots free up and the node answers again.
  CHECK(wait_until([&] { return admin_get(node.ports.admin, "/healthz").status == 200; }, 5s));
}

TEST_CASE("admin: /debug/hops is 404 unless tandemd started with TANDEM_HOP_TRACE; with it, each publish's hops") {
  {
    ::unsetenv("TANDEM_HOP_TRACE");
    admin_node off;
    CHECK(admin_get(off.ports.admin, "/debug/hops").status == 404);
  }
  for (const char* careless : {"0", "-5", "lots", ""}) { // not a positive number: off, not an error
    ::setenv("TANDEM_HOP_TRACE", careless, 1);
    admin_node off;
    CHECK_MESSAGE(admin_get(off.ports.admin, "/debug/hops").status == 404, careless);
  }
  ::setenv("TANDEM_HOP_TRACE", "4096", 1);
  admin_node node;
  ::unsetenv("TANDEM_HOP_TRACE"); // the child has it; later tests do not
  CHECK(node.proc->stderr_text().find("TANDEM_HOP_TRACE is set") != std::string::npos);
  auto published = run({tandem_cli_path(), "publish", "--client", "127.0.0.1:" + std::to_string(node.ports.client),
                        "--count", "5", "--window", "1", "--timeout-ms", "10000"},
                       ".", 20s);
  REQUIRE(published.exit_code == 0);
  auto r = admin_get(node.ports.admin, "/debug/hops");
  REQUIRE(r.status == 200);
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  REQUIRE(doc.is_object());
  CHECK(doc["capacity"] == 4096);
  std::map<std::string, int> seen;
  for (const auto& m : doc["marks"]) ++seen[m[0].get<std::string>()];
  // One publish at a time: each passes the single node's path once.
  for (const char* point : {"client_read", "journal_in", "committer_in", "written", "synced", "commit_done", "client_ack"})
    CHECK_MESSAGE(seen[point] >= 5, point);
  // One page holds them all (far below hop_trace::max_page_marks): next is the end.
  CHECK(doc["from"] == 0);
  CHECK(doc["next"] == doc["end"]);
  CHECK(doc["end"].get<std::size_t>() == doc["marks"].size());
  auto tail = nlohmann::json::parse(admin_get(node.ports.admin, "/debug/hops?from=" + doc["end"].dump()).body, nullptr, false);
  REQUIRE(tail.is_object());
  CHECK(tail["marks"].empty());
  // A careless query is a 400 with the form it takes, not a 500 or a whole dump.
  for (const char* bad : {"/debug/hops?from=abc", "/debug/hops?from=", "/debug/hops?limit=5", "/debug/hops?from=99999999999999999999"}) {
    auto refused = admin_get(node.ports.admin, bad);
    CHECK_MESSAGE(refused.status == 400, bad);
    CHECK(refused.body.find("from=K") != std::string::npos);
  }
}
