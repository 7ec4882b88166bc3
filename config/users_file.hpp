// The users of the client port (auth.users_file, docs/security.md): who may log in with which
// password, and which topics each may publish and subscribe to. Plain C++; the file is read by
// tandemd at startup and by the config loader on a reload, and the client listener asks the
// loaded table (login off the scheduler: verification costs ~50 ms by design).
//
//   {"users": [{"name": "gw-1", "password_hash": "$scrypt$N=16384,r=8,p=1$...$...",
//               "publish": ["orders\\..*"], "subscribe": ["orders\\..*", "fills"]}]}
//
// A user who logs in only with a TLS client certificate naming it (URI SAN tandem:user/NAME,
// docs/security.md) has `"certificate_only": true` instead of a password_hash; any user may also
// log in with such a certificate.
//
// Patterns are the node's one RE2 dialect (config/pattern.hpp) and must match a whole topic.
// A publish is entitled when its topic matches one of the user's `publish` patterns. A
// subscription is entitled when its pattern is one of the user's `subscribe` patterns exactly,
// when the user may subscribe to ".*", or when it is a plain topic (no regex operators) that one
// of them matches: whether one regex is contained in another is not decided here.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/parse.hpp"
#include "config/password_hash.hpp"
#include "config/pattern.hpp"

namespace tandem::config {

// Limits of a users file (each tested at the limit and one above).
inline constexpr std::size_t max_users = 10000;
inline constexpr std::size_t max_user_name_bytes = 255;    // as client_hello.user (a label)
inline constexpr std::size_t max_user_patterns = 64;       // per list (publish, subscribe)
inline constexpr std::size_t max_users_file_bytes = 16u << 20;

struct user_entry {
  std::string name;
  password_hash hash;       // unused when !has_password
  bool has_password = true; // false: `"certificate_only": true`, logs in only with a client certificate
  std::vector<pattern> publish;
  std::vector<pattern> subscribe;
};

enum class login_result { ok, unknown_user, bad_password };
const char* to_string(login_result r); // "ok", "unknown_user", "bad_password" (the metric's reason)

class users_table {
public:
  explicit users_table(std::vector<user_entry> users);

  std::size_t size() const { return users_.size(); }
  const user_entry* find(std::string_view name) const;

  // Costs one scrypt derivation whether or not the user exists (an unknown user is checked
  // against a fixed dummy hash), so the time taken does not tell which names exist.
  login_result check_login(std::string_view user, std::string_view password) const;
  bool may_publish(const user_entry& u, std::string_view topic) const;
  bool may_subscribe(const user_entry& u, std::string_view topic_pattern) const;

private:
  std::map<std::string, user_entry, std::less<>> users_;
  password_hash dummy_;
};

struct users_result {
  std::optional<users_table> users;   // set exactly when errors is empty
  std::vector<config_error> errors;   // paths inside the file: "users[2].publish[0]"
};

users_result parse_users(const nlohmann::json& j);
users_result parse_users_text(std::string_view text);
// An unreadable or oversized file: one error at "<root>" naming the file.
users_result load_users_file(const std::string& file);

} // namespace tandem::config
