#include "actors/logic/routing.hpp"

#include <algorithm>
#include <stdexcept>

namespace tandem::logic {

namespace {

config::pattern compile_or_throw(std::string_view source) {
  auto compiled = config::pattern::compile(source);
  if (auto* error = std::get_if<std::string>(&compiled))
    throw std::invalid_argument("invalid pattern \"" + std::string{source} + "\": " + *error);
  return std::get<config::pattern>(std::move(compiled));
}

} // namespace

regex_match_cache::regex_match_cache(std::string_view pattern, std::size_t max_entries)
    : pattern_(compile_or_throw(pattern)), max_entries_(std::max<std::size_t>(max_entries, 1)) {}

bool regex_match_cache::matches(std::string_view subject) {
  if (subject.size() > max_cached_subject_bytes) {
    ++misses_;
    return pattern_.full_match(subject); // never stored: bounds the cache's memory by bytes
  }
  if (auto it = cache_.find(subject); it != cache_.end()) {
    ++hits_;
    return it->second;
  }
  ++misses_;
  const bool matched = pattern_.full_match(subject);
  if (cache_.size() >= max_entries_)
    cache_.clear();
  cache_.emplace(std::string{subject}, matched);
  return matched;
}

destination_route::destination_route(std::string destination, std::string_view topics_regex,
                                     const std::vector<std::string>& passthrough_regexes,
                                     std::size_t cache_entries)
    : destination_route(std::vector<std::string>{std::move(destination)}, topics_regex, passthrough_regexes,
                        cache_entries) {}

destination_route::destination_route(std::vector<std::string> instances, std::string_view topics_regex,
                                     const std::vector<std::string>& passthrough_regexes,
                                     std::size_t cache_entries)
    : instances_(std::move(instances)), topics_(topics_regex, cache_entries) {
  if (instances_.empty())
    throw std::invalid_argument("a destination route needs at least one instance");
  destination_ = instances_.front();
  passthrough_.reserve(passthrough_regexes.size());
  for (const auto& pattern : passthrough_regexes)
    passthrough_.emplace_back(pattern, cache_entries);
}

void destination_route::set_serving_instance(const std::string& instance) {
  if (is_instance(instance))
    destination_ = instance;
}

bool destination_route::is_instance(std::string_view name) const {
  return std::find(instances_.begin(), instances_.end(), name) != instances_.end();
}

bool destination_route::passes_through(std::string_view upstream_group) const {
  return std::any_of(passthrough_.begin(), passthrough_.end(),
                     [&](regex_match_cache& c) { return c.matches(upstream_group); });
}

bool destination_route::admits(const route_input& in) const {
  // Cheapest checks first; the regexes run last.
  auto in_group = [this](const std::string& hop) { return is_instance(hop); };
  if (in.origin_instance == destination_) {
    // Refill (header comment): the serving instance's own record from before its journal base.
    if (in.origin_seq >= destination_base_)
      return false;
    if (!in.path.empty() && std::any_of(in.path.begin() + 1, in.path.end(), in_group))
      return false;
    return topics_.matches(in.topic);
  }
  if (is_instance(in.origin_instance) || std::any_of(in.path.begin(), in.path.end(), in_group))
    return false;
  if (!in.path.empty() && !passes_through(in.upstream_group))
    return false;
  return topics_.matches(in.topic);
}

} // namespace tandem::logic
