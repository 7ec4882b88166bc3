// actors/logic/access_control.hpp: the admin token rule as a table, and the shared snapshots and
// counters the listeners and tandemd's reload use.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "actors/logic/access_control.hpp"

using namespace tandem::logic;

TEST_CASE("admin_token_rule_table") {
  const admin_access open{};
  const admin_access token{std::string{"s3cret-token"}, false};
  const admin_access token_reads{std::string{"s3cret-token"}, true};
  const std::optional<std::string_view> none;
  struct row {
    const admin_access& access;
    bool is_read;
    std::optional<std::string_view> header;
    admin_verdict expected;
  };
  const row rows[] = {
    {open, false, none, admin_verdict::allowed},
    {open, true, none, admin_verdict::allowed},
    {token, true, none, admin_verdict::allowed},                                  // GET without require_token_for_reads
    {token, false, none, admin_verdict::unauthorized},                            // POST, no token: 401
    {token, false, std::string_view{"Basic czNjcmV0"}, admin_verdict::unauthorized}, // not a bearer token
    {token, false, std::string_view{"Bearer "}, admin_verdict::forbidden},        // empty bearer: wrong
    {token, false, std::string_view{"Bearer s3cret-tokeN"}, admin_verdict::forbidden}, // wrong: 403
    {token, false, std::string_view{"Bearer s3cret-token "}, admin_verdict::forbidden},
    {token, false, std::string_view{"Bearer s3cret-token"}, admin_verdict::allowed},
    {token_reads, true, none, admin_verdict::unauthorized},                       // GET needs it too
    {token_reads, true, std::string_view{"Bearer nope"}, admin_verdict::forbidden},
    {token_reads, true, std::string_view{"Bearer s3cret-token"}, admin_verdict::allowed},
  };
  for (const auto& r : rows) {
    CAPTURE(r.header.value_or("<none>"));
    CAPTURE(r.is_read);
    CHECK(decide_admin(r.access, r.is_read, r.header) == r.expected);
  }
}

TEST_CASE("access_control_counts_and_swaps") {
  access_control ac;
  CHECK(ac.users() == nullptr);
  ac.count_login_failure(login_failure::bad_password);
  ac.count_login_failure(login_failure::bad_password);
  ac.count_login_failure(login_failure::unknown_user);
  auto f = ac.login_failures();
  CHECK(f.size() == login_failure_kinds);
  CHECK(f["bad_password"] == 2);
  CHECK(f["unknown_user"] == 1);
  CHECK(f["busy"] == 0);
  ac.count_admin_refusal(admin_verdict::unauthorized);
  ac.count_admin_refusal(admin_verdict::forbidden);
  ac.count_admin_refusal(admin_verdict::allowed);
  CHECK(ac.admin_unauthorized() == 1);
  CHECK(ac.admin_forbidden() == 1);
  auto table = std::make_shared<const tandem::config::users_table>(std::vector<tandem::config::user_entry>{});
  ac.set_users(table);
  auto held = ac.users(); // a reader keeps its snapshot across a swap
  ac.set_users(nullptr);
  CHECK(held == table);
  CHECK(ac.users() == nullptr);
}

TEST_CASE("client_login_route_table") {
  using kind = login_route::kind;
  const std::optional<std::string> none, carol{"carol"};
  struct row {
    bool auth;
    std::optional<std::string> cert;
    std::string hello_user;
    kind how;
    std::string user;
  };
  const row rows[] = {
    {false, none, "", kind::open, ""},
    {false, none, "alice", kind::open, ""},
    {false, carol, "", kind::open, "carol"},
    {false, carol, "alice", kind::refused, "carol"}, // the hello contradicts the certificate
    {true, none, "", kind::password, ""},            // the password path refuses it (no_credentials)
    {true, none, "alice", kind::password, "alice"},
    {true, carol, "", kind::certificate, "carol"},
    {true, carol, "carol", kind::certificate, "carol"},
    {true, carol, "alice", kind::refused, "carol"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.auth);
    CAPTURE(r.hello_user);
    CAPTURE(r.cert.value_or("<none>"));
    auto got = route_login(r.auth, r.cert, r.hello_user);
    CHECK(got.how == r.how);
    CHECK(got.user == r.user);
    if (got.how == kind::refused)
      CHECK(got.failure == login_failure::certificate_mismatch);
  }
  CHECK(std::string{to_string(login_failure::certificate_mismatch)} == "certificate_mismatch");
}
