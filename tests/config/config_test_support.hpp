// Shared by the config suites: small valid documents to mutate, and a way to look at the errors.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "config/parse.hpp"

namespace tandem::config::test {

using nlohmann::json;

// The smallest valid node config.
inline json minimal() {
  return {{"name", "A"}, {"data_dir", "/var/lib/tandem/A"}};
}

// A valid destination, to put into minimal() with with_destinations().
inline json destination(const std::string& name = "B") {
  return {{"name", name}, {"sync_type", "sync"}, {"addresses", json::array({"127.0.0.1:27200"})}};
}

inline json with_destinations(json destinations) {
  auto doc = minimal();
  doc["destinations"] = std::move(destinations);
  return doc;
}

inline json with_destination(json d) {
  return with_destinations(json::array({std::move(d)}));
}

// The single error `doc` is rejected with. If there is not exactly one, the result's path says so
// and its message lists them all, so a failing CHECK shows what happened.
inline config_error single_error(const json& doc) {
  auto result = parse_config(doc);
  if (result.errors.size() == 1)
    return result.errors.front();
  std::string all;
  for (const auto& e : result.errors)
    all += e.to_string() + "; ";
  return {"<" + std::to_string(result.errors.size()) + " errors>", all};
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace tandem::config::test

// Asserts that `doc` is rejected with exactly one error, at `path`, whose message contains `fragment`.
#define CHECK_SINGLE_ERROR(doc, expected_path, fragment)                                                        \
  do {                                                                                                          \
    auto error_ = ::tandem::config::test::single_error(doc);                                                   \
    CHECK(error_.path == (expected_path));                                                                      \
    CHECK_MESSAGE(::tandem::config::test::contains(error_.message, fragment), error_.to_string());              \
  } while (false)
