#include "config/users_file.hpp"

#include <fstream>
#include <iterator>
#include <set>
#include <variant>

#include <sys/stat.h>

#include "config/json_reader.hpp"
#include "protocol/names.hpp"

namespace tandem::config {

namespace {

using detail::object_reader;
using detail::presence;
using nlohmann::json;

users_result failed(std::string message) { return {std::nullopt, {{"<root>", std::move(message)}}}; }

void read_patterns(object_reader& r, std::string_view key, std::vector<pattern>& out) {
  const json* list = r.array(key);
  if (!list)
    return;
  if (list->size() > max_user_patterns)
    return r.error(key, "at most " + std::to_string(max_user_patterns) + " patterns, got " +
                          std::to_string(list->size()));
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto path = detail::element_path(r.path_of(key), i);
    std::string source;
    if (!detail::read_string_at((*list)[i], path, source, r.errors()))
      continue;
    if (source.size() > protocol::limits::max_pattern_bytes) {
      r.errors().push_back({path, "pattern of " + std::to_string(source.size()) + " bytes exceeds the maximum of " +
                                    std::to_string(protocol::limits::max_pattern_bytes)});
      continue;
    }
    auto compiled = pattern::compile(source);
    if (auto* e = std::get_if<std::string>(&compiled))
      r.errors().push_back({path, "invalid regex " + detail::quote(source) + ": " + *e});
    else
      out.push_back(std::get<pattern>(std::move(compiled)));
  }
}

void read_name(object_reader& r, std::string& out) {
  if (!r.read_string("name", out, presence::required))
    return;
  if (out.empty())
    return r.error("name", "must not be empty");
  if (out.size() > max_user_name_bytes)
    return r.error("name", "at most " + std::to_string(max_user_name_bytes) + " bytes, got " +
                             std::to_string(out.size()));
  if (auto v = protocol::names::check_label(out))
    r.error("name", "not a valid user name (UTF-8 without control characters)");
}

// A certificate-only user (issue 18, client certificates) has no password_hash: it says so with
// `"certificate_only": true`, so that a forgotten hash stays an error rather than a user nobody
// can log in as by password without being told.
void read_hash(object_reader& r, password_hash& out, bool& has_password) {
  bool cert_only = false;
  r.read_bool("certificate_only", cert_only);
  has_password = !cert_only;
  std::string text;
  if (cert_only) {
    if (r.read_string("password_hash", text))
      r.error("password_hash", "a certificate_only user has no password_hash (remove one of them)");
    return;
  }
  if (!r.read_string("password_hash", text, presence::required))
    return;
  auto parsed = parse_password_hash(text);
  if (auto* e = std::get_if<std::string>(&parsed))
    r.error("password_hash", *e); // never quoted: it is a hash, but still a secret's derivative
  else
    out = std::get<password_hash>(std::move(parsed));
}

std::optional<user_entry> read_user(const json& v, const std::string& path, std::vector<config_error>& errors) {
  const auto before = errors.size();
  object_reader r{v, path, errors};
  if (!r.is_object())
    return std::nullopt;
  user_entry u;
  read_name(r, u.name);
  read_hash(r, u.hash, u.has_password);
  read_patterns(r, "publish", u.publish);
  read_patterns(r, "subscribe", u.subscribe);
  r.report_unknown_keys();
  if (errors.size() != before)
    return std::nullopt;
  return u;
}

bool is_plain_topic(std::string_view s) {
  return s.find_first_of("\\.^$|?*+()[]{}") == std::string_view::npos;
}

bool any_match(const std::vector<pattern>& patterns, std::string_view subject) {
  for (const auto& p : patterns)
    if (p.full_match(subject))
      return true;
  return false;
}

} // namespace

const char* to_string(login_result r) {
  switch (r) {
    case login_result::ok: return "ok";
    case login_result::unknown_user: return "unknown_user";
    case login_result::bad_password: return "bad_password";
  }
  return "bad_password";
}

users_table::users_table(std::vector<user_entry> users) {
  for (auto& u : users)
    users_.emplace(u.name, std::move(u));
  // The dummy's cost is the default one; its key can match no password's derivation in practice.
  dummy_ = password_hash{default_scrypt_params, std::string(salt_bytes, 'x'), std::string(key_bytes, '\0')};
}

const user_entry* users_table::find(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

login_result users_table::check_login(std::string_view user, std::string_view password) const {
  const auto* u = find(user);
  // A certificate-only user costs the same dummy check and never matches by password.
  const bool verified = verify_password(u && u->has_password ? u->hash : dummy_, password) && u && u->has_password;
  if (!u)
    return login_result::unknown_user;
  return verified ? login_result::ok : login_result::bad_password;
}

bool users_table::may_publish(const user_entry& u, std::string_view topic) const {
  return any_match(u.publish, topic);
}

bool users_table::may_subscribe(const user_entry& u, std::string_view topic_pattern) const {
  for (const auto& p : u.subscribe)
    if (p.source() == topic_pattern || p.source() == ".*")
      return true;
  return is_plain_topic(topic_pattern) && any_match(u.subscribe, topic_pattern);
}

users_result parse_users(const json& j) {
  std::vector<config_error> errors;
  std::vector<user_entry> users;
  object_reader r{j, "", errors};
  if (const json* list = r.is_object() ? r.array("users", presence::required) : nullptr) {
    if (list->size() > max_users)
      r.error("users", "at most " + std::to_string(max_users) + " users, got " + std::to_string(list->size()));
    std::set<std::string, std::less<>> names;
    for (std::size_t i = 0; i < list->size() && list->size() <= max_users; ++i) {
      const auto path = detail::element_path("users", i);
      auto u = read_user((*list)[i], path, errors);
      if (u && !names.insert(u->name).second)
        errors.push_back({path + ".name", "duplicate user " + detail::quote(u->name)});
      else if (u)
        users.push_back(std::move(*u));
    }
  }
  r.report_unknown_keys();
  if (!errors.empty())
    return {std::nullopt, std::move(errors)};
  return {users_table{std::move(users)}, {}};
}

users_result parse_users_text(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    return failed("invalid JSON at byte " + std::to_string(e.byte));
  }
  return parse_users(j);
}

users_result load_users_file(const std::string& file) {
  const std::string what = "users file " + detail::quote(file);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return failed("cannot read " + what + ": not a readable regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_users_file_bytes)
    return failed(what + " is larger than " + std::to_string(max_users_file_bytes) + " bytes");
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return failed("cannot read " + what);
  const std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  auto r = parse_users_text(text);
  for (auto& e : r.errors)
    e.message = what + ": " + e.message;
  return r;
}

} // namespace tandem::config
