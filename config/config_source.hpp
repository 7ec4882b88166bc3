// Where a node's config comes from, so that it can be read again (a live reload, issue 21) exactly
// as at startup: the file (or the embedded default), then the --set overrides, then validation.
// Reads the file: call it where blocking is fine (main, or a detached actor), never on a
// scheduler thread.
#pragma once

#include <string>
#include <vector>

#include "config/parse.hpp"

namespace tandem::config {

struct config_source {
  std::string file;                   // empty: the embedded default (default_config(host_name))
  std::vector<std::string> overrides; // --set PATH=VALUE, applied in order
  std::string host_name;              // the raw host name the embedded default is named after
};

struct loaded_config {
  parse_result result; // the config, or every validation error by JSON path
  // Set (and result empty) when the file cannot be read ("cannot read config file F") or an
  // override is refused ("--set ..."); the JSON's own problems are in result.errors.
  std::string problem;
  std::string source; // the file, or "default config": what error lines are prefixed with

  bool ok() const { return problem.empty() && result.ok(); }
};

loaded_config load_config_source(const config_source& s);

// A loaded_config as JSON, and back, to carry it between actors as a string: {"source",
// "problem", "errors": ["path: message", ...], "config": to_json(config) or null}. from_json of a
// document not made by to_json gives a loaded_config with a problem saying so.
nlohmann::ordered_json to_json(const loaded_config& l);
loaded_config loaded_config_from_json(const nlohmann::json& j);

} // namespace tandem::config
