// Client authentication and entitlements, the admin token and the startup warning (issue 18,
// docs/security.md) against a real tandemd: what a client and an operator observe (close codes,
// negative acks, HTTP statuses, /metrics, the log).
#include <chrono>
#include <csignal>
#include <string>

#include <sys/stat.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "client/client_connection.hpp"
#include "client/http_get.hpp"
#include "config/password_hash.hpp"
#include "protocol/limits.hpp"
#include "tests/tools/client_fixture.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace tandem;
using namespace tandem::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

void write_users(const std::string& file, const std::string& alice_password) {
  json users = {{"users",
                 {{{"name", "alice"},
                   {"password_hash", hash_of(alice_password)},
                   {"publish", {"orders\\..*"}},
                   {"subscribe", {"orders\\..*"}}}}}};
  write_file(file, users.dump(2));
}

void write_secret(const std::string& file, const std::string& text, mode_t mode) {
  write_file(file, text);
  REQUIRE(::chmod(file.c_str(), mode) == 0);
}

// Connects with `user` / `password`; "" or why not (the node's close code and reason included).
std::string login(client::client_connection& c, const test_node& n, const std::string& user,
                  const std::string& password) {
  c.set_credentials({user, password});
  return c.connect("127.0.0.1", n.ports().client, "auth-test", 10s);
}

std::string metrics(const test_node& n) {
  auto r = client::http_get("127.0.0.1", n.ports().admin, "/metrics", 2s);
  return r.ok ? r.body : std::string{};
}

bool log_has(const test_node& n, const std::string& what, std::chrono::milliseconds within = 10s) {
  return wait_until([&] { return n.log().find(what) != std::string::npos; }, within, 20ms);
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    ++count;
  return count;
}


struct auth_node {
  temp_dir dir;
  test_node node{dir, "A"};
  std::string users_file = dir / "users.json";
  std::string token_file = dir / "admin.token";

  explicit auth_node(json admin_extra = json::object()) {
    write_users(users_file, "alice-pw");
    write_secret(token_file, "the-admin-token\n", 0600);
    json admin = {{"port", node.ports().admin}, {"token_file", token_file}};
    admin.update(admin_extra);
    node.configure({}, {{"auth", {{"users_file", users_file}}}, {"admin", admin}});
    node.start();
  }
};

} // namespace

TEST_CASE("hash_password_reads_a_file_or_stdin_never_argv") {
  temp_dir dir;
  const auto pw = dir / "pw";
  write_secret(pw, "s3cret\n", 0600);
  auto r = run({tandemd_path(), "hash-password", "--password-file", pw, "--cost", "1024"});
  REQUIRE(r.exit_code == 0);
  auto parsed = config::parse_password_hash(r.out.substr(0, r.out.find('\n')));
  REQUIRE(std::holds_alternative<config::password_hash>(parsed));
  CHECK(std::get<config::password_hash>(parsed).params == config::scrypt_params{1024, 8, 1});
  CHECK(config::verify_password(std::get<config::password_hash>(parsed), "s3cret"));
  CHECK(r.err.find("one verification costs about") != std::string::npos);
  auto from_stdin = run({"/bin/sh", "-c", "printf 's3cret\\n' | " + tandemd_path() + " hash-password --cost 1024"});
  REQUIRE(from_stdin.exit_code == 0);
  auto parsed2 = config::parse_password_hash(from_stdin.out.substr(0, from_stdin.out.find('\n')));
  REQUIRE(std::holds_alternative<config::password_hash>(parsed2));
  CHECK(config::verify_password(std::get<config::password_hash>(parsed2), "s3cret"));
  auto argv_password = run({tandemd_path(), "hash-password", "s3cret"});
  CHECK(argv_password.exit_code == 2);
  CHECK(argv_password.err.find("unknown argument") != std::string::npos);
  CHECK(run({tandemd_path(), "hash-password", "--cost", "1000", "--password-file", pw}).exit_code == 2);
}

TEST_CASE("auth_wrong_password_and_unknown_user_get_close_auth_after_a_delay") {
  auth_node a;
  for (auto [user, password, reason] : {std::tuple{"alice", "wrong-pw", "bad_password"},
                                        std::tuple{"mallory", "alice-pw", "unknown_user"}}) {
    CAPTURE(user);
    client::client_connection c;
    const auto start = std::chrono::steady_clock::now();
    auto err = login(c, a.node, user, password);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(err.find("auth") != std::string::npos);
    CHECK(err.find("authentication failed") != std::string::npos);
    CHECK(took >= 900ms); // the fixed delay (1 s) before close{auth}
    CHECK(wait_until([&] { return metrics(a.node).find("tandem_auth_failures_total{reason=\"" + std::string{reason} +
                                                       "\"} 1") != std::string::npos; },
                     10s, 50ms));
  }
  CHECK(log_has(a.node, "client login failed from 127.0.0.1"));
  CHECK(a.node.log().find("user 'mallory' unknown_user") != std::string::npos);
  CHECK(a.node.log().find("wrong-pw") == std::string::npos); // never the password
  client::client_connection none;
  CHECK(login(none, a.node, "", "").find("authentication failed") != std::string::npos); // no credentials
}

TEST_CASE("auth_user_and_password_at_limit_and_above") {
  auth_node a;
  client::client_connection at_limit; // decodes; an unknown user of 255 bytes
  CHECK(login(at_limit, a.node, std::string(protocol::limits::max_name_bytes, 'u'),
              std::string(protocol::limits::max_password_bytes, 'p'))
          .find("authentication failed") != std::string::npos);
  // limit + 1: the client library refuses to encode it, so the frame is written by hand.
  for (auto [user_len, password_len, field] : {std::tuple{256u, 2u, "client_hello: user"},
                                               std::tuple{5u, 1025u, "client_hello: password"}}) {
    std::string body;
    auto put = [&](std::uint64_t v, int n) {
      for (int i = 0; i < n; ++i)
        body.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    };
    put(1, 2), put(6, 2), put(1, 2), body += "c";
    put(user_len, 2), body += std::string(user_len, 'u');
    put(password_len, 2), body += std::string(password_len, 'p');
    std::string frame;
    const auto len = body.size() + 1;
    for (int i = 0; i < 4; ++i)
      frame.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    frame.push_back(static_cast<char>(protocol::frame_type::client_hello));
    auto answer = poke(a.node.ports().client, frame + body, 10s);
    REQUIRE(answer);
    CHECK(answer->find(field) != std::string::npos); // close{bad_frame} names the field
  }
}

TEST_CASE("auth_entitlements_refuse_publish_and_subscribe_outside_the_patterns") {
  auth_node a;
  client::client_connection c;
  REQUIRE(login(c, a.node, "alice", "alice-pw") == "");
  REQUIRE(c.send(protocol::publish{"orders.eu", "p1", "alice-pub", 1}, 5s));
  auto ok = next_frame(c);
  REQUIRE(ok);
  CHECK(std::holds_alternative<protocol::persisted_ack>(*ok));
  REQUIRE(c.send(protocol::publish{"payroll", "p2", "alice-pub", 2}, 5s));
  auto refused = next_frame(c);
  REQUIRE(refused);
  REQUIRE(std::holds_alternative<protocol::negative_ack>(*refused));
  CHECK(std::get<protocol::negative_ack>(*refused).reason_code == protocol::nack_reason::not_entitled);
  CHECK(std::get<protocol::negative_ack>(*refused).publisher_seq == 2);
  CHECK(wait_until([&] { return metrics(a.node).find("tandem_client_negative_acks_total{reason=\"not_entitled\"} 1") !=
                                std::string::npos; }, 10s, 50ms));
  REQUIRE(c.send(protocol::subscribe{7, "pay.*", false, 0}, 5s));
  auto closed = next_frame(c);
  REQUIRE(closed);
  REQUIRE(std::holds_alternative<protocol::close_frame>(*closed));
  CHECK(std::get<protocol::close_frame>(*closed).code == protocol::close_code::auth);
  CHECK(std::get<protocol::close_frame>(*closed).reason.find("user 'alice' may not subscribe to 'pay.*'") !=
        std::string::npos);
  CHECK(wait_until([&] { return metrics(a.node).find("tandem_auth_subscriptions_refused_total 1") != std::string::npos; },
                   10s, 50ms));
  client::client_connection s; // one of alice's patterns: served
  REQUIRE(login(s, a.node, "alice", "alice-pw") == "");
  REQUIRE(s.send(protocol::subscribe{1, "orders\\..*", true, 1}, 5s));
  auto delivered = next_frame(s);
  REQUIRE(delivered);
  REQUIRE(std::holds_alternative<protocol::delivered>(*delivered));
  CHECK(std::get<protocol::delivered>(*delivered).topic == "orders.eu");
}

TEST_CASE("admin_post_needs_the_token_401_403_200") {
  auth_node a;
  const auto port = a.node.ports().admin;
  auto none = client::http_call("POST", "127.0.0.1", port, "/config/reload", 5s);
  REQUIRE(none.ok);
  CHECK(none.status == 401);
  auto wrong = client::http_call("POST", "127.0.0.1", port, "/config/reload", 5s, 1u << 20, "not-the-token");
  REQUIRE(wrong.ok);
  CHECK(wrong.status == 403);
  auto right = client::http_call("POST", "127.0.0.1", port, "/config/reload", 5s, 1u << 20, "the-admin-token");
  REQUIRE(right.ok);
  CHECK(right.status == 200);
  auto status = client::http_get("127.0.0.1", port, "/status", 5s); // reads are open by default
  REQUIRE(status.ok);
  CHECK(status.status == 200);
  CHECK(wait_until([&] { return metrics(a.node).find("tandem_admin_refused_total{status=\"403\"} 1") != std::string::npos; },
                   10s, 50ms));
}

TEST_CASE("admin_get_needs_the_token_with_require_token_for_reads") {
  auth_node a{json{{"require_token_for_reads", true}}};
  const auto port = a.node.ports().admin;
  CHECK(client::http_get("127.0.0.1", port, "/status", 5s).status == 401);
  CHECK(client::http_get("127.0.0.1", port, "/status", 5s, 1u << 20, "nope").status == 403);
  CHECK(client::http_get("127.0.0.1", port, "/status", 5s, 1u << 20, "the-admin-token").status == 200);
  CHECK(client::http_get("127.0.0.1", port, "/healthz", 5s).status == 200); // liveness probes
}

TEST_CASE("admin_token_file_readable_by_everyone_is_refused_at_startup") {
  temp_dir dir;
  const auto token = dir / "admin.token";
  write_secret(token, "t0ken\n", 0644);
  const auto cfg = dir / "a.json";
  write_file(cfg, json{{"name", "A"}, {"data_dir", dir / "data"}, {"admin", {{"token_file", token}}}}.dump());
  auto r = run({tandemd_path(), "--check-config", cfg});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("admin.token_file: secret file \"" + token + "\": readable by every user (mode 644)") !=
        std::string::npos);
  write_file(cfg, json{{"name", "A"}, {"data_dir", dir / "data"}, {"auth", {{"users_file", dir / "missing.json"}}}}.dump());
  auto missing = run({tandemd_path(), "--check-config", cfg});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("auth.users_file: <root>: cannot read users file") != std::string::npos);
}

TEST_CASE("sighup_with_an_invalid_users_file_keeps_the_old_one") {
  auth_node a;
  write_file(a.users_file, "{\"users\": [{\"name\": \"alice\", \"password_hash\": \"$scrypt$N=3\"}]}");
  a.node.signal(SIGHUP);
  REQUIRE(log_has(a.node, "access files reload refused, the running users and token kept: auth.users_file"));
  client::client_connection old;
  CHECK(login(old, a.node, "alice", "alice-pw") == ""); // the old password still works
  write_users(a.users_file, "new-pw");
  a.node.signal(SIGHUP);
  REQUIRE(log_has(a.node, "access files reloaded: users file"));
  client::client_connection renewed;
  CHECK(login(renewed, a.node, "alice", "new-pw") == "");
}

TEST_CASE("startup_warning_names_unauthenticated_listeners_once") {
  temp_dir dir;
  test_node open{dir, "O"};
  open.configure({});
  open.start();
  const auto p = open.ports();
  REQUIRE(log_has(open, "unauthenticated listeners: client 127.0.0.1:" + std::to_string(p.client)));
  CHECK(open.log().find("admin 127.0.0.1:" + std::to_string(p.admin) + " (no admin.token_file") != std::string::npos);
  CHECK(open.log().find("replication 127.0.0.1:" + std::to_string(p.replication) + " (no replication.tls") !=
        std::string::npos);
  CHECK(occurrences(open.log(), "unauthenticated listeners:") == 1);
  // Users and a token, but replication without TLS: only the replication port is named.
  auth_node closed;
  const auto cp = closed.node.ports();
  REQUIRE(log_has(closed.node, "unauthenticated listeners: replication 127.0.0.1:" + std::to_string(cp.replication)));
  CHECK(closed.node.log().find("no auth.users_file") == std::string::npos);
  CHECK(closed.node.log().find("no admin.token_file") == std::string::npos);
}

TEST_CASE("cli_takes_user_password_file_and_token_file") {
  auth_node a{json{{"require_token_for_reads", true}}};
  const auto pw = a.dir / "alice.pw", bad = a.dir / "bad.pw", token = a.dir / "cli.token";
  write_secret(pw, "alice-pw\n", 0600);
  write_secret(bad, "nope\n", 0600);
  write_secret(token, "the-admin-token\n", 0600);
  const auto client = "127.0.0.1:" + std::to_string(a.node.ports().client);
  const auto admin = "127.0.0.1:" + std::to_string(a.node.ports().admin);
  auto ok = run({tandem_cli_path(), "publish", "--client", client, "--user", "alice", "--password-file", pw, "--topic",
                 "orders.cli", "hello"});
  CHECK(ok.exit_code == 0);
  auto refused = run({tandem_cli_path(), "publish", "--client", client, "--user", "alice", "--password-file", bad,
                      "--topic", "orders.cli", "hello"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("authentication failed") != std::string::npos);
  CHECK(run({tandem_cli_path(), "status", "--admin", admin, "--token-file", token}).exit_code == 0);
  auto no_token = run({tandem_cli_path(), "status", "--admin", admin});
  CHECK(no_token.exit_code == 1);
  CHECK(no_token.err.find("HTTP 401") != std::string::npos);
  CHECK(run({tandem_cli_path(), "publish", "--client", client, "--user", "alice", "hello"}).exit_code == 2);
}
