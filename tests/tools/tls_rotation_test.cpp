// Certificate rotation on SIGHUP and TLS on the admin port (issue 18, docs/security.md "Rotation"
// and "The admin port"), with real tandemd processes and certificates the test makes: a TLS pair
// rotates A's certificate while both replicate under load (no connection dropped, every record
// once, new connections present the new certificate, a restarted peer reconnects); bad new files
// are refused with a log line naming the file and the old certificate kept; the admin port over
// TLS answers 401/403/200 by the bearer token rule, fails a plaintext client at once, and follows
// a rotation too.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <tuple>

#include "tests/support/cert_factory.hpp"
#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"

using namespace tandem::test;
using namespace std::chrono_literals;
namespace tls = tandem::tls;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

bool log_has(const test_node& n, const std::string& needle) { return n.log().find(needle) != std::string::npos; }

std::shared_ptr<const tls::context> must_load(const tls::files& f) {
  auto r = tls::context::load(f);
  if (auto* err = std::get_if<std::string>(&r))
    FAIL("context::load: " << *err);
  return std::get<std::shared_ptr<const tls::context>>(r);
}

// A blocking TLS client over a real socket, for the test's own probes: every wait bounded.
class tls_client {
public:
  tls_client(std::uint16_t port, std::shared_ptr<const tls::context> ctx) : session_(std::move(ctx), tls::role::client) {
    fd_ = connect_loopback(port);
  }
  ~tls_client() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;

  // Until the handshake completed, failed or the deadline passed; "" when established.
  std::string handshake(std::chrono::milliseconds timeout = 5s) {
    if (fd_ < 0)
      return "connection refused";
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (session_.current() == tls::state::handshaking && pump(deadline)) {
    }
    if (session_.established())
      return {};
    return session_.failed() ? session_.error() : "no handshake within the deadline";
  }
  // Sends `plaintext`, then reads until the server closes; everything it said.
  std::string exchange(const std::string& plaintext, std::chrono::milliseconds timeout = 5s) {
    session_.send(plaintext);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string got;
    while (pump(deadline)) {
      got += session_.take_plaintext();
      if (session_.current() != tls::state::established)
        break;
    }
    return got + session_.take_plaintext();
  }
  const tls::session& session() const { return session_; }

private:
  // Writes what the session has to send, then reads once; false on EOF, error or deadline.
  bool pump(std::chrono::steady_clock::time_point deadline) {
    auto out = session_.take_ciphertext();
    if (!out.empty() && ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
      return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    session_.receive({buf, static_cast<std::size_t>(n)});
    return true;
  }
  int fd_ = -1;
  tls::session session_;
};

// The serial of the certificate the server on `port` presents to a new connection.
std::string presented_serial(std::uint16_t port, const std::shared_ptr<const tls::context>& as) {
  tls_client c{port, as};
  if (auto err = c.handshake(); !err.empty())
    return "(handshake: " + err + ")";
  return c.session().peer() ? c.session().peer()->serial : "(no certificate)";
}

struct https_result {
  int status = 0; // 0: no HTTP answer
  std::string body, error, serial;
};

https_result https(std::uint16_t port, const std::shared_ptr<const tls::context>& as, const std::string& method,
                   const std::string& path, const std::string& token = {}) {
  https_result r;
  tls_client c{port, as};
  if (r.error = c.handshake(); !r.error.empty())
    return r;
  r.serial = c.session().peer() ? c.session().peer()->serial : "";
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty())
    req += "Authorization: Bearer " + token + "\r\n";
  auto answer = c.exchange(req + "\r\n");
  if (answer.rfind("HTTP/1.1 ", 0) == 0 && answer.size() >= 12)
    r.status = std::stoi(answer.substr(9, 3));
  else
    r.error = "no HTTP answer: " + answer.substr(0, 200);
  if (auto end = answer.find("\r\n\r\n"); end != std::string::npos)
    r.body = answer.substr(end + 4);
  return r;
}

// A's certificate lives at fixed paths (A.pem / A.key), as an operator's does: a rotation writes
// new contents there and sends SIGHUP.
struct pki {
  temp_dir dir;
  tandem::test::cert_authority ca{dir.path(), "tandem"};
  std::string a_cert = dir / "A.pem", a_key = dir / "A.key";
  pki() { install(ca.issue("A-1", {"tandem:instance/A"})); }
  void install(const cert_files& c) const {
    write_file(a_cert, slurp(c.cert_file));
    write_file(a_key, slurp(c.key_file));
  }
  std::string serial_of(const std::string& cert_file, const std::string& key_file) const {
    return must_load({cert_file, key_file, ca.ca_file()})->own().serial;
  }
  // A client context with a certificate of this CA (the replication port wants one).
  std::shared_ptr<const tls::context> prober() const {
    auto p = ca.issue("prober", {"tandem:instance/prober"});
    return must_load({p.cert_file, p.key_file, ca.ca_file()});
  }
};

void use_tls(const test_node& n, const nlohmann::json& section) {
  auto c = nlohmann::json::parse(read_file(n.config_file()));
  c["tls"] = section;
  c["replication"]["tls"] = true;
  for (auto& d : c["destinations"])
    d["tls"] = true;
  write_file(n.config_file(), c.dump(2));
}

struct tls_pair {
  pki p;
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  tls_pair() {
    a.configure({{destination_spec{"B", "sync", true, {}}, &b}});
    b.configure({{destination_spec{"A", "sync", true, {}}, &a}});
    use_tls(a, {{"cert_file", p.a_cert}, {"key_file", p.a_key}, {"ca_file", p.ca.ca_file()}});
    auto bc = p.ca.issue("B", {"tandem:instance/B"});
    use_tls(b, {{"cert_file", bc.cert_file}, {"key_file", bc.key_file}, {"ca_file", p.ca.ca_file()}});
    a.start();
    b.start();
    REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 15s),
                    "A log:\n" << a.log() << "\nB log:\n" << b.log());
  }
};

std::uint64_t rotations(const test_node& n, const char* result) {
  auto s = n.status();
  if (!s.is_object() || !s["tls"].is_object())
    return 0;
  return s["tls"]["rotations"].value(result, std::uint64_t{0});
}

std::uint64_t dest_figure(const test_node& n, const std::string& dest, const char* key) {
  auto d = n.destination(dest);
  return d.is_object() ? d.value(key, std::uint64_t{0}) : 0;
}

} // namespace

TEST_CASE("tls_rotation_under_load: SIGHUP swaps A's certificate, no connection dropped, new ones use it") {
  tls_pair n;
  auto [p, a, b] = std::tie(n.p, n.a, n.b);
  const auto prober = p.prober();
  const auto old_serial = p.serial_of(p.a_cert, p.a_key);
  REQUIRE(presented_serial(a.ports().replication, prober) == old_serial);
  // Baselines: both nodes dial, so the pair may have collapsed a duplicate connection at startup.
  const std::uint64_t connects_a = dest_figure(a, "B", "connects"), connects_b = dest_figure(b, "A", "connects");
  const std::uint64_t disconnects_a = dest_figure(a, "B", "disconnects"), disconnects_b = dest_figure(b, "A", "disconnects");

  constexpr int per_side = 3000;
  publish_result from_a, from_b;
  std::thread pa([&] { from_a = publish_n(a, "pa", per_side); });
  std::thread pb([&] { from_b = publish_n(b, "pb", per_side); });
  // Rotate while records flow both ways.
  const bool flowing = wait_until([&] { return a.records_held() >= 300 && b.records_held() >= 300; }, 20s);
  auto next = p.ca.issue("A-2", {"tandem:instance/A"});
  const auto new_serial = p.serial_of(next.cert_file, next.key_file);
  REQUIRE(new_serial != old_serial);
  p.install(next);
  a.signal(SIGHUP);
  const bool rotated = wait_until([&] { return rotations(a, "rotated") == 1; }, 10s);
  const bool still_flowing = a.records_held() < 2u * per_side;
  pa.join();
  pb.join();
  REQUIRE(flowing);
  REQUIRE_MESSAGE(rotated, "A log:\n" << a.log());
  CHECK_MESSAGE(still_flowing, "the rotation came after the load: the test proves less than it says");
  CHECK_MESSAGE(from_a.error.empty(), from_a.error);
  CHECK_MESSAGE(from_b.error.empty(), from_b.error);
  CHECK(from_a.persisted == per_side);
  CHECK(from_b.persisted == per_side);
  CHECK(log_has(a, "tls rotation: new connections use " + p.a_cert + " (serial " + new_serial));

  // No connection dropped: the one link of the pair is the one from before the rotation.
  CHECK(dest_figure(a, "B", "disconnects") == disconnects_a);
  CHECK(dest_figure(b, "A", "disconnects") == disconnects_b);
  CHECK(dest_figure(a, "B", "connects") == connects_a);
  CHECK(dest_figure(b, "A", "connects") == connects_b);

  // /status and /metrics follow the new certificate.
  auto s = a.status();
  CHECK(s["tls"]["serial"] == new_serial);
  CHECK(s["tls"]["subject"].get<std::string>().find("A-2") != std::string::npos);
  CHECK(s["tls"]["last_rotation"]["result"] == "rotated");
  CHECK(s["tls"]["rotations"]["refused"] == 0);
  auto metrics = admin_get(a.ports().admin, "/metrics").body;
  CHECK(metric_value(metrics, "tandem_tls_rotations_total{result=\"rotated\"}") == 1);
  CHECK(metric_value(metrics, "tandem_tls_rotations_total{result=\"refused\"}") == 0);
  CHECK(metric_value(metrics, "tandem_tls_certificate_expiry_seconds") > 80000);

  // A new connection to A's replication port is handed the new certificate.
  CHECK(presented_serial(a.ports().replication, prober) == new_serial);
  // A restarted B dials A again, checks A's new certificate against the CA and its name, and the
  // pair replicates on.
  REQUIRE(b.stop() == 0);
  b.start();
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 15s), "B log:\n" << b.log());
  auto after = publish_n(a, "pa2", 50);
  CHECK_MESSAGE(after.error.empty(), after.error);
  CHECK(after.persisted == 50);

  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  for (const test_node* node : {&a, &b}) {
    auto counts = count_by_origin(node->journal_records());
    CHECK(counts.size() == 2 * per_side + 50);
    std::size_t twice = 0;
    for (const auto& [key, times] : counts)
      twice += times != 1;
    CHECK_MESSAGE(twice == 0, node->name() << " holds " << twice << " records more than once");
  }
}

TEST_CASE("tls_rotation_bad_files: garbage, a key that does not match, another CA: old certificate kept, node serves") {
  tls_pair n;
  auto [p, dir, a, b] = std::tie(n.p, n.dir, n.a, n.b);
  const auto prober = p.prober();
  const auto serial = p.serial_of(p.a_cert, p.a_key);
  const auto good_cert = slurp(p.a_cert), good_key = slurp(p.a_key);
  const auto disconnects = dest_figure(a, "B", "disconnects");
  tandem::test::cert_authority other{dir.path(), "other"};
  auto mismatched = p.ca.issue("A-3", {"tandem:instance/A"});
  auto foreign = other.issue("A-x", {"tandem:instance/A"});

  struct bad_case {
    const char* what;
    std::function<void()> write;
    std::string logged; // what the refusal's log line says after "kept: tls."
  };
  const std::vector<bad_case> cases = {
    {"garbage certificate", [&] { write_file(p.a_cert, "not a certificate\n"); }, "cert_file " + p.a_cert + ": "},
    {"key not matching",
     [&] {
       write_file(p.a_cert, slurp(mismatched.cert_file));
       write_file(p.a_key, good_key);
     },
     "key_file " + p.a_key + ": does not match cert_file " + p.a_cert},
    {"another CA",
     [&] {
       write_file(p.a_cert, slurp(foreign.cert_file));
       write_file(p.a_key, slurp(foreign.key_file));
     },
     "cert_file " + p.a_cert + ": not valid against ca_file"},
  };
  std::uint64_t refused = 0;
  for (const auto& c : cases) {
    CAPTURE(c.what);
    c.write();
    a.signal(SIGHUP);
    ++refused;
    REQUIRE_MESSAGE(wait_until([&] { return rotations(a, "refused") == refused; }, 10s), "A log:\n" << a.log());
    CHECK(log_has(a, "tls rotation refused, the running certificate (serial " + serial + ") kept: tls." + c.logged));
    auto s = a.status();
    CHECK(s["tls"]["serial"] == serial);
    CHECK(s["tls"]["last_rotation"]["result"] == "refused");
    CHECK(s["tls"]["last_rotation"]["last_error"].get<std::string>().rfind(c.logged, 0) == 0);
    // The node keeps serving: the link replicates, new connections get the old certificate.
    auto r = publish_n(a, std::string{"p"} + std::to_string(refused), 100);
    CHECK_MESSAGE(r.error.empty(), r.error);
    CHECK(r.persisted == 100);
    CHECK(presented_serial(a.ports().replication, prober) == serial);
  }
  CHECK(dest_figure(a, "B", "disconnects") == disconnects);
  CHECK(rotations(a, "rotated") == 0);
  CHECK(metric_value(admin_get(a.ports().admin, "/metrics").body, "tandem_tls_rotations_total{result=\"refused\"}") == 3);
  // Putting the good files back is a reload that changes nothing.
  write_file(p.a_cert, good_cert);
  write_file(p.a_key, good_key);
  a.signal(SIGHUP);
  CHECK(wait_until([&] { return rotations(a, "unchanged") == 1; }, 10s));
  CHECK(a.running());
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

namespace {

// One node whose admin port speaks TLS, with the admin token; started and polled over TLS (the
// fixture's plaintext /healthz would not do).
struct admin_tls_node {
  pki p;
  temp_dir dir;
  node_ports ports;
  std::string token_file = dir / "admin.token";
  std::shared_ptr<const tls::context> trust; // a client without a certificate: CA only
  std::unique_ptr<child_process> proc;

  admin_tls_node() {
    write_file(token_file, "the-admin-token\n");
    REQUIRE(::chmod(token_file.c_str(), 0600) == 0);
    nlohmann::json c = {{"name", "A"},
                        {"data_dir", dir / "data"},
                        {"replication", {{"port", ports.replication}}},
                        {"client", {{"port", ports.client}}},
                        {"admin", {{"port", ports.admin}, {"tls", true}, {"token_file", token_file}}},
                        {"tls", {{"cert_file", p.a_cert}, {"key_file", p.a_key}, {"ca_file", p.ca.ca_file()}}}};
    write_file(dir / "A.json", c.dump(2));
    trust = must_load({"", "", p.ca.ca_file()});
    proc = std::make_unique<child_process>(std::vector<std::string>{tandemd_path(), "--config", dir / "A.json"},
                                           dir.path(), dir.path());
    const bool up = wait_until([&] { return !proc->running() || https(ports.admin, trust, "GET", "/healthz").status == 200; },
                               10s, 20ms);
    REQUIRE_MESSAGE((up && proc->running()), "node did not start: " << proc->stderr_text());
  }
  ~admin_tls_node() {
    if (proc)
      CHECK(proc->terminate("A") == 0);
  }
};

} // namespace

TEST_CASE("admin_tls: the token rule over TLS: POST with no token 401, a wrong one 403, the right one 200") {
  admin_tls_node n;
  const auto port = n.ports.admin;
  auto none = https(port, n.trust, "POST", "/config/reload");
  CHECK_MESSAGE(none.status == 401, none.error);
  auto wrong = https(port, n.trust, "POST", "/config/reload", "not-the-token");
  CHECK_MESSAGE(wrong.status == 403, wrong.error);
  auto right = https(port, n.trust, "POST", "/config/reload", "the-admin-token");
  CHECK_MESSAGE(right.status == 200, right.error);
  auto status = https(port, n.trust, "GET", "/status");
  REQUIRE(status.status == 200);
  auto doc = nlohmann::json::parse(status.body, nullptr, false);
  REQUIRE(doc.is_object());
  CHECK(doc["tls"]["admin_listener"] == true);
  CHECK(doc["tls"]["replication_listener"] == false);
  // A client certificate is optional on the admin port, but one from another CA is refused.
  temp_dir other_dir;
  tandem::test::cert_authority other{other_dir.path(), "other"};
  auto stranger = other.issue("mallory", {"tandem:user/mallory"});
  const auto bundle = other_dir / "both-cas.pem"; // the stranger trusts the node's CA, the node not its
  write_file(bundle, slurp(other.ca_file()) + slurp(n.p.ca.ca_file()));
  auto refused = https(port, must_load({stranger.cert_file, stranger.key_file, bundle}), "GET", "/healthz");
  CHECK(refused.status == 0);
}

TEST_CASE("admin_tls_plaintext_client_fails_fast: one plaintext 400 and a log line, not a timeout") {
  admin_tls_node n;
  const auto started = std::chrono::steady_clock::now();
  auto r = admin_get(n.ports.admin, "/status"); // plain HTTP
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.ok);
  CHECK(r.status == 400);
  CHECK(r.body.find("this admin port speaks TLS (admin.tls): use https://") != std::string::npos);
  CHECK(took < 900ms); // the request timeout is 10 s (limits.handshake_timeout_ms)
  CHECK(wait_until([&] { return n.proc->stderr_text().find("TLS: plaintext peer on a TLS port") != std::string::npos; }, 5s));
  // The node serves TLS clients as before.
  CHECK(https(n.ports.admin, n.trust, "GET", "/healthz").status == 200);
}

TEST_CASE("admin_tls_follows_a_rotation: the next admin connection presents the new certificate") {
  admin_tls_node n;
  const auto old_serial = n.p.serial_of(n.p.a_cert, n.p.a_key);
  CHECK(https(n.ports.admin, n.trust, "GET", "/healthz").serial == old_serial);
  auto next = n.p.ca.issue("A-2", {"tandem:instance/A"});
  n.p.install(next);
  n.proc->signal(SIGHUP);
  const auto new_serial = n.p.serial_of(next.cert_file, next.key_file);
  CHECK_MESSAGE(wait_until([&] { return https(n.ports.admin, n.trust, "GET", "/healthz").serial == new_serial; }, 10s),
                n.proc->stderr_text());
  auto s = nlohmann::json::parse(https(n.ports.admin, n.trust, "GET", "/status").body, nullptr, false);
  REQUIRE(s.is_object());
  CHECK(s["tls"]["serial"] == new_serial);
  CHECK(s["tls"]["rotations"]["rotated"] == 1);
}

TEST_CASE("admin_tls_cli: tandem status and destination speak TLS to the admin port with --tls-ca") {
  admin_tls_node n;
  const auto admin = "127.0.0.1:" + std::to_string(n.ports.admin);
  const auto token = n.token_file;
  auto status = run({tandem_cli_path(), "status", "--admin", admin, "--json", "--tls-ca", n.p.ca.ca_file(),
                     "--token-file", token});
  REQUIRE_MESSAGE(status.exit_code == 0, status.out << status.err);
  auto doc = nlohmann::json::parse(status.out, nullptr, false);
  REQUIRE(doc.is_object());
  CHECK(doc["tls"]["admin_listener"] == true);
  // A POST action over TLS: the token rules as in plaintext (B is not a destination: 404 said clearly).
  auto action = run({tandem_cli_path(), "destination", "downgrade", "B", "--admin", admin, "--tls-ca",
                     n.p.ca.ca_file(), "--token-file", token});
  CHECK(action.exit_code != 0);
  CHECK_MESSAGE(action.err.find("HTTP 404") != std::string::npos, action.out << action.err);
  // Without --tls-ca the CLI speaks plaintext: the node's 400 says what to do, at once.
  auto plain = run({tandem_cli_path(), "status", "--admin", admin, "--token-file", token}, ".", 30s);
  CHECK(plain.exit_code == 1);
  CHECK_MESSAGE(plain.err.find("HTTP 400") != std::string::npos, plain.err);
  // A CA that did not sign the node's certificate: the handshake fails, said as TLS.
  temp_dir other_dir;
  tandem::test::cert_authority other{other_dir.path(), "other"};
  auto wrong_ca = run({tandem_cli_path(), "status", "--admin", admin, "--tls-ca", other.ca_file(), "--token-file", token},
                      ".", 30s);
  CHECK(wrong_ca.exit_code == 1);
  CHECK_MESSAGE(wrong_ca.err.find("TLS") != std::string::npos, wrong_ca.err);
}
