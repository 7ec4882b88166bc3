#include "config/config_source.hpp"

#include <fstream>
#include <sstream>

#include "config/overrides.hpp"

namespace tandem::config {

loaded_config load_config_source(const config_source& s) {
  loaded_config out;
  out.source = s.file.empty() ? std::string{"default config"} : s.file;
  nlohmann::json doc;
  if (s.file.empty()) {
    doc = nlohmann::json::parse(to_json(default_config(s.host_name)).dump());
  } else {
    std::ifstream in{s.file};
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      out.problem = "cannot read config file " + s.file;
      return out;
    }
    doc = nlohmann::json::parse(text.str(), nullptr, false);
    if (doc.is_discarded()) {
      out.result = parse_config_text(text.str());
      return out;
    }
  }
  // The embedded default's group is only its default (the name): --set name=H moves it along.
  if (auto problem = apply_overrides(doc, s.overrides, s.file.empty())) {
    out.problem = "--set " + *problem;
    return out;
  }
  out.result = parse_config(doc);
  return out;
}

nlohmann::ordered_json to_json(const loaded_config& l) {
  auto errors = nlohmann::ordered_json::array();
  for (const auto& e : l.result.errors)
    errors.push_back({{"path", e.path}, {"message", e.message}});
  return {{"source", l.source},
          {"problem", l.problem},
          {"errors", errors},
          {"config", l.result.ok() ? to_json(*l.result.config) : nlohmann::ordered_json{}}};
}

loaded_config loaded_config_from_json(const nlohmann::json& j) {
  loaded_config l;
  if (!j.is_object() || !j.value("source", nlohmann::json{}).is_string()) {
    l.problem = "internal: not a loaded config";
    return l;
  }
  l.source = j["source"].get<std::string>();
  l.problem = j.value("problem", std::string{});
  if (j.contains("config") && j["config"].is_object())
    l.result = parse_config(j["config"]);
  else
    for (const auto& e : j.value("errors", nlohmann::json::array()))
      l.result.errors.push_back({e.value("path", std::string{}), e.value("message", std::string{})});
  return l;
}

} // namespace tandem::config
