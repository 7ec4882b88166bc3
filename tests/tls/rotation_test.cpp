// Certificate rotation as a decision (issue 18; tls/context.hpp context_holder, decide_rotation):
// new files are loaded and checked, then swapped in or refused with the running context kept.
// No sockets, no threads: sessions talk over memory buffers to show that an established session
// keeps its context while a new one gets the rotated certificate.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "tests/support/cert_factory.hpp"
#include "tests/support/process.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"

using namespace tandem;
using namespace tandem::tls;
using tandem::test::cert_authority;
using tandem::test::cert_files;
using tandem::test::read_file;
using tandem::test::write_file;

namespace {

std::shared_ptr<const context> must_load(const files& f) {
  auto r = context::load(f);
  if (auto* err = std::get_if<std::string>(&r))
    FAIL("context::load: " << *err);
  return std::get<std::shared_ptr<const context>>(r);
}

void shuttle(session& client, session& server) {
  for (int round = 0; round < 100; ++round) {
    auto to_server = client.take_ciphertext();
    auto to_client = server.take_ciphertext();
    if (to_server.empty() && to_client.empty())
      return;
    server.receive(to_server);
    client.receive(to_client);
  }
  FAIL("the sessions kept talking for 100 rounds");
}

// A node "A" with its certificate at fixed paths (as an operator rotates them: new contents, same
// paths), and a peer "B" to handshake with.
struct fixture {
  tandem::test::temp_dir dir;
  cert_authority ca{dir.path(), "tandem"};
  std::string cert_path = dir / "A.pem", key_path = dir / "A.key";
  files a_files{cert_path, key_path, ca.ca_file()};
  cert_files b = ca.issue("B", {"tandem:instance/B"});

  fixture() { install(ca.issue("A-1", {"tandem:instance/A"})); }
  // Copies a certificate and key into A's paths.
  void install(const cert_files& c) {
    write_file(cert_path, read_file(c.cert_file));
    write_file(key_path, read_file(c.key_file));
  }
};

const std::int64_t now_unix = 1'800'000'000;

} // namespace

TEST_CASE("rotation_new_certificate_is_swapped_in_and_reported") {
  fixture f;
  context_holder holder{must_load(f.a_files)};
  const auto old = holder.current();
  CHECK(holder.status().attempted == false);
  f.install(f.ca.issue("A-2", {"tandem:instance/A"}));
  auto v = rotate(holder, f.a_files, {}, now_unix);
  CHECK(v.result == rotation_result::rotated);
  CHECK(v.reason.empty());
  CHECK(holder.current() != old);
  CHECK(holder.current()->own().serial != old->own().serial);
  CHECK(holder.current()->own().subject.find("A-2") != std::string::npos);
  auto s = holder.status();
  CHECK(s.attempted);
  CHECK(s.last == rotation_result::rotated);
  CHECK(s.rotated == 1);
  CHECK(s.refused == 0);
  CHECK(s.last_unix == now_unix);
}

TEST_CASE("rotation_same_files_is_unchanged") {
  fixture f;
  context_holder holder{must_load(f.a_files)};
  const auto serial = holder.current()->own().serial;
  auto v = rotate(holder, f.a_files, {}, now_unix);
  CHECK(v.result == rotation_result::unchanged);
  CHECK(holder.current()->own().serial == serial);
  CHECK(holder.status().unchanged == 1);
  CHECK(holder.status().rotated == 0);
}

TEST_CASE("rotation_new_ca_file_alone_is_a_rotation") {
  // The same certificate, the CA file now holding a second CA too (the first step of a CA change).
  fixture f;
  context_holder holder{must_load(f.a_files)};
  cert_authority next{f.dir.path(), "next"};
  const std::string bundle = f.dir / "bundle.pem";
  write_file(bundle, read_file(f.ca.ca_file()) + read_file(next.ca_file()));
  files g = f.a_files;
  g.ca_file = bundle;
  CHECK(rotate(holder, g, {}, now_unix).result == rotation_result::rotated);
  CHECK(holder.current()->source().ca_file == bundle);
}

TEST_CASE("rotation_refusals_keep_the_running_context_and_name_the_file") {
  fixture f;
  context_holder holder{must_load(f.a_files)};
  const auto old = holder.current();
  auto refused = [&](const std::string& why_contains) {
    auto v = rotate(holder, f.a_files, {}, now_unix);
    CHECK(v.result == rotation_result::refused);
    CHECK_MESSAGE(v.reason.find(why_contains) != std::string::npos, v.reason);
    CHECK(holder.current() == old);
    CHECK(holder.status().last == rotation_result::refused);
    CHECK(holder.status().last_error == v.reason);
  };
  SUBCASE("garbage certificate file") {
    write_file(f.cert_path, "this is not a certificate\n");
    refused("cert_file " + f.cert_path + ": ");
  }
  SUBCASE("empty certificate file") {
    write_file(f.cert_path, "");
    refused("cert_file " + f.cert_path + ": ");
  }
  SUBCASE("unreadable key file") {
    std::remove(f.key_path.c_str());
    refused("key_file " + f.key_path + ": cannot be read");
  }
  SUBCASE("key not matching the certificate") {
    auto other = f.ca.issue("A-3", {"tandem:instance/A"});
    write_file(f.cert_path, read_file(other.cert_file)); // the key stays A-1's
    refused("key_file " + f.key_path + ": does not match cert_file " + f.cert_path);
  }
  SUBCASE("certificate of another CA") {
    cert_authority other{f.dir.path(), "other"};
    f.install(other.issue("A-x", {"tandem:instance/A"}));
    refused("cert_file " + f.cert_path + ": not valid against ca_file");
  }
  SUBCASE("expired certificate") {
    f.install(f.ca.issue("A-old", {"tandem:instance/A"}, -7200, -3600));
    refused("certificate has expired");
  }
  SUBCASE("not yet valid certificate") {
    f.install(f.ca.issue("A-future", {"tandem:instance/A"}, 3600, 7200));
    refused("certificate is not yet valid");
  }
  SUBCASE("certificate naming another instance") {
    f.install(f.ca.issue("C", {"tandem:instance/C"}));
    refused("names instance C, the running certificate names instance A");
  }
  SUBCASE("certificate naming no instance") {
    f.install(f.ca.issue("nameless", {}));
    refused("names no tandem:instance/NAME");
  }
  SUBCASE("garbage CA file") {
    write_file(f.a_files.ca_file, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    refused("ca_file " + f.a_files.ca_file + ": ");
  }
  CHECK(holder.status().refused == 1);
  CHECK(holder.status().rotated == 0);
}

TEST_CASE("rotation_after_a_refusal_the_next_good_files_rotate") {
  fixture f;
  context_holder holder{must_load(f.a_files)};
  write_file(f.cert_path, "garbage");
  CHECK(rotate(holder, f.a_files, {}, now_unix).result == rotation_result::refused);
  f.install(f.ca.issue("A-2", {"tandem:instance/A"}));
  CHECK(rotate(holder, f.a_files, {}, now_unix + 1).result == rotation_result::rotated);
  auto s = holder.status();
  CHECK(s.refused == 1);
  CHECK(s.rotated == 1);
  CHECK(s.last == rotation_result::rotated);
  CHECK(s.last_unix == now_unix + 1);
  CHECK(s.last_error.find("cert_file") == 0); // the last refusal stays visible
}

TEST_CASE("decide_rotation_without_files: a load error is a refusal with its text") {
  fixture f;
  auto running = must_load(f.a_files);
  std::variant<std::shared_ptr<const context>, std::string> err{std::string{"cert_file /x: cannot be read"}};
  auto v = decide_rotation(*running, err);
  CHECK(v.result == rotation_result::refused);
  CHECK(v.reason == "cert_file /x: cannot be read");
  std::variant<std::shared_ptr<const context>, std::string> none{std::shared_ptr<const context>{}};
  CHECK(decide_rotation(*running, none).result == rotation_result::refused);
  std::variant<std::shared_ptr<const context>, std::string> same{must_load(f.a_files)};
  CHECK(decide_rotation(*running, same).result == rotation_result::unchanged);
}

TEST_CASE("rotation_established_session_keeps_its_context_new_sessions_use_the_new_one") {
  fixture f;
  context_holder holder{must_load(f.a_files)};
  auto b_ctx = must_load({f.b.cert_file, f.b.key_file, f.ca.ca_file()});
  const auto old_serial = holder.current()->own().serial;

  session before_server{holder.current(), role::server}, before_client{b_ctx, role::client};
  shuttle(before_client, before_server);
  REQUIRE(before_server.established());
  REQUIRE(before_client.peer());
  CHECK(before_client.peer()->serial == old_serial);

  f.install(f.ca.issue("A-2", {"tandem:instance/A"}));
  REQUIRE(rotate(holder, f.a_files, {}, now_unix).result == rotation_result::rotated);
  const auto new_serial = holder.current()->own().serial;
  CHECK(new_serial != old_serial);

  // The established session goes on both ways with the old certificate.
  before_client.send("after rotation");
  shuttle(before_client, before_server);
  CHECK(before_server.take_plaintext() == "after rotation");
  CHECK(before_server.established());
  CHECK(&before_server.ctx() != holder.current().get());

  // A new session presents the new certificate.
  session after_server{holder.current(), role::server}, after_client{b_ctx, role::client};
  shuttle(after_client, after_server);
  REQUIRE(after_server.established());
  REQUIRE(after_client.peer());
  CHECK(after_client.peer()->serial == new_serial);
}
