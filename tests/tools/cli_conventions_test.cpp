// Issue 21, part 4: the CLI and log conventions an operator meets, checked on the real `tandem`
// and `tandemd` binaries: --help per command, `tandem status PORT`, -s/--server, subscribe's
// notices and --expect, one log line per failed dial, the refill line only when refilling, the
// publish summary's resends from the store, `--set name=H` moving the defaulted group, a failed
// bind leaving nothing on disk, one version string, and bash completion from the option table.
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/tools/node_fixture.hpp"

using namespace tandem::test;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

run_result cli(std::vector<std::string> args, std::chrono::milliseconds timeout = 20s) {
  args.insert(args.begin(), tandem_cli_path());
  return run(args, ".", timeout);
}

std::string loopback(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// A node on fresh ports in `dir`, named `name`, up and answering.
struct running_node {
  node_ports ports;
  child_process proc;
  running_node(const temp_dir& dir, const std::string& name, std::vector<std::string> extra = {})
    : proc(tandemd_args(ports, with_data_dir(dir, name, std::move(extra))), dir.path(), log_dir(dir, name)) {}
  static std::string log_dir(const temp_dir& dir, const std::string& name) {
    fs::create_directories(dir / ("log-" + name));
    return dir / ("log-" + name);
  }
  static std::vector<std::string> with_data_dir(const temp_dir& dir, const std::string& name,
                                                std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--set", "data_dir=" + dir / ("data-" + name)});
    return extra;
  }
};

// A TCP socket listening on a runtime port, so that binding that port fails.
struct port_blocker {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::uint16_t port = 0;
  port_blocker() {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  ~port_blocker() { ::close(fd); }
};

} // namespace

TEST_CASE("every tandem subcommand's --help and -h print its usage to stdout and exit 0") {
  for (std::string cmd : {"status", "publish", "subscribe", "destination"})
    for (std::string flag : {"--help", "-h"}) {
      auto r = cli({cmd, flag});
      CAPTURE(cmd + " " + flag);
      CHECK(r.exit_code == 0);
      CHECK(r.out.rfind("usage:\n  tandem " + cmd + " ", 0) == 0);
      CHECK(r.err.empty());
    }
  auto r = cli({"publish", "--bogus"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(contains(r.err, "tandem: unknown argument '--bogus'\nusage:\n  tandem publish "));
}

TEST_CASE("tandem status PORT, -p PORT and -s HOST:PORT reach the node's admin endpoint") {
  temp_dir dir;
  running_node node{dir, "a"};
  REQUIRE(wait_until_up(node.proc, node.ports.admin));
  const auto port = std::to_string(node.ports.admin);
  for (const auto& args : std::vector<std::vector<std::string>>{
         {"status", "--json", port}, {"status", "--json", "-p", port}, {"status", "--json", "--port", port},
         {"status", "--json", "-s", loopback(node.ports.admin)},
         {"status", "--json", "--server", loopback(node.ports.admin)}}) {
    auto r = cli(args);
    CAPTURE(args[2]);
    CHECK(r.exit_code == 0);
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    CHECK((doc.is_object() && doc.contains("journal")));
  }
  auto r = cli({"status", port, "-p", port});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "tandem: give the admin endpoint once"));
}

TEST_CASE("tandem subscribe says it is waiting, and --expect N exits 1 naming how many of N arrived") {
  temp_dir dir;
  running_node node{dir, "a"};
  REQUIRE(wait_until_up(node.proc, node.ports.admin));
  const auto client = loopback(node.ports.client);
  auto pub = cli({"publish", "-s", client, "--topic", "cli.t", "hello"});
  REQUIRE(pub.exit_code == 0);
  const std::string waiting = "tandem: subscribed at " + client + " (topic cli\\..*); waiting for messages";

  auto r = cli({"subscribe", "--server", client, "--topic", "cli\\..*", "--from", "1", "--timeout-ms", "300",
                "--expect", "2"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, waiting + " (2 expected), up to 300 ms for each\n"));
  CHECK(contains(r.err, "tandem: only 1 of 2 expected messages arrived (none for 300 ms)\n"));
  CHECK(contains(r.out, "topic=cli.t size=5 payload=hello\n"));

  r = cli({"subscribe", "--client", client, "--topic", "cli\\..*", "--from", "1", "--timeout-ms", "300",
           "--expect", "1"});
  CHECK(r.exit_code == 0);
  CHECK(!contains(r.err, "expected messages arrived"));

  // Without --expect an idle end stays a normal end.
  r = cli({"subscribe", "--client", client, "--topic", "none\\..*", "--timeout-ms", "300"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "tandem: subscribed at " + client + " (topic none\\..*); waiting for messages, up to 300 ms"));

  // Failover subscribing names the server it cannot reach and the one it subscribed at.
  const auto dead = free_port(); // closed: connect() is refused
  r = cli({"subscribe", "--servers", loopback(dead) + "," + client, "--topic", "cli\\..*", "--timeout-ms", "300",
           "--expect", "1"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "tandem: cannot reach " + loopback(dead) + ": "));
  CHECK(contains(r.err, waiting));
}

TEST_CASE("tandem subscribe over --servers says when it fails over to the next server") {
  temp_dir dir;
  auto first = std::make_unique<running_node>(dir, "a");
  running_node second{dir, "b"};
  REQUIRE(wait_until_up(first->proc, first->ports.admin));
  REQUIRE_MESSAGE(wait_until_up(second.proc, second.ports.admin), second.proc.stderr_text());
  const auto a = loopback(first->ports.client), b = loopback(second.ports.client);
  fs::create_directories(dir / "log-sub");
  child_process sub{{tandem_cli_path(), "subscribe", "--servers", a + "," + b, "--topic", "cli\\..*", "--timeout-ms",
                     "20000", "--expect", "1"},
                    dir.path(), dir / "log-sub"};
  REQUIRE(wait_until([&] { return contains(sub.stderr_text(), "tandem: subscribed at " + a + " "); }, 20s));
  REQUIRE(first->proc.terminate("a") == 0);
  first.reset();
  CHECK(wait_until([&] { return contains(sub.stderr_text(), "tandem: failed over from " + a + " to " + b); }, 20s));
  REQUIRE(cli({"publish", "-s", b, "--topic", "cli.t", "on-b"}).exit_code == 0);
  CHECK(sub.wait_exit(20s) == 0);
  CHECK(contains(sub.stdout_text(), "topic=cli.t size=4 payload=on-b\n"));
}

TEST_CASE("a failed dial logs one line naming the destination and the errno; a clean start logs no refill") {
  temp_dir dir;
  node_ports b_ports;
  running_node a{dir, "A",
                 {"--set", "name=A", "--set",
                  R"(destinations=[{"name":"B","sync_type":"async","addresses":[")" + loopback(b_ports.replication) +
                    R"("],"reconnect":{"initial_ms":50,"max_ms":300}}])"}};
  REQUIRE(wait_until_up(a.proc, a.ports.admin));
  const std::string dial = "dial B (" + loopback(b_ports.replication) + ") failed: Connection refused; next attempt ";
  CHECK(wait_until([&] { return contains(a.proc.stderr_text(), dial); }, 20s));
  CHECK(!contains(a.proc.stderr_text(), "connection with ?"));
  CHECK(!contains(a.proc.stderr_text(), "could not connect"));

  // B comes up: the pair replicates, and neither has anything of the other's to send back.
  const auto b_args = tandemd_args(b_ports, {"--set", "name=B", "--set", "data_dir=" + dir / "data-B", "--set",
                                             R"(destinations=[{"name":"A","sync_type":"async","addresses":[]}])"});
  fs::create_directories(dir / "log-B");
  auto b = std::make_unique<child_process>(b_args, dir.path(), dir / "log-B");
  REQUIRE(wait_until_up(*b, b_ports.admin));
  CHECK(wait_until([&] { return contains(a.proc.stderr_text(), "replicating with B"); }, 30s));
  CHECK(!contains(a.proc.stderr_text(), "sent back to it"));
  CHECK(!contains(b->stderr_text(), "sent back to it"));

  // B publishes one record, A holds it; B loses its data dir and comes back: now A has something
  // to refill, and says so once, naming the first record sent back (seqs are incarnation-based).
  REQUIRE(cli({"publish", "-s", loopback(b_ports.client), "--topic", "cli.t", "from-b"}).exit_code == 0);
  REQUIRE(cli({"subscribe", "-s", loopback(a.ports.client), "--from", "1", "--timeout-ms", "10000", "--expect", "1"})
            .exit_code == 0);
  REQUIRE(b->terminate("B") == 0);
  b.reset();
  fs::remove_all(dir / "data-B");
  fs::create_directories(dir / "log-B2");
  b = std::make_unique<child_process>(b_args, dir.path(), dir / "log-B2");
  REQUIRE(wait_until_up(*b, b_ports.admin));
  const std::string refill = "'s journal starts at seq ";
  CHECK(wait_until([&] { return contains(a.proc.stderr_text(), refill); }, 30s));
  const auto log = a.proc.stderr_text();
  const auto at = log.find(refill);
  const auto line = log.substr(log.rfind('\n', at) + 1, log.find('\n', at) - log.rfind('\n', at) - 1);
  CHECK_MESSAGE(contains(line, "its own records below that are sent back to it, from origin_seq "), line);
  CHECK(log.find(refill) == log.rfind(refill)); // once
}

TEST_CASE("the tandem publish summary counts the resends of what an earlier run left in the store") {
  temp_dir dir;
  const auto dead = free_port();
  auto first = cli({"publish", "--servers", loopback(dead), "--publisher-name", "p21", "--store-file", dir / "store",
                    "--count", "5", "--size", "10", "--timeout-ms", "300"});
  REQUIRE(first.exit_code == 1); // nothing reachable: all five stay in the store
  running_node node{dir, "a"};
  REQUIRE(wait_until_up(node.proc, node.ports.admin));
  auto second = cli({"publish", "--servers", loopback(node.ports.client), "--publisher-name", "p21", "--store-file",
                     dir / "store", "--count", "1", "--size", "10"});
  CHECK(second.exit_code == 0);
  CHECK(contains(second.out, "published 1 via " + loopback(node.ports.client) +
                               " as p21: persisted 6, rejected 0, resent 5, already held 0"));
}

TEST_CASE("tandemd --set name=H on the embedded default sets the defaulted group too") {
  temp_dir dir;
  running_node node{dir, "a", {"--set", "name=H21"}};
  REQUIRE(wait_until_up(node.proc, node.ports.admin));
  auto r = admin_get(node.ports.admin, "/status");
  REQUIRE(r.ok);
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  CHECK(doc.value("name", "") == "H21");
  CHECK(doc.value("group", "") == "H21");
}

TEST_CASE("a failed bind leaves no data dir and no lock file behind") {
  temp_dir dir;
  port_blocker busy;
  node_ports ports;
  ports.admin = busy.port; // the last listener bound: the others were bound and are closed again
  auto r = run(tandemd_args(ports), dir.path(), 20s);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "cannot bind admin listener " + loopback(busy.port) + ": Address already in use"));
  CHECK(!fs::exists(dir / "tandem-data"));
}

TEST_CASE("tandem --version and tandemd --version print the same version") {
  auto c = cli({"--version"});
  auto d = run({tandemd_path(), "--version"}, ".", 20s);
  CHECK(c.exit_code == 0);
  CHECK(d.exit_code == 0);
  CHECK(c.out == std::string{"tandem "} + TANDEM_VERSION + "\n");
  CHECK(d.out.rfind(std::string{"tandemd "} + TANDEM_VERSION + " (CAF ", 0) == 0);
}

TEST_CASE("tandem completion bash completes commands and each command's options from the option table") {
  const auto self = tandem_cli_path();
  auto r = run({"/bin/bash", "-c", "source <('" + self + "' completion bash) && complete -p tandem"}, ".", 20s);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "complete -o default -F _tandem tandem\n");
  auto complete = [&](const std::string& words, int cword) {
    return run({"/bin/bash", "-c", "source <('" + self + "' completion bash) && COMP_WORDS=(" + words +
                                ") && COMP_CWORD=" + std::to_string(cword) + " && _tandem && echo \"${COMPREPLY[*]}\""},
               ".", 20s)
      .out;
  };
  CHECK(complete("tandem sub", 1) == "subscribe\n");
  CHECK(complete("tandem subscribe --exp", 2) == "--expect\n");
  CHECK(complete("tandem status --se", 2) == "--server\n");
  auto bad = cli({"completion", "zsh"});
  CHECK(bad.exit_code == 2);
}
