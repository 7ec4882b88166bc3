// Parsing and validation of a node's JSON configuration. The schema, every default and an example
// per field are in docs/config.md.
//
// Errors are values: each function returns every problem it found, each named by its JSON path, and
// none of them throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node_config.hpp"

namespace tandem::config {

// One problem in a config document. `path` locates it: top-level keys bare ("name"), nested keys
// joined by '.' ("journal.sync"), array elements as [i] ("destinations[0].addresses[2]"), and
// "<root>" for the document as a whole (syntax errors, unreadable file, not an object).
struct config_error {
  std::string path;
  std::string message;

  std::string to_string() const; // "path: message"

  friend bool operator==(const config_error&, const config_error&) = default;
};

// Invariant: `config` holds a value exactly when `errors` is empty.
struct parse_result {
  std::optional<node_config> config;
  std::vector<config_error> errors;

  bool ok() const { return config.has_value(); }
};

// Validates `j` against the schema and fills in every default. Reports all problems, not the first.
parse_result parse_config(const nlohmann::json& j);

// As parse_config; invalid JSON gives one error at "<root>" with the parser's message and byte offset.
parse_result parse_config_text(std::string_view text);

// As parse_config_text on the file's contents; an unreadable file gives one error at "<root>" that
// names the file and the reason.
parse_result load_config_file(const std::string& file);

// The normalized document: every field present with defaults filled in, keys in the order of the
// node_config struct. Re-parsing it yields a node_config equal to `c`.
nlohmann::ordered_json to_json(const node_config& c);

// The embedded default used when tandemd starts without a config file: name = group = hostname,
// data_dir "./tandem-data", listeners on 127.0.0.1 at the default ports, no destinations.
// A hostname that is not a valid instance name (see docs/config.md) is made into one: characters
// outside [A-Za-z0-9._-] become '-', it is cut to 64 characters, and an empty one becomes "tandem".
node_config default_config(const std::string& hostname);

// "host:port" or "[ipv6]:port" with port 1..65535; nullopt if malformed. The brackets are not part
// of the returned host.
std::optional<host_port> parse_host_port(std::string_view s);

// Inverse of parse_host_port: brackets a host that contains ':' ("[::1]:27100").
std::string to_string(const host_port& address);

} // namespace tandem::config
