// Command-line overrides of config values: `tandemd --set admin.port=0 --set destinations[0].sync_type=async`.
// Applied to the JSON document before validation, so an override is checked exactly like the file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::config {

// Applies "PATH=VALUE" to `doc`. PATH uses the same notation as validation errors (keys joined by
// '.', array elements as [i]); missing objects on the way are created, array indexes must exist.
// VALUE is parsed as JSON when it is valid JSON (numbers, true/false, null, arrays, objects,
// quoted strings) and taken as a plain string otherwise. Returns the problem, or nullopt.
std::optional<std::string> apply_override(nlohmann::json& doc, std::string_view assignment);

// Applies `assignments` in order (the first problem is returned, prefixed with its assignment).
// `group_defaulted` says the document's group is only the default (the embedded default config,
// whose group is its name): then an assignment to `name` moves the group along with it, unless
// an assignment to `group` says otherwise -- as a file without `group` does at validation.
std::optional<std::string> apply_overrides(nlohmann::json& doc, const std::vector<std::string>& assignments,
                                           bool group_defaulted);

} // namespace tandem::config
