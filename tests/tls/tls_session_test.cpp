// TLS sessions over memory buffers (issue 18): two sessions connected by moving bytes between
// them, with certificates the test makes (tests/support/cert_factory.hpp). Mutual TLS with
// identities, every way a handshake must fail (another CA, expired, no certificate, wrong name,
// TLS 1.2 where only 1.3 is allowed), the wrong protocol detected from the first bytes, and
// context loading errors naming the file.
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include <string>
#include <tuple>

#include "tests/support/cert_factory.hpp"
#include "tests/support/process.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"

using namespace tandem;
using namespace tandem::tls;
using tandem::test::cert_authority;

namespace {

std::shared_ptr<const context> must_load(const files& f, options o = {}) {
  auto r = context::load(f, o);
  if (auto* err = std::get_if<std::string>(&r))
    FAIL("context::load: " << *err);
  return std::get<std::shared_ptr<const context>>(r);
}

std::string load_error(const files& f) {
  auto r = context::load(f);
  auto* err = std::get_if<std::string>(&r);
  return err ? *err : std::string{"(loaded)"};
}

// Moves ciphertext both ways until neither side has any left to send; `chunk` splits each
// delivery (1: byte by byte).
void shuttle(session& client, session& server, std::size_t chunk = 1 << 20) {
  for (int round = 0; round < 100; ++round) {
    auto to_server = client.take_ciphertext();
    auto to_client = server.take_ciphertext();
    if (to_server.empty() && to_client.empty())
      return;
    for (std::size_t i = 0; i < to_server.size(); i += chunk)
      server.receive(std::string_view{to_server}.substr(i, chunk));
    for (std::size_t i = 0; i < to_client.size(); i += chunk)
      client.receive(std::string_view{to_client}.substr(i, chunk));
  }
  FAIL("the sessions kept talking for 100 rounds");
}

struct pki {
  tandem::test::temp_dir dir;
  cert_authority ca{dir.path(), "tandem"};
  files node(const std::string& name, long not_before_s = -60, long not_after_s = 86400) const {
    auto c = ca.issue(name, {"tandem:instance/" + name}, not_before_s, not_after_s);
    return {c.cert_file, c.key_file, ca.ca_file()};
  }
};

} // namespace

TEST_CASE("mutual TLS 1.3: both sides see the other's instance URI, bytes flow both ways in any split") {
  pki p;
  auto a = must_load(p.node("A")), b = must_load(p.node("B"));
  CHECK(instance_of(a->own()) == std::optional<std::string>{"A"});
  CHECK(a->seconds_until_expiry(a->own().not_before_unix + 60) == doctest::Approx(86400).epsilon(0.001));
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{1} << 20}) {
    session client(a, role::client), server(b, role::server);
    client.send("hello before the handshake");
    shuttle(client, server, chunk);
    REQUIRE_MESSAGE(client.established(), client.error());
    REQUIRE_MESSAGE(server.established(), server.error());
    CHECK(client.version() == "TLSv1.3");
    REQUIRE(server.peer().has_value());
    CHECK(instance_of(*server.peer()) == std::optional<std::string>{"A"});
    CHECK(instance_of(*client.peer()) == std::optional<std::string>{"B"});
    CHECK(user_of(*client.peer()) == std::nullopt);
    CHECK(server.take_plaintext() == "hello before the handshake");
    const std::string big(1 << 20, 'x');
    server.send(big);
    shuttle(client, server, chunk);
    CHECK(client.take_plaintext() == big);
  }
}

TEST_CASE("a peer certificate from another CA fails the handshake, saying why; an expired or early own one is not loaded") {
  pki p;
  cert_authority other{p.dir.path(), "other"};
  auto mallory = other.issue("mallory", {"tandem:instance/B"});
  auto b = must_load(p.node("B"));
  // Mallory trusts both CAs (so she verifies B), her certificate is signed by the other one.
  const auto both = p.dir / "both-ca.pem";
  tandem::test::write_file(both, tandem::test::read_file(other.ca_file()) + tandem::test::read_file(p.ca.ca_file()));
  auto foreign = must_load({mallory.cert_file, mallory.key_file, both});
  session client(foreign, role::client), server(b, role::server);
  shuttle(client, server);
  CHECK(server.failed());
  CHECK_MESSAGE(server.error().find("does not verify") != std::string::npos, server.error());
  CHECK_FALSE((client.established() && server.established()));

  // A node's own certificate that is expired or not yet valid is refused when loaded (context::load
  // names the reason), so a node never presents one; a peer presenting one: the next test.
  for (auto [name, from, to, why] : {std::tuple{"old", -7200L, -3600L, "expired"}, std::tuple{"early", 3600L, 7200L, "not yet valid"}}) {
    auto c = p.ca.issue(name, {std::string{"tandem:instance/"} + name}, from, to);
    const auto err = load_error({c.cert_file, c.key_file, p.ca.ca_file()});
    CHECK_MESSAGE(err.find(why) != std::string::npos, err);
  }
}

TEST_CASE("an expired client certificate is refused by the server (the certificate made valid, then time passes)") {
  // The client's context is built by hand around an expired certificate (context::load would
  // refuse it), as a peer running an old certificate would present it.
  pki p;
  auto expired = p.ca.issue("stale", {"tandem:instance/C"}, -7200, -3600);
  SSL_CTX* raw = SSL_CTX_new(TLS_method());
  REQUIRE(SSL_CTX_use_certificate_file(raw, expired.cert_file.c_str(), SSL_FILETYPE_PEM) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey_file(raw, expired.key_file.c_str(), SSL_FILETYPE_PEM) == 1);
  REQUIRE(SSL_CTX_load_verify_locations(raw, p.ca.ca_file().c_str(), nullptr) == 1);
  SSL* ssl = SSL_new(raw);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_connect_state(ssl);
  session server(must_load(p.node("B")), role::server);
  for (int round = 0; round < 20 && !server.failed(); ++round) {
    SSL_do_handshake(ssl);
    char buf[16384];
    std::string bytes;
    for (int n; (n = BIO_read(out, buf, sizeof buf)) > 0;)
      bytes.append(buf, static_cast<std::size_t>(n));
    server.receive(bytes);
    auto back = server.take_ciphertext();
    BIO_write(in, back.data(), static_cast<int>(back.size()));
  }
  CHECK(server.failed());
  CHECK_MESSAGE(server.error().find("expired") != std::string::npos, server.error());
  SSL_free(ssl);
  SSL_CTX_free(raw);
}

TEST_CASE("client certificates: required by a replication server, optional on a client listener") {
  pki p;
  auto b = must_load(p.node("B"));
  auto trust_only = must_load({"", "", p.ca.ca_file()});
  {
    session client(trust_only, role::client), server(b, role::server);
    shuttle(client, server);
    CHECK(server.failed());
    CHECK_FALSE((client.established() && server.established()));
  }
  {
    session client(trust_only, role::client), server(b, role::server, {false, ""});
    shuttle(client, server);
    REQUIRE_MESSAGE(server.established(), server.error());
    CHECK_FALSE(server.peer().has_value());
    auto u = p.ca.issue("alice", {"tandem:user/alice"});
    session c2(must_load({u.cert_file, u.key_file, p.ca.ca_file()}), role::client), s2(b, role::server, {false, ""});
    shuttle(c2, s2);
    REQUIRE(s2.established());
    CHECK(user_of(*s2.peer()) == std::optional<std::string>{"alice"});
    CHECK(instance_of(*s2.peer()) == std::nullopt);
  }
}

TEST_CASE("server name: the certificate's DNS name is checked when the destination names one") {
  pki p;
  auto a = must_load(p.node("A")), b = must_load(p.node("B"));
  session ok_client(a, role::client, {true, "localhost"}), ok_server(b, role::server);
  shuttle(ok_client, ok_server);
  CHECK_MESSAGE(ok_client.established(), ok_client.error());
  session bad_client(a, role::client, {true, "b.example.net"}), bad_server(b, role::server);
  shuttle(bad_client, bad_server);
  CHECK(bad_client.failed());
  CHECK_MESSAGE(bad_client.error().find("does not verify") != std::string::npos, bad_client.error());
}

TEST_CASE("TLS 1.2 is refused unless allowed") {
  pki p;
  auto old_client = must_load(p.node("A"), {true});
  SSL_CTX_set_max_proto_version(old_client->native(), TLS1_2_VERSION); // a 1.2-only peer
  {
    session client(old_client, role::client), server(must_load(p.node("B")), role::server);
    shuttle(client, server);
    CHECK(server.failed());
    CHECK_MESSAGE(server.error().find("handshake failed") != std::string::npos, server.error());
  }
  session client(old_client, role::client), server(must_load(p.node("B"), {true}), role::server);
  shuttle(client, server);
  REQUIRE_MESSAGE(server.established(), server.error());
  CHECK(server.version() == "TLSv1.2");
}

TEST_CASE("the wrong protocol fails from the first bytes: plaintext on a TLS port, a plaintext server, looks_like_tls") {
  pki p;
  auto b = must_load(p.node("B"));
  session server(b, role::server);
  server.receive(std::string{"\x25\x00\x00\x00\x01", 5}); // a Tandem hello frame's first bytes
  CHECK(server.failed());
  CHECK(server.error() == "plaintext peer on a TLS port (its first bytes are not a TLS handshake)");
  session split(b, role::server);
  split.receive(std::string{"\x16", 1});
  CHECK_FALSE(split.failed()); // undecided with one byte
  split.receive(std::string{"\x03\x01", 2});
  CHECK_FALSE(split.failed()); // a TLS record header
  session client(must_load(p.node("A")), role::client);
  const auto hello = client.take_ciphertext();
  CHECK(looks_like_tls(hello));
  CHECK_FALSE(looks_like_tls(hello.substr(0, 2)));
  CHECK_FALSE(looks_like_tls(std::string{"\x25\x00\x00\x00", 4}));
  client.receive(std::string{"\x05\x00\x00\x00\x05", 5}); // a plaintext server's close frame
  CHECK(client.failed());
  CHECK(client.error() == "the server does not speak TLS (a plaintext port?)");
}

TEST_CASE("looks_like_tls_record_version_edges: 0x16 0x03 then 0x01..0x04 only") {
  const auto first = [](unsigned char third) { return std::string{"\x16\x03", 2} + static_cast<char>(third); };
  CHECK_FALSE(looks_like_tls(first(0x00))); // SSL 3.0, or a plaintext frame of 790 bytes (0x316)
  CHECK(looks_like_tls(first(0x01)));       // TLS 1.0 record version (what OpenSSL's ClientHello carries)
  CHECK(looks_like_tls(first(0x04)));
  CHECK_FALSE(looks_like_tls(first(0x05)));
  CHECK_FALSE(looks_like_tls(first(0xff)));
  CHECK_FALSE(looks_like_tls(std::string{"\x17\x03\x01", 3})); // application data, not a handshake
  CHECK_FALSE(looks_like_tls(std::string{"\x16\x02\x01", 3}));
  pki p;
  session ssl3(must_load(p.node("B")), role::server); // a TLS port refuses an SSL 3.0 record at once
  ssl3.receive(first(0x00));
  CHECK(ssl3.failed());
}

TEST_CASE("close: the peer's session turns closed; garbage after the handshake fails the session") {
  pki p;
  session client(must_load(p.node("A")), role::client), server(must_load(p.node("B")), role::server);
  shuttle(client, server);
  REQUIRE(client.established());
  client.close();
  shuttle(client, server);
  CHECK(server.current() == state::closed);
  session c2(must_load(p.node("A")), role::client), s2(must_load(p.node("B")), role::server);
  shuttle(c2, s2);
  REQUIRE(s2.established());
  s2.receive(std::string(64, '\x17'));
  CHECK(s2.failed());
  CHECK(s2.error().find("TLS read failed") != std::string::npos);
}

TEST_CASE("context::load names the file and what is wrong with it") {
  pki p;
  auto a = p.node("A");
  auto b = p.node("B");
  const auto mismatch = load_error({a.cert_file, b.key_file, a.ca_file});
  CHECK_MESSAGE(mismatch.find("key_file " + b.key_file + ": does not match cert_file " + a.cert_file) == 0, mismatch);
  CHECK(load_error({p.dir.path() + "/nope.pem", a.key_file, a.ca_file}) == "cert_file " + p.dir.path() + "/nope.pem: cannot be read");
  CHECK(load_error({a.cert_file, a.key_file, a.key_file}).find("ca_file " + a.key_file + ":") == 0);
  CHECK(load_error({a.key_file, a.key_file, a.ca_file}).find("cert_file " + a.key_file + ":") == 0);
  CHECK(load_error({a.cert_file, "", a.ca_file}) == "cert_file without key_file");
  CHECK(load_error({a.cert_file, a.key_file, ""}) == "ca_file is required: peers are verified against it");
  cert_authority other{p.dir.path(), "other"};
  auto foreign = other.issue("F", {"tandem:instance/F"});
  CHECK(load_error({foreign.cert_file, foreign.key_file, a.ca_file}).find("not valid against ca_file") != std::string::npos);
  auto expired = p.ca.issue("E", {"tandem:instance/E"}, -7200, -3600);
  CHECK(load_error({expired.cert_file, expired.key_file, a.ca_file}).find("expired") != std::string::npos);
}

TEST_CASE("scripts/make-dev-certs: certificates a pair and a client can use, and a bad name refused") {
  tandem::test::temp_dir dir;
  const std::string script = std::string{TANDEM_SOURCE_DIR} + "/scripts/make-dev-certs";
  const std::string out = dir / "certs";
  REQUIRE(std::system((script + " " + out + " A B user:alice >/dev/null").c_str()) == 0);
  auto file = [&](const std::string& n) { return files{out + "/" + n + ".pem", out + "/" + n + ".key", out + "/ca.pem"}; };
  auto a = must_load(file("A")), b = must_load(file("B"));
  CHECK(instance_of(a->own()) == std::optional<std::string>{"A"});
  session client(a, role::client, {true, "localhost"}), server(b, role::server);
  shuttle(client, server);
  REQUIRE_MESSAGE(server.established(), server.error());
  CHECK(instance_of(*server.peer()) == std::optional<std::string>{"A"});
  CHECK(user_of(must_load(file("alice"))->own()) == std::optional<std::string>{"alice"});
  CHECK(user_of(must_load(file("client"))->own()) == std::optional<std::string>{"client"});
  // Adding an instance later reuses the CA: the old certificates still verify the new one.
  REQUIRE(std::system((script + " " + out + " C >/dev/null").c_str()) == 0);
  session c2(must_load(file("C")), role::client), s2(b, role::server);
  shuttle(c2, s2);
  CHECK_MESSAGE(s2.established(), s2.error());
  CHECK(std::system((script + " " + out + " '../x' 2>/dev/null").c_str()) != 0);
  CHECK(std::system((script + " " + out + " 2>/dev/null").c_str()) != 0); // no name: usage, exit 2
}
