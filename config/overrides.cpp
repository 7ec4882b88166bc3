#include "config/overrides.hpp"

#include <cctype>
#include <charconv>

namespace tandem::config {

std::optional<std::string> apply_override(nlohmann::json& doc, std::string_view assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return "expected PATH=VALUE, got '" + std::string{assignment} + "'";
  auto path = assignment.substr(0, eq);
  auto value_text = assignment.substr(eq + 1);
  nlohmann::json value = nlohmann::json::parse(value_text, nullptr, false);
  if (value.is_discarded())
    value = std::string{value_text};
  nlohmann::json* node = &doc;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '[') {
      auto close = path.find(']', i);
      std::size_t index = 0;
      auto digits = path.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (close == std::string_view::npos || digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
        return "bad array index in '" + std::string{path} + "'";
      if (!node->is_array() || index >= node->size())
        return std::string{path.substr(0, close + 1)} + ": no such array element";
      node = &(*node)[index];
      i = close + 1;
      if (i < path.size() && path[i] == '.')
        ++i;
      continue;
    }
    auto stop = path.find_first_of(".[", i);
    auto key = std::string{path.substr(i, stop == std::string_view::npos ? std::string_view::npos : stop - i)};
    if (key.empty())
      return "empty key in '" + std::string{path} + "'";
    if (node->is_null())
      *node = nlohmann::json::object();
    if (!node->is_object())
      return std::string{path.substr(0, i == 0 ? 0 : i - 1)} + ": not an object";
    node = &(*node)[key];
    i = stop == std::string_view::npos ? path.size() : stop;
    if (i < path.size() && path[i] == '.')
      ++i;
  }
  *node = std::move(value);
  return std::nullopt;
}

namespace {

// The PATH of "PATH=VALUE" (the whole text when there is no '=').
std::string_view path_of(std::string_view assignment) { return assignment.substr(0, assignment.find('=')); }

} // namespace

std::optional<std::string> apply_overrides(nlohmann::json& doc, const std::vector<std::string>& assignments,
                                           bool group_defaulted) {
  bool group_given = false;
  for (const auto& a : assignments) {
    if (auto problem = apply_override(doc, a))
      return a + ": " + *problem;
    group_given = group_given || path_of(a) == "group";
  }
  if (group_defaulted && !group_given && doc.is_object() && doc.contains("name"))
    doc["group"] = doc["name"];
  return std::nullopt;
}

} // namespace tandem::config
