#include "actors/logic/access_control.hpp"

#include "config/password_hash.hpp"

namespace tandem::logic {

admin_verdict decide_admin(const admin_access& access, bool is_read, std::optional<std::string_view> authorization) {
  if (!access.token || (is_read && !access.require_token_for_reads))
    return admin_verdict::allowed;
  constexpr std::string_view scheme = "Bearer ";
  if (!authorization || !authorization->starts_with(scheme))
    return admin_verdict::unauthorized;
  auto presented = authorization->substr(scheme.size());
  return config::equal_secrets(presented, *access.token) ? admin_verdict::allowed : admin_verdict::forbidden;
}

const char* to_string(login_failure f) {
  switch (f) {
    case login_failure::unknown_user: return "unknown_user";
    case login_failure::bad_password: return "bad_password";
    case login_failure::no_credentials: return "no_credentials";
    case login_failure::busy: return "busy";
    case login_failure::certificate_mismatch: return "certificate_mismatch";
  }
  return "busy";
}

login_route route_login(bool auth_enabled, const std::optional<std::string>& certificate_user, std::string_view hello_user) {
  using kind = login_route::kind;
  if (certificate_user && !hello_user.empty() && hello_user != *certificate_user)
    return {kind::refused, *certificate_user, login_failure::certificate_mismatch};
  if (!auth_enabled)
    return {kind::open, certificate_user.value_or(""), {}};
  if (certificate_user)
    return {kind::certificate, *certificate_user, {}};
  return {kind::password, std::string{hello_user}, {}};
}

std::shared_ptr<const config::users_table> access_control::users() const {
  std::lock_guard lock{mutex_};
  return users_;
}

void access_control::set_users(std::shared_ptr<const config::users_table> users) {
  std::lock_guard lock{mutex_};
  users_ = std::move(users);
}

admin_access access_control::admin() const {
  std::lock_guard lock{mutex_};
  return admin_;
}

void access_control::set_admin(admin_access access) {
  std::lock_guard lock{mutex_};
  admin_ = std::move(access);
}

void access_control::count_admin_refusal(admin_verdict v) {
  if (v == admin_verdict::unauthorized)
    admin_unauthorized_.fetch_add(1);
  else if (v == admin_verdict::forbidden)
    admin_forbidden_.fetch_add(1);
}

std::map<std::string, std::uint64_t> access_control::login_failures() const {
  std::map<std::string, std::uint64_t> out;
  for (std::size_t i = 0; i < login_failure_kinds; ++i)
    out[to_string(static_cast<login_failure>(i))] = failures_[i].load();
  return out;
}

} // namespace tandem::logic
