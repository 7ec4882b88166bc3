// TLS on the replication links (issue 18, docs/security.md "TLS between nodes"), with real tandemd
// processes and certificates the test makes (tests/support/cert_factory.hpp): a TLS pair
// replicates both ways; a certificate naming another instance than the hello is refused with
// close{auth}; another CA's and an expired certificate fail the handshake; the wrong protocol on
// either side fails at once (well inside the 10 s silence timeout); config errors name their path.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <chrono>
#include <string>
#include <tuple>

#include "tests/support/cert_factory.hpp"
#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
using namespace std::chrono_literals;

namespace {

// The node's `tls` section for `cert`, signed by (and trusting) `ca`.
nlohmann::json tls_section(const cert_authority& ca, const cert_files& cert) {
  return {{"cert_file", cert.cert_file}, {"key_file", cert.key_file}, {"ca_file", ca.ca_file()}};
}

// Rewrites a configured node: its tls section, TLS on its replication listener (listen_tls) and on
// every destination it dials (dial_tls).
void use_tls(const test_node& n, const nlohmann::json& section, bool listen_tls, bool dial_tls) {
  auto c = nlohmann::json::parse(read_file(n.config_file()));
  c["tls"] = section;
  c["replication"]["tls"] = listen_tls;
  for (auto& d : c["destinations"])
    d["tls"] = dial_tls;
  write_file(n.config_file(), c.dump(2));
}

std::uint64_t refusals(const test_node& n, const char* reason) {
  auto s = n.status();
  if (!s.is_object() || !s["tls"].is_object())
    return 0;
  return s["tls"]["refusals"].value(reason, std::uint64_t{0});
}

bool log_has(const test_node& n, const std::string& needle) { return n.log().find(needle) != std::string::npos; }

struct pki {
  temp_dir dir;
  cert_authority ca{dir.path(), "tandem"};
  cert_files node(const std::string& name) const { return ca.issue(name, {"tandem:instance/" + name}); }
};

// Two nodes naming each other as sync destinations; `*_dials`: whether each dials the other.
struct two_nodes {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  two_nodes(bool a_dials, bool b_dials) {
    a.configure({{destination_spec{"B", "sync", a_dials, {}}, &b}});
    b.configure({{destination_spec{"A", "sync", b_dials, {}}, &a}});
  }
  void start() {
    a.start();
    b.start();
  }
  void stop() {
    CHECK(a.stop() == 0);
    CHECK(b.stop() == 0);
  }
};

} // namespace

TEST_CASE("tls pair: A and B replicate both ways over TLS 1.3, every record exactly once") {
  two_nodes n{true, true};
  auto [p, a, b] = std::tie(n.p, n.a, n.b);
  use_tls(a, tls_section(p.ca, p.node("A")), true, true);
  use_tls(b, tls_section(p.ca, p.node("B")), true, true);
  n.start();
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 10s),
                  "A log:\n" << a.log() << "\nB log:\n" << b.log());
  auto from_a = publish_n(a, "pa", 200);
  auto from_b = publish_n(b, "pb", 200);
  CHECK_MESSAGE(from_a.error.empty(), from_a.error);
  CHECK_MESSAGE(from_b.error.empty(), from_b.error);
  CHECK(from_a.persisted == 200);
  CHECK(from_b.persisted == 200);
  // Sync destinations: persisted means durable on the partner too.
  auto s = a.status();
  REQUIRE(s["tls"].is_object());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(s["tls"]["certificate_expires_unix"].get<std::int64_t>() > now);
  CHECK(s["tls"]["seconds_until_expiry"].get<std::int64_t>() > 80000);
  bool all_tls = !s["replication_connections"].empty();
  for (const auto& c : s["replication_connections"])
    all_tls = all_tls && c.value("tls", false) && c.value("tls_version", "") == "TLSv1.3";
  CHECK(all_tls);
  auto metrics = admin_get(a.ports().admin, "/metrics");
  CHECK(metrics.body.find("tandem_tls_certificate_expiry_seconds ") != std::string::npos);
  CHECK(metrics.body.find("tandem_replication_tls_refusals_total{reason=\"identity\"} 0") != std::string::npos);
  n.stop();
  for (const test_node* node : {&a, &b}) {
    auto counts = count_by_origin(node->journal_records());
    CHECK(counts.size() == 400);
    for (const auto& [key, times] : counts)
      CHECK_MESSAGE(times == 1, node->name() << " holds " << key.first << "/" << key.second << " " << times << " times");
  }
}

TEST_CASE("tls_impersonation_refused: C's valid certificate saying hello as B is refused with close{auth}") {
  two_nodes n{true, true};
  auto [p, a, b] = std::tie(n.p, n.a, n.b);
  use_tls(a, tls_section(p.ca, p.node("A")), true, true);
  use_tls(b, tls_section(p.ca, p.node("C")), true, true); // "B" holds C's certificate
  n.start();
  REQUIRE_MESSAGE(wait_until([&] { return refusals(a, "identity") >= 1; }, 10s), "A log:\n" << a.log());
  CHECK(wait_until([&] { return log_has(a, "certificate names C, hello says B"); }, 5s));
  // The refused node hears why (close{auth}) and says so.
  CHECK_MESSAGE(wait_until([&] { return log_has(b, "refused the connection: certificate names C, hello says B"); }, 10s),
                "B log:\n" << b.log());
  CHECK_FALSE(a.connected_to("B"));
  auto metrics = admin_get(a.ports().admin, "/metrics");
  CHECK(metrics.body.find("tandem_replication_tls_refusals_total{reason=\"identity\"} 0") == std::string::npos);
  CHECK(log_has(b, "names instance C, this node is B: peers will refuse it (close auth)"));
  n.stop();
  CHECK(count_by_origin(a.journal_records()).empty());
}

TEST_CASE("tls_other_ca_refused: a certificate from another CA fails the handshake, logged and counted") {
  two_nodes n{false, true}; // A accepts only: B dials
  auto [p, dir, a, b] = std::tie(n.p, n.dir, n.a, n.b);
  cert_authority other{dir.path(), "other"};
  use_tls(a, tls_section(p.ca, p.node("A")), true, true);
  use_tls(b, tls_section(other, other.issue("B", {"tandem:instance/B"})), true, true);
  n.start();
  REQUIRE_MESSAGE(wait_until([&] { return refusals(a, "handshake") >= 1; }, 10s), "A log:\n" << a.log());
  CHECK_MESSAGE(log_has(a, "TLS: "), a.log());
  CHECK_FALSE(a.connected_to("B"));
  n.stop();
}

TEST_CASE("tls_expired_certificate_refused: a peer with an expired certificate fails the handshake") {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({});
  use_tls(a, tls_section(p.ca, p.node("A")), true, true);
  a.start();
  // tandemd refuses to load an expired certificate of its own: the peer is a raw OpenSSL client.
  auto expired = p.ca.issue("stale", {"tandem:instance/B"}, -7200, -3600);
  SSL_CTX* raw = SSL_CTX_new(TLS_method());
  REQUIRE(SSL_CTX_use_certificate_file(raw, expired.cert_file.c_str(), SSL_FILETYPE_PEM) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey_file(raw, expired.key_file.c_str(), SSL_FILETYPE_PEM) == 1);
  REQUIRE(SSL_CTX_load_verify_locations(raw, p.ca.ca_file().c_str(), nullptr) == 1);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(a.ports().replication);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  SSL* ssl = SSL_new(raw);
  SSL_set_fd(ssl, fd);
  SSL_connect(ssl); // TLS 1.3: the client finishes first; the server checks its certificate after
  char buf[64];
  CHECK(SSL_read(ssl, buf, sizeof buf) <= 0); // the server's alert, then its close
  SSL_free(ssl);
  ::close(fd);
  SSL_CTX_free(raw);
  CHECK_MESSAGE(wait_until([&] { return refusals(a, "handshake") >= 1; }, 5s), a.log());
  CHECK_MESSAGE(wait_until([&] { return log_has(a, "certificate has expired"); }, 5s), a.log());
  CHECK(a.stop() == 0);
}

TEST_CASE("plaintext_dialer_on_tls_port: a plaintext tandemd dialing a TLS port fails within 2 s, said clearly") {
  two_nodes n{false, true}; // B: plaintext, dials A
  auto [p, a] = std::tie(n.p, n.a);
  use_tls(a, tls_section(p.ca, p.node("A")), true, true);
  n.start();
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(wait_until([&] { return log_has(a, "plaintext peer on a TLS port"); }, 5s), a.log());
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(refusals(a, "handshake") >= 1);
  n.stop();
}

TEST_CASE("tls_dialer_on_plaintext_port: a TLS tandemd dialing a plaintext port fails within 2 s, said clearly") {
  two_nodes n{true, false}; // A dials B over TLS; B: a plaintext listener
  auto [p, a, b] = std::tie(n.p, n.a, n.b);
  use_tls(a, tls_section(p.ca, p.node("A")), false, true);
  n.start();
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(wait_until([&] { return log_has(b, "TLS client on a plaintext replication port"); }, 5s), b.log());
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK_MESSAGE(wait_until([&] { return log_has(a, "the server does not speak TLS"); }, 2s), a.log());
  n.stop();
}

TEST_CASE("tls config errors name their path: a missing file, a key that does not match, tls without the section") {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"};
  auto run = [&](const nlohmann::json& edit) {
    a.configure({});
    auto c = nlohmann::json::parse(read_file(a.config_file()));
    c.update(edit, true);
    write_file(a.config_file(), c.dump(2));
    child_process proc{{tandemd_path(), "--config", a.config_file()}, dir.path(), dir.path()};
    auto code = proc.wait_exit(10s);
    CHECK(code == std::optional<int>{2});
    return proc.stderr_text();
  };
  auto good = p.node("A");
  auto other = p.node("X");
  auto missing = tls_section(p.ca, {dir / "nope.pem", good.key_file});
  auto err = run({{"tls", missing}});
  CHECK_MESSAGE(err.find("tls.cert_file " + (dir / "nope.pem") + ": cannot be read") != std::string::npos, err);
  err = run({{"tls", tls_section(p.ca, {good.cert_file, other.key_file})}});
  CHECK_MESSAGE(err.find("tls.key_file " + other.key_file + ": does not match cert_file") != std::string::npos, err);
  err = run({{"replication", {{"tls", true}}}});
  CHECK_MESSAGE(err.find("replication.tls: needs the node's tls section") != std::string::npos, err);
}
