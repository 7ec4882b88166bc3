// Who may do what on this node (issue 18, docs/security.md): the client users table and the admin
// bearer token in force, shared by the client listener, the admin server and tandemd's signal
// thread, which swaps in the files it reloaded (a reader keeps the snapshot it took). Plain C++:
// a mutex guards the two snapshots, atomics count what was refused; no CAF, sockets or clocks.
//
// The admin rule (decide_admin):
//   no token configured                          -> allowed (the startup warning names the port)
//   a read (GET) and require_token_for_reads off -> allowed
//   no "Authorization: Bearer <token>" header    -> unauthorized (401)
//   a bearer token that differs                  -> forbidden (403; compared in constant time)
//   the token                                    -> allowed
// (The admin server lets GET /healthz through before asking: it tells nothing, and liveness
// probes carry no token.)
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "config/users_file.hpp"

namespace tandem::logic {

enum class admin_verdict { allowed, unauthorized, forbidden };

struct admin_access {
  std::optional<std::string> token; // none: the admin port is open
  bool require_token_for_reads = false;
};

// `authorization`: the request's Authorization header value, if it sent one.
admin_verdict decide_admin(const admin_access& access, bool is_read, std::optional<std::string_view> authorization);

// Why a client login failed: the label of tandem_auth_failures_total{reason}.
enum class login_failure { unknown_user, bad_password, no_credentials, busy, certificate_mismatch };
inline constexpr std::size_t login_failure_kinds = 5;
// "unknown_user", "bad_password", "no_credentials", "busy", "certificate_mismatch"
const char* to_string(login_failure f);

// How a client's hello logs in (issue 18, docs/security.md "Client certificates"), decided from
// what the TLS handshake verified and what the hello says:
//   a certificate naming tandem:user/C and a hello user that is neither empty nor C -> refused
//                                                          (certificate_mismatch)
//   no users_file (auth off)                            -> open (a certificate user is only logged)
//   a certificate naming tandem:user/C                  -> user C, no password asked (C must be in
//                                                          the users file: else unknown_user)
//   otherwise (no certificate, or one without a user)   -> the hello's user and password
struct login_route {
  enum class kind { open, certificate, password, refused } how = kind::open;
  std::string user;                   // certificate: the certificate's user
  login_failure failure = login_failure::certificate_mismatch; // refused: why
};
login_route route_login(bool auth_enabled, const std::optional<std::string>& certificate_user, std::string_view hello_user);

class access_control {
public:
  std::shared_ptr<const config::users_table> users() const; // null: clients are not authenticated
  void set_users(std::shared_ptr<const config::users_table> users);
  admin_access admin() const;
  void set_admin(admin_access access);

  void count_login_failure(login_failure f) { failures_[static_cast<std::size_t>(f)].fetch_add(1); }
  void count_admin_refusal(admin_verdict v);
  // {"unknown_user": n, ...}: every kind, zeros included.
  std::map<std::string, std::uint64_t> login_failures() const;
  std::uint64_t admin_unauthorized() const { return admin_unauthorized_.load(); }
  std::uint64_t admin_forbidden() const { return admin_forbidden_.load(); }

private:
  mutable std::mutex mutex_;
  std::shared_ptr<const config::users_table> users_;
  admin_access admin_;
  std::atomic<std::uint64_t> failures_[login_failure_kinds] = {};
  std::atomic<std::uint64_t> admin_unauthorized_{0}, admin_forbidden_{0};
};

} // namespace tandem::logic
