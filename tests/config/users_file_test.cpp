// config/users_file.hpp: the users file's validation (every error named by its path, limits at the
// limit and one above), logins and entitlements.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "config/users_file.hpp"
#include "protocol/limits.hpp"

using namespace tandem::config;
using nlohmann::json;

namespace {

// A cheap hash (N=16) so that the table tests stay fast; the cost is the file's, not the code's.
std::string cheap_hash(const std::string& password) {
  auto h = make_password_hash(password, {16, 1, 1});
  REQUIRE(h);
  return to_string(*h);
}

json user(const std::string& name, const std::string& password = "pw") {
  return {{"name", name}, {"password_hash", cheap_hash(password)}, {"publish", {"orders\\..*"}},
          {"subscribe", {"orders\\..*", "fills", "trades_.*"}}};
}

std::string first_error(const users_result& r) {
  return r.errors.empty() ? std::string{"<ok>"} : r.errors.front().to_string();
}

} // namespace

TEST_CASE("users_file_valid_table_logs_in_and_entitles") {
  auto r = parse_users(json{{"users", {user("alice", "a-pw"), user("bob", "b-pw")}}});
  REQUIRE(r.users);
  CHECK(r.users->size() == 2);
  CHECK(r.users->check_login("alice", "a-pw") == login_result::ok);
  CHECK(r.users->check_login("alice", "b-pw") == login_result::bad_password);
  CHECK(r.users->check_login("carol", "a-pw") == login_result::unknown_user);
  CHECK(r.users->check_login("", "") == login_result::unknown_user);
  const auto* alice = r.users->find("alice");
  REQUIRE(alice);
  CHECK(r.users->may_publish(*alice, "orders.eu"));
  CHECK_FALSE(r.users->may_publish(*alice, "fills"));
  CHECK_FALSE(r.users->may_publish(*alice, "xorders.eu"));
  CHECK(r.users->may_subscribe(*alice, "orders\\..*")); // one of hers, exactly
  CHECK(r.users->may_subscribe(*alice, "fills"));
  CHECK(r.users->may_subscribe(*alice, "trades_eu"));   // a plain topic one of them matches
  CHECK_FALSE(r.users->may_subscribe(*alice, "orders.eu")); // '.' is an operator: also "ordersXeu"
  CHECK_FALSE(r.users->may_subscribe(*alice, ".*"));
  CHECK_FALSE(r.users->may_subscribe(*alice, "orders\\.eu|secret"));
  CHECK_FALSE(r.users->may_subscribe(*alice, "secret"));
}

TEST_CASE("users_file_certificate_only_user_has_entitlements_and_no_password_login") {
  json carol = {{"name", "carol"}, {"certificate_only", true}, {"publish", {"fills"}}};
  auto r = parse_users(json{{"users", {carol, user("alice", "a-pw")}}});
  REQUIRE_MESSAGE(r.users, first_error(r));
  const auto* c = r.users->find("carol");
  REQUIRE(c != nullptr);
  CHECK_FALSE(c->has_password);
  CHECK(r.users->find("alice")->has_password);
  CHECK(r.users->may_publish(*c, "fills"));
  CHECK_FALSE(r.users->may_publish(*c, "orders.x"));
  // No password logs in as a certificate-only user, the empty one included.
  CHECK(r.users->check_login("carol", "") == login_result::bad_password);
  CHECK(r.users->check_login("carol", "anything") == login_result::bad_password);
  CHECK(r.users->check_login("alice", "a-pw") == login_result::ok);
  // certificate_only: false is an ordinary user, whose hash is required.
  json dave = {{"name", "dave"}, {"certificate_only", false}};
  CHECK(first_error(parse_users(json{{"users", {dave}}})).starts_with("users[0].password_hash: missing required key"));
}

TEST_CASE("users_file_subscribe_everything_entitles_any_pattern") {
  json u = user("ops");
  u["subscribe"] = {".*"};
  auto r = parse_users(json{{"users", {u}}});
  REQUIRE(r.users);
  CHECK(r.users->may_subscribe(*r.users->find("ops"), "anything|(else)"));
}

TEST_CASE("users_file_errors_name_their_path") {
  struct row {
    json doc;
    std::string error;
  };
  json bad_hash = user("a");
  bad_hash["password_hash"] = "$scrypt$N=3,r=8,p=1$x$y";
  json bad_regex = user("a");
  bad_regex["publish"] = {"orders.("};
  json long_pattern = user("a");
  long_pattern["subscribe"] = {std::string(tandem::protocol::limits::max_pattern_bytes + 1, 'a')};
  json extra = user("a");
  extra["admin"] = true;
  json no_hash = user("a");
  no_hash.erase("password_hash");
  json cert_only_with_hash = user("a");
  cert_only_with_hash["certificate_only"] = true;
  const row rows[] = {
    {json{{"users", {cert_only_with_hash}}}, "users[0].password_hash: a certificate_only user has no password_hash"},
    {json::array(), "<root>: expected an object"},
    {json::object(), "users: missing required key"},
    {json{{"users", {user("a"), user("a")}}}, "users[1].name: duplicate user \"a\""},
    {json{{"users", {bad_hash}}}, "users[0].password_hash: parameters: N: must be a power of two"},
    {json{{"users", {bad_regex}}}, "users[0].publish[0]: invalid regex \"orders.(\""},
    {json{{"users", {long_pattern}}}, "users[0].subscribe[0]: pattern of 4097 bytes exceeds the maximum of 4096"},
    {json{{"users", {extra}}}, "users[0].admin: unknown key"},
    {json{{"users", {no_hash}}}, "users[0].password_hash: missing required key"},
    {json{{"users", {user("")}}}, "users[0].name: must not be empty"},
    {json{{"users", {user("a\x01")}}}, "users[0].name: not a valid user name"},
    {json{{"users", {user("a")}}, {"userz", 1}}, "userz: unknown key"},
  };
  for (const auto& r : rows) {
    const auto got = first_error(parse_users(r.doc));
    CAPTURE(got);
    CHECK(got.starts_with(r.error));
  }
}

TEST_CASE("users_file_limits_at_limit_and_above") {
  SUBCASE("user name bytes") {
    CHECK(first_error(parse_users(json{{"users", {user(std::string(max_user_name_bytes, 'n'))}}})) == "<ok>");
    CHECK(first_error(parse_users(json{{"users", {user(std::string(max_user_name_bytes + 1, 'n'))}}})) ==
          "users[0].name: at most 255 bytes, got 256");
  }
  SUBCASE("patterns per list") {
    json u = user("a");
    u["publish"] = json::array();
    for (std::size_t i = 0; i < max_user_patterns; ++i)
      u["publish"].push_back("t" + std::to_string(i));
    CHECK(first_error(parse_users(json{{"users", {u}}})) == "<ok>");
    u["publish"].push_back("one-more");
    CHECK(first_error(parse_users(json{{"users", {u}}})) == "users[0].publish: at most 64 patterns, got 65");
  }
  SUBCASE("pattern bytes") {
    json u = user("a");
    u["publish"] = {std::string(tandem::protocol::limits::max_pattern_bytes, 'p')};
    CHECK(first_error(parse_users(json{{"users", {u}}})) == "<ok>");
  }
  SUBCASE("users") {
    // The same (cheap) hash for every user: parsing, not hashing, is under test.
    const std::string hash = cheap_hash("pw");
    json list = json::array();
    for (std::size_t i = 0; i < max_users; ++i)
      list.push_back({{"name", "u" + std::to_string(i)}, {"password_hash", hash}});
    CHECK(first_error(parse_users(json{{"users", list}})) == "<ok>");
    list.push_back({{"name", "one-more"}, {"password_hash", hash}});
    CHECK(first_error(parse_users(json{{"users", list}})) == "users: at most 10000 users, got 10001");
  }
}

TEST_CASE("users_file_load_names_the_file") {
  const auto dir = std::filesystem::temp_directory_path() / ("users_file_test." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = (dir / "users.json").string();
  CHECK(first_error(load_users_file(file)).starts_with("<root>: cannot read users file \"" + file + "\""));
  std::ofstream{file} << "{\"users\": [";
  CHECK(first_error(load_users_file(file)).starts_with("<root>: users file \"" + file + "\": invalid JSON at byte"));
  std::ofstream{file} << json{{"users", {user("alice", "pw")}}}.dump();
  auto ok = load_users_file(file);
  REQUIRE(ok.users);
  CHECK(ok.users->check_login("alice", "pw") == login_result::ok);
  std::filesystem::remove_all(dir);
}
