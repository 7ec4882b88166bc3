// tandemd as an operator runs it: command line, config checking, startup failures, signals.
#include <csignal>
#include <filesystem>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/tools/node_fixture.hpp"

using namespace tandem::test;
namespace fs = std::filesystem;

namespace {

std::string example(const std::string& name) { return std::string{TANDEM_SOURCE_DIR} + "/config/examples/" + name; }

} // namespace

TEST_CASE("version names tandem and the CAF version it runs on") {
  auto r = run({tandemd_path(), "--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("tandemd 0.1.0") != std::string::npos);
  CHECK(r.out.find("CAF 0.17.6") != std::string::npos);
}

TEST_CASE("help describes the modes and exit codes") {
  auto r = run({tandemd_path(), "--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("--check-config FILE") != std::string::npos);
  CHECK(r.out.find("exit codes") != std::string::npos);
}

TEST_CASE("unknown argument is a usage error with exit 2") {
  auto r = run({tandemd_path(), "--frobnicate"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown argument '--frobnicate'") != std::string::npos);
}

TEST_CASE("check-config accepts every example and prints the normalized config") {
  for (auto name : {"pair-a.json", "pair-b.json", "failover.json", "failover-b1.json", "failover-b2.json",
                    "accept-only.json", "accept-only-inside.json"}) {
    CAPTURE(name);
    auto r = run({tandemd_path(), "--check-config", example(name)});
    CHECK(r.exit_code == 0);
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(doc.is_discarded());
    CHECK(doc.contains("journal"));
    CHECK(doc.contains("limits"));
    CHECK(doc["destinations"].is_array());
  }
}

TEST_CASE("check-config reports every problem with its JSON path and exits 2") {
  temp_dir dir;
  write_file(dir / "bad.json", R"({"name": "A", "data_dir": ")" + dir / "data" + R"(",
    "admin": {"port": 70000},
    "destinations": [{"name": "B", "sync_type": "sycn", "addresses": ["127.0.0.1:1"]}]})");
  auto r = run({tandemd_path(), "--check-config", dir / "bad.json"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("destinations[0].sync_type") != std::string::npos);
  CHECK(r.err.find("sycn") != std::string::npos);
  CHECK(r.err.find("admin.port") != std::string::npos);
  CHECK(r.out.empty());
}

TEST_CASE("a config error starts nothing and writes nothing to the data dir") {
  temp_dir dir;
  write_file(dir / "bad.json", R"({"name": "A", "data_dir": ")" + dir / "data" + R"(", "jornal": {}})");
  auto r = run({tandemd_path(), "--config", dir / "bad.json"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("jornal") != std::string::npos);
  CHECK(r.err.find("did you mean \"journal\"") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "data"));
}

TEST_CASE("a malformed --set is a usage error") {
  auto r = run({tandemd_path(), "--check-config", example("pair-a.json"), "--set", "noequals"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("expected PATH=VALUE") != std::string::npos);
}

TEST_CASE("--set overrides are validated like the file") {
  auto r = run({tandemd_path(), "--check-config", example("pair-a.json"), "--set", "admin.port=0", "--set",
                "destinations[0].sync_type=async"});
  CHECK(r.exit_code == 0);
  auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["admin"]["port"] == 0);
  CHECK(doc["destinations"][0]["sync_type"] == "async");
  auto bad = run({tandemd_path(), "--check-config", example("pair-a.json"), "--set", "admin.port=-1"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("admin.port") != std::string::npos);
}

TEST_CASE("the embedded default node starts, answers status and stops on SIGTERM within 2 s") {
  temp_dir dir;
  node_ports ports;
  child_process node{tandemd_args(ports), dir.path(), dir.path()};
  REQUIRE(wait_until_up(node, ports.admin));

  auto status = admin_get(ports.admin, "/status");
  REQUIRE(status.ok);
  CHECK(status.status == 200);
  auto doc = nlohmann::json::parse(status.body);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  CHECK(doc["name"].get<std::string>().substr(0, 3) == std::string{host}.substr(0, 3));
  CHECK(doc["data_dir"] == "./tandem-data");
  CHECK(doc["listeners"]["admin"]["port"] == ports.admin);
  CHECK(doc["listeners"]["replication"]["port"] == ports.replication);
  CHECK(doc["actors"]["running"].get<int>() >= 2);
  CHECK(fs::exists(dir / "tandem-data/tandemd.lock"));

  auto cli = run({tandem_cli_path(), "status", "--admin", "127.0.0.1:" + std::to_string(ports.admin)});
  CHECK(cli.exit_code == 0);
  CHECK(cli.out.find("state       running") != std::string::npos);

  auto t0 = std::chrono::steady_clock::now();
  node.signal(SIGTERM);
  auto code = node.wait_exit(2s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  // The clean stop says how long it took and where the time went.
  const auto err = node.stderr_text();
  CHECK(err.find("stopped cleanly in ") != std::string::npos);
  CHECK(err.find(" ms (actors ") != std::string::npos);
  CHECK(err.find(", committer ") != std::string::npos);
  CHECK(err.find(", actor system ") != std::string::npos);
}

TEST_CASE("SIGINT stops the node cleanly too") {
  temp_dir dir;
  node_ports ports;
  child_process node{tandemd_args(ports), dir.path(), dir.path()};
  REQUIRE(wait_until_up(node, ports.admin));
  node.signal(SIGINT);
  auto code = node.wait_exit(2s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("a second tandemd on the same data dir is refused with a clear message") {
  temp_dir dir;
  node_ports first_ports, second_ports;
  auto args = [&](const node_ports& p) { return tandemd_args(p, {"--set", "data_dir=" + dir / "data"}); };
  child_process first{args(first_ports), dir.path(), dir.path()};
  REQUIRE(wait_until_up(first, first_ports.admin));
  auto second = run(args(second_ports), dir.path(), 10s);
  CHECK(second.exit_code == 1);
  CHECK(second.err.find("is in use by another tandemd (pid " + std::to_string(first.pid()) + ")")
        != std::string::npos);
  CHECK(first.running());
}

TEST_CASE("a port in use fails startup with one clear line") {
  temp_dir dir;
  int blocker = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(blocker, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(blocker, 1) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(blocker, reinterpret_cast<sockaddr*>(&sa), &len);
  auto busy = ntohs(sa.sin_port);
  node_ports ports;
  ports.client = busy;
  auto r = run(tandemd_args(ports), dir.path(), 10s);
  ::close(blocker);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot bind client listener 127.0.0.1:" + std::to_string(busy) + ": Address already in use")
        != std::string::npos);
}

TEST_CASE("a data dir that cannot be created fails startup with one clear line") {
  temp_dir dir;
  write_file(dir / "not-a-dir", "x");
  node_ports ports;
  auto r = run(tandemd_args(ports, {"--set", "data_dir=" + dir / "not-a-dir/data"}), dir.path(), 10s);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot create data dir") != std::string::npos);
}
