// The byte path of a replication connection (tls/link_transport.hpp): plaintext passes through,
// TLS goes through a session, and the wrong protocol fails from the first bytes either way.
#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "tests/support/cert_factory.hpp"
#include "tests/support/process.hpp"
#include "tls/link_transport.hpp"

using namespace tandem::tls;
using tandem::test::cert_authority;

namespace {

std::shared_ptr<const context> node_context(const cert_authority& ca, const std::string& name) {
  auto c = ca.issue(name, {"tandem:instance/" + name});
  auto r = context::load({c.cert_file, c.key_file, ca.ca_file()});
  if (auto* err = std::get_if<std::string>(&r))
    FAIL("context::load: " << *err);
  return std::get<std::shared_ptr<const context>>(r);
}

// Delivers what each side has to write to the other until both are quiet; returns the plaintext
// each side received.
std::pair<std::string, std::string> exchange(link_transport& client, link_transport& server, std::string to_server) {
  std::string to_client, at_client, at_server;
  for (int round = 0; round < 20 && (!to_server.empty() || !to_client.empty()); ++round) {
    auto s = server.receive(std::exchange(to_server, {}));
    at_server += s.plaintext;
    to_client += s.to_write;
    auto c = client.receive(std::exchange(to_client, {}));
    at_client += c.plaintext;
    to_server += c.to_write;
  }
  return {at_client, at_server};
}

} // namespace

TEST_CASE("link_transport: plaintext passes bytes through unchanged") {
  link_transport t;
  CHECK_FALSE(t.tls());
  CHECK(t.start().empty());
  CHECK(t.send("frame") == "frame");
  CHECK(t.receive("ab").plaintext == "ab");
  CHECK(t.receive("cdef").plaintext == "cdef");
  CHECK_FALSE(t.failed());
  CHECK(t.version().empty());
  CHECK_FALSE(t.peer().has_value());
}

TEST_CASE("tls_client_on_plaintext_port: a ClientHello is recognised from its first 3 bytes, even split") {
  link_transport t;
  CHECK(t.receive("\x16").plaintext.size() == 1); // not yet known
  CHECK_FALSE(t.failed());
  t.receive(std::string{"\x03\x01", 2});
  REQUIRE(t.failed());
  CHECK(t.error() == "TLS client on a plaintext replication port");
  CHECK(t.wrong_protocol()); // the client listener answers it with a plaintext close frame
  CHECK(t.receive("more").plaintext.empty()); // nothing after failing
}

TEST_CASE("plaintext_hello_of_790_bytes_not_taken_for_tls: a frame whose length starts 0x16 0x03 0x00 passes") {
  // 790 = 0x316, little-endian: 0x16 0x03 0x00 0x00, then the frame type.
  link_transport t;
  const std::string header{"\x16\x03\x00\x00\x01", 5};
  CHECK(t.receive(header).plaintext == header);
  CHECK_FALSE(t.failed());
  for (const char third : {'\x01', '\x04'}) { // TLS 1.0 (OpenSSL's ClientHello) .. 1.3 record versions: TLS
    link_transport tls;
    tls.receive(std::string{"\x16\x03", 2} + third + std::string{"\x02\x00", 2});
    CHECK(tls.failed());
  }
  link_transport beyond; // 0x16 0x03 0x05: no TLS record version, a plaintext frame's length
  const std::string header5{"\x16\x03\x05\x00\x01", 5};
  CHECK(beyond.receive(header5).plaintext == header5);
  CHECK_FALSE(beyond.failed());
}

TEST_CASE("link_transport: TLS both ways, hello queued before the handshake, peer and version known") {
  tandem::test::temp_dir dir;
  cert_authority ca{dir.path(), "tandem"};
  link_transport client{node_context(ca, "A"), role::client}, server{node_context(ca, "B"), role::server};
  CHECK(client.tls());
  auto first = client.start();
  CHECK(looks_like_tls(first));
  CHECK(client.send("hello from A").empty()); // held until the handshake completes
  auto [at_client, at_server] = exchange(client, server, first);
  REQUIRE_MESSAGE(!client.failed(), client.error());
  REQUIRE_MESSAGE(!server.failed(), server.error());
  CHECK(at_server == "hello from A");
  CHECK(client.version() == "TLSv1.3");
  REQUIRE(server.peer().has_value());
  CHECK(instance_of(*server.peer()) == std::optional<std::string>{"A"});
  CHECK(instance_of(*client.peer()) == std::optional<std::string>{"B"});
  auto reply = client.receive(server.send("hello from B"));
  CHECK(reply.plaintext == "hello from B");
  CHECK_FALSE(client.failed());
}

TEST_CASE("plaintext_peer_on_tls_port: a TLS server fails at once on plaintext, naming it") {
  tandem::test::temp_dir dir;
  cert_authority ca{dir.path(), "tandem"};
  link_transport server{node_context(ca, "B"), role::server};
  auto r = server.receive(std::string{"\x00\x00\x00\x20hello", 9});
  REQUIRE(server.failed());
  CHECK(server.error().find("plaintext peer on a TLS port") != std::string::npos);
  CHECK(server.wrong_protocol());
  CHECK(r.plaintext.empty());
}

TEST_CASE("wrong_protocol_is_only_the_first_bytes: a broken handshake after a TLS record header is a TLS failure") {
  tandem::test::temp_dir dir;
  cert_authority ca{dir.path(), "tandem"};
  link_transport server{node_context(ca, "B"), role::server};
  // A handshake record of 5 bytes whose message is no ClientHello: TLS, but broken.
  server.receive(std::string{"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00", 10});
  REQUIRE(server.failed());
  CHECK_FALSE(server.wrong_protocol());
  link_transport plain;
  plain.receive(std::string{"\x00\x00\x00\x20", 4});
  CHECK_FALSE(plain.failed());
  CHECK_FALSE(plain.wrong_protocol());
}
