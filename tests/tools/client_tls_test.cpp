// TLS on the client port (issue 18, docs/security.md "TLS on the client port"), with real tandemd
// processes and certificates the test makes (tests/support/cert_factory.hpp): publish and
// subscribe round trips over TLS through the `tandem` CLI and the client library; a client
// certificate naming tandem:user/NAME logs in as NAME with NAME's entitlements; another CA's, an
// expired and a missing (when required) certificate are refused; the wrong protocol either way
// fails within a bounded time and says why; an ha_publisher fails over between two TLS nodes;
// garbage and half a ClientHello close only that connection.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <chrono>
#include <string>

#include "client/client_connection.hpp"
#include "client/ha_publisher.hpp"
#include "client/publish_store.hpp"
#include "protocol/codec.hpp"
#include "tests/support/cert_factory.hpp"
#include "tests/tools/client_fixture.hpp"
#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem;
using namespace tandem::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct pki {
  temp_dir dir;
  cert_authority ca{dir.path(), "tandem"};
  cert_files node(const std::string& name) const { return ca.issue(name, {"tandem:instance/" + name}); }
  cert_files user(const std::string& name) const { return ca.issue("user-" + name, {"tandem:user/" + name}); }
};

// The node's tls section and TLS on its client port (and, with `replication`, its replication links).
void use_client_tls(const test_node& n, const pki& p, bool require_cert = false, bool replication = false) {
  auto c = json::parse(read_file(n.config_file()));
  auto cert = p.node(n.name());
  c["tls"] = {{"cert_file", cert.cert_file}, {"key_file", cert.key_file}, {"ca_file", p.ca.ca_file()}};
  c["client"]["tls"] = true;
  if (require_cert)
    c["client"]["tls_require_client_cert"] = true;
  if (replication) {
    c["replication"]["tls"] = true;
    for (auto& d : c["destinations"])
      d["tls"] = true;
  }
  write_file(n.config_file(), c.dump(2));
}

std::shared_ptr<const tls::context> client_context(const std::string& ca_file, const cert_files* cert = nullptr) {
  std::shared_ptr<const tls::context> ctx;
  client::tls_settings s{ca_file, cert ? cert->cert_file : "", cert ? cert->key_file : "", ""};
  auto err = client::load_tls(s, ctx);
  REQUIRE_MESSAGE(err.empty(), err);
  return ctx;
}

std::string connect_tls(client::client_connection& c, const test_node& n, std::shared_ptr<const tls::context> ctx,
                        std::chrono::milliseconds timeout = 10s) {
  c.set_tls(std::move(ctx));
  return c.connect("127.0.0.1", n.ports().client, "tls-test", timeout);
}

json client_status(const test_node& n) {
  auto s = n.status();
  return s.is_object() && s.contains("client_listener") ? s["client_listener"] : json{};
}

std::uint64_t client_tls_count(const test_node& n, const char* key) {
  auto c = client_status(n);
  return c.is_object() && c["tls"].is_object() ? c["tls"].value(key, std::uint64_t{0}) : 0;
}

// The node's /metrics text ("" when it does not answer).
std::string metrics_of(const test_node& n) {
  auto r = admin_get(n.ports().admin, "/metrics");
  return r.ok ? r.body : std::string{};
}

bool log_has(const test_node& n, const std::string& what, std::chrono::milliseconds within = 10s) {
  return wait_until([&] { return n.log().find(what) != std::string::npos; }, within, 20ms);
}


int dial(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// A raw OpenSSL client presenting `cert` (which tandem's own loader would refuse to load: expired,
// or from a CA the node does not trust): true when the node let it read anything after the
// handshake, i.e. it was not refused. The node trusts `server_ca` for its own certificate.
bool raw_client_accepted(std::uint16_t port, const cert_files& cert, const std::string& server_ca) {
  SSL_CTX* raw = SSL_CTX_new(TLS_method());
  REQUIRE(SSL_CTX_use_certificate_file(raw, cert.cert_file.c_str(), SSL_FILETYPE_PEM) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey_file(raw, cert.key_file.c_str(), SSL_FILETYPE_PEM) == 1);
  REQUIRE(SSL_CTX_load_verify_locations(raw, server_ca.c_str(), nullptr) == 1);
  const int fd = dial(port);
  SSL* ssl = SSL_new(raw);
  SSL_set_fd(ssl, fd);
  SSL_connect(ssl); // TLS 1.3: the client finishes first; the server checks its certificate after
  // A client_hello frame: if the node accepted the certificate, it answers with its own.
  std::string hello;
  protocol::encode(protocol::client_hello{protocol::protocol_major, protocol::protocol_minor, "raw"}, hello);
  SSL_write(ssl, hello.data(), static_cast<int>(hello.size()));
  char buf[256];
  const bool accepted = SSL_read(ssl, buf, sizeof buf) > 0;
  SSL_free(ssl);
  ::close(fd);
  SSL_CTX_free(raw);
  return accepted;
}


} // namespace

TEST_CASE("client_tls_round_trip: tandem publish and subscribe over TLS 1.3, and the library") {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({});
  use_client_tls(a, p);
  a.start();
  const auto client = "127.0.0.1:" + std::to_string(a.ports().client);
  auto pub = run({tandem_cli_path(), "publish", "--client", client, "--tls-ca", p.ca.ca_file(), "--topic", "tls.t",
                  "--count", "50", "--timeout-ms", "10000"},
                 ".", 30s);
  CHECK_MESSAGE(pub.exit_code == 0, pub.out << pub.err);
  CHECK_MESSAGE(pub.out.find("persisted 50") != std::string::npos, pub.out);
  auto sub = run({tandem_cli_path(), "subscribe", "--client", client, "--tls-ca", p.ca.ca_file(), "--topic", "tls\\..*",
                  "--from", "1", "--expect", "50", "--timeout-ms", "10000"},
                 ".", 30s);
  CHECK_MESSAGE(sub.exit_code == 0, sub.out << sub.err);
  // The library: TLS 1.3, the node's name checked against its certificate.
  client::client_connection c;
  REQUIRE(connect_tls(c, a, client_context(p.ca.ca_file())).empty());
  CHECK(c.tls_version() == "TLSv1.3");
  CHECK(c.node_name() == "A");
  c.close();
  // Without --tls-ca a TLS flag is a usage error; an unreadable CA file too.
  CHECK(run({tandem_cli_path(), "publish", "--client", client, "--tls-server-name", "x", "hi"}).exit_code == 2);
  CHECK(run({tandem_cli_path(), "publish", "--client", client, "--tls-ca", dir / "nope.pem", "hi"}).exit_code == 2);
  auto st = client_status(a);
  CHECK(st["tls"]["enabled"] == true);
  CHECK(a.status()["tls"]["client_listener"] == true);
  CHECK(a.stop() == 0);
  CHECK(count_by_origin(a.journal_records()).size() == 50);
}

TEST_CASE("client_tls_server_identity: a certificate naming another instance, or a wrong server name, is refused") {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({});
  use_client_tls(a, p);
  auto c0 = json::parse(read_file(a.config_file()));
  auto other = p.node("Z"); // A serves Z's certificate
  c0["tls"]["cert_file"] = other.cert_file;
  c0["tls"]["key_file"] = other.key_file;
  write_file(a.config_file(), c0.dump(2));
  a.start();
  client::client_connection c;
  auto err = connect_tls(c, a, client_context(p.ca.ca_file()));
  CHECK_MESSAGE(err.find("certificate names instance Z, its hello says A") != std::string::npos, err);
  client::client_connection d;
  d.set_tls(client_context(p.ca.ca_file()), "not-this-host.example");
  auto err2 = d.connect("127.0.0.1", a.ports().client, "tls-test", 10s);
  CHECK_MESSAGE(err2.find("TLS") != std::string::npos, err2);
  client::client_connection e;
  e.set_tls(client_context(p.ca.ca_file()), "localhost"); // the test certificates carry DNS localhost
  auto err3 = e.connect("127.0.0.1", a.ports().client, "tls-test", 10s);
  CHECK_MESSAGE(err3.find("certificate names instance Z") != std::string::npos, err3);
  CHECK(a.stop() == 0);
}

TEST_CASE("client_cert_login: the certificate's user gets that user's entitlements, no password") {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"};
  const auto users_file = dir / "users.json";
  write_file(users_file, json{{"users",
                               {{{"name", "carol"}, {"certificate_only", true}, {"publish", {"fills"}}, {"subscribe", {"fills"}}},
                                {{"name", "alice"}, {"password_hash", hash_of("alice-pw")}, {"publish", {"orders\\..*"}}}}}}
                           .dump(2));
  a.configure({}, {{"auth", {{"users_file", users_file}}}});
  use_client_tls(a, p);
  a.start();
  auto carol = p.user("carol");
  client::client_connection c;
  REQUIRE(connect_tls(c, a, client_context(p.ca.ca_file(), &carol)).empty());
  REQUIRE(c.send(protocol::publish{"fills", "x", "carol-pub", 1}, 1s));
  auto m1 = next_frame(c);
  REQUIRE(m1);
  CHECK(std::holds_alternative<protocol::persisted_ack>(*m1));
  REQUIRE(c.send(protocol::publish{"orders.x", "x", "carol-pub", 2}, 1s));
  auto m2 = next_frame(c);
  REQUIRE(m2);
  auto* nack = std::get_if<protocol::negative_ack>(&*m2);
  REQUIRE(nack != nullptr);
  CHECK(nack->reason_code == protocol::nack_reason::not_entitled);
  c.close();
  CHECK(client_status(a)["auth"]["certificate_logins"] == 1);
  // The CLI: a certificate and no --user.
  const auto client = "127.0.0.1:" + std::to_string(a.ports().client);
  auto cli = run({tandem_cli_path(), "publish", "--client", client, "--tls-ca", p.ca.ca_file(), "--tls-cert",
                  carol.cert_file, "--tls-key", carol.key_file, "--topic", "fills", "hi"},
                 ".", 30s);
  CHECK_MESSAGE(cli.exit_code == 0, cli.out << cli.err);
  // A hello that names another user than the certificate: refused (close{auth}).
  client::client_connection d;
  d.set_credentials({"alice", "alice-pw"});
  auto err = connect_tls(d, a, client_context(p.ca.ca_file(), &carol));
  CHECK_MESSAGE(err.find("auth") != std::string::npos, err);
  CHECK(log_has(a, "presents a certificate for user 'carol' but its hello says 'alice'"));
  // No certificate: the password path, which a certificate-only user cannot pass.
  client::client_connection e;
  e.set_credentials({"carol", "anything"});
  CHECK_FALSE(connect_tls(e, a, client_context(p.ca.ca_file())).empty());
  client::client_connection f;
  f.set_credentials({"alice", "alice-pw"});
  CHECK(connect_tls(f, a, client_context(p.ca.ca_file())).empty());
  f.close();
  // A certificate for a user the users file does not have.
  auto mallory = p.user("mallory");
  client::client_connection g;
  CHECK_FALSE(connect_tls(g, a, client_context(p.ca.ca_file(), &mallory)).empty());
  auto failures = client_status(a)["auth"]["login_failures_by_reason"];
  CHECK(failures["certificate_mismatch"] == 1);
  CHECK(failures["unknown_user"] == 1);
  CHECK(failures["bad_password"] == 1);
  CHECK(a.stop() == 0);
}

TEST_CASE("client_cert_refused: another CA's and an expired certificate fail the handshake; a required one must come") {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  a.configure({});
  use_client_tls(a, p);
  b.configure({});
  use_client_tls(b, p, /*require_cert=*/true);
  a.start();
  b.start();
  cert_authority other{dir.path(), "other"};
  auto foreign = other.issue("user-carol", {"tandem:user/carol"});
  auto expired = p.ca.issue("stale", {"tandem:user/carol"}, -7200, -3600);
  auto good = p.user("carol");
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(raw_client_accepted(a.ports().client, foreign, p.ca.ca_file()));
  CHECK_FALSE(raw_client_accepted(a.ports().client, expired, p.ca.ca_file()));
  CHECK(raw_client_accepted(a.ports().client, good, p.ca.ca_file())); // the control: the same client, a good cert
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);                   // refusals are at once, not timeouts
  CHECK(wait_until([&] { return client_tls_count(a, "handshake_failures") == 2; }, 5s));
  CHECK(metric_value(metrics_of(a), "tandem_client_tls_refusals_total{reason=\"handshake\"}") == 2);
  CHECK(log_has(a, "certificate has expired"));
  // B requires a certificate: a client with none is refused; one with a good certificate is not.
  client::client_connection none;
  auto err = connect_tls(none, b, client_context(p.ca.ca_file()));
  CHECK_MESSAGE(!err.empty(), "a client without a certificate was let in");
  client::client_connection with;
  CHECK(connect_tls(with, b, client_context(p.ca.ca_file(), &good)).empty());
  with.close();
  CHECK(wait_until([&] { return client_tls_count(b, "handshake_failures") == 1; }, 5s));
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

TEST_CASE("client_tls_wrong_protocol: plaintext on a TLS port and TLS on a plaintext port fail at once, saying why") {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  a.configure({});
  use_client_tls(a, p);
  b.configure({});
  a.start();
  b.start();
  auto t0 = std::chrono::steady_clock::now();
  client::client_connection plain;
  auto err = plain.connect("127.0.0.1", a.ports().client, "plain", 10s);
  CHECK_MESSAGE(err.find("this client port speaks TLS (client.tls)") != std::string::npos, err);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(log_has(a, "plaintext client on a TLS client port"));
  t0 = std::chrono::steady_clock::now();
  client::client_connection tls_client;
  auto err2 = connect_tls(tls_client, b, client_context(p.ca.ca_file()));
  CHECK_MESSAGE(err2.find("the server does not speak TLS") != std::string::npos, err2);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(log_has(b, "TLS client on a plaintext client port"));
  CHECK(client_tls_count(a, "wrong_protocol") == 1);
  CHECK(client_tls_count(b, "wrong_protocol") == 1);
  for (auto* n : {&a, &b}) {
    const auto text = metrics_of(*n);
    CHECK(metric_value(text, "tandem_client_tls_refusals_total{reason=\"wrong_protocol\"}") == 1);
    CHECK(metric_value(text, "tandem_client_tls_refusals_total{reason=\"handshake\"}") == 0);
  }
  // The CLI says the same and exits 1.
  auto cli = run({tandem_cli_path(), "publish", "--client", "127.0.0.1:" + std::to_string(a.ports().client), "hi"}, ".", 30s);
  CHECK(cli.exit_code == 1);
  CHECK_MESSAGE(cli.err.find("speaks TLS") != std::string::npos, cli.err);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

TEST_CASE("client_tls_hostile: garbage and half a ClientHello close that connection only") {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({}, {{"limits", {{"handshake_timeout_ms", 1000}}}});
  use_client_tls(a, p);
  a.start();
  client::client_connection good;
  REQUIRE(connect_tls(good, a, client_context(p.ca.ca_file())).empty());
  // Garbage: answered with a plaintext close frame and closed at once.
  auto garbage = poke(a.ports().client, std::string(300, '\xAB'), 3s);
  REQUIRE(garbage);
  CHECK(garbage->find("speaks TLS") != std::string::npos);
  // A TLS record header claiming a handshake, then garbage inside: the handshake fails, closed.
  auto bad_record = poke(a.ports().client, std::string("\x16\x03\x01\x00\x20", 5) + std::string(32, '\x01'), 3s);
  CHECK(bad_record.has_value());
  // Half a ClientHello, then silence: closed by the handshake timeout (1 s), not held.
  const int fd = dial(a.ports().client);
  const std::string half("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  REQUIRE(::send(fd, half.data(), half.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(half.size()));
  auto closed = read_until_closed(fd, 5s);
  CHECK(closed.has_value());
  ::close(fd);
  // The good connection is untouched and still publishes.
  REQUIRE(good.send(protocol::publish{"t", "x", "good", 1}, 1s));
  auto m = next_frame(good);
  REQUIRE(m);
  CHECK(std::holds_alternative<protocol::persisted_ack>(*m));
  CHECK(good.is_open());
  good.close();
  CHECK(a.running());
  CHECK(a.stop() == 0);
}

TEST_CASE("client_tls_failover: an ha_publisher fails over between two TLS nodes and every message arrives once") {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  // B acks on its own once A is gone (async to A); A waits for B (sync).
  a.configure({{destination_spec{"B", "sync", true, {}}, &b}});
  b.configure({{destination_spec{"A", "async", true, {}}, &a}});
  use_client_tls(a, p, false, true);
  use_client_tls(b, p, false, true);
  a.start();
  b.start();
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 10s), a.log() << b.log());
  client::memory_publish_store store;
  client::ha_publisher_options o;
  o.name = "ha-tls";
  o.servers = {{"127.0.0.1", a.ports().client}, {"127.0.0.1", b.ports().client}};
  o.failover.connect_timeout = 2000ms;
  o.tls = client_context(p.ca.ca_file());
  client::ha_publisher pub{o, store};
  for (int i = 0; i < 100; ++i)
    REQUIRE(pub.publish("ha.t", "m" + std::to_string(i), 10s));
  REQUIRE(pub.wait_acked(20s));
  a.kill();
  for (int i = 100; i < 200; ++i)
    REQUIRE_MESSAGE(pub.publish("ha.t", "m" + std::to_string(i), 20s), pub.error());
  CHECK_MESSAGE(pub.wait_acked(30s), pub.error());
  CHECK(pub.counters().failovers >= 1);
  pub.close();
  CHECK(b.stop() == 0);
  std::map<std::uint64_t, int> seen;
  for (const auto& r : b.journal_records())
    if (r.publisher == "ha-tls")
      ++seen[r.publisher_seq];
  CHECK(seen.size() == 200);
  for (const auto& [seq, n] : seen)
    CHECK_MESSAGE(n == 1, "seq " << seq << " held " << n << " times");
}
