#include "actors/metrics/registry.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "actors/metrics/text_format.hpp"

namespace tandem::metrics {
namespace {

std::vector<std::string> sample_names(metric_type type, std::string_view name) {
  std::vector<std::string> names{std::string(name)};
  if (type == metric_type::histogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      names.push_back(std::string(name) + suffix);
  }
  return names;
}

metrics_error error(errc code, metric_type type, std::string_view name, std::string detail) {
  std::string message = to_string(type);
  message += " '";
  message += name;
  message += "': ";
  message += detail;
  return {code, std::move(message)};
}

// Checks names and bounds; normalizes the bounds (drops a trailing +Inf).
std::optional<metrics_error> validate(metric_type type, std::string_view name,
                                      const std::vector<std::string>& label_names,
                                      std::vector<double>& upper_bounds) {
  if (!is_valid_metric_name(name))
    return error(errc::invalid_metric_name, type, name,
                 "metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  std::set<std::string_view> seen;
  for (const auto& label : label_names) {
    if (!is_valid_label_name(label))
      return error(errc::invalid_label_name, type, name,
                   "label name '" + label + "' must match [a-zA-Z_][a-zA-Z0-9_]*");
    if (label.starts_with("__"))
      return error(errc::invalid_label_name, type, name,
                   "label name '" + label + "' starts with \"__\" (reserved for Prometheus)");
    if (type == metric_type::histogram && label == "le")
      return error(errc::reserved_label_name, type, name,
                   "label name 'le' is reserved for bucket bounds");
    if (!seen.insert(label).second)
      return error(errc::duplicate_label_name, type, name,
                   "label name '" + label + "' appears twice");
  }
  if (type == metric_type::histogram) {
    if (!upper_bounds.empty() && upper_bounds.back() == INFINITY) upper_bounds.pop_back();
    for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
      if (std::isnan(upper_bounds[i]))
        return error(errc::invalid_buckets, type, name, "bucket bound is NaN");
      if (i > 0 && !(upper_bounds[i - 1] < upper_bounds[i]))
        return error(errc::invalid_buckets, type, name,
                     "bucket bounds must be strictly increasing (bound " + std::to_string(i) +
                         " is " + format_value(upper_bounds[i]) + ")");
    }
  }
  return std::nullopt;
}

} // namespace

std::vector<double> default_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  assert(start > 0 && factor > 1 && count >= 1);
  std::vector<double> bounds;
  bounds.reserve(count);
  for (double b = start; bounds.size() < count; b *= factor) bounds.push_back(b);
  return bounds;
}

registry::~registry() = default;

template <class Child>
result<family<Child>*> registry::add(metric_type type, std::string_view name,
                                     std::string_view help, std::vector<std::string> label_names,
                                     std::vector<double> upper_bounds, family_options options) {
  if (auto err = validate(type, name, label_names, upper_bounds)) return std::move(*err);
  if (options.max_children == 0) options.max_children = 1;
  const auto names = sample_names(type, name);

  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) {
    const family_base& existing = *it->second;
    const auto bounds = existing.upper_bounds();
    if (existing.type() == type && existing.help() == help &&
        existing.label_names() == label_names &&
        std::equal(bounds.begin(), bounds.end(), upper_bounds.begin(), upper_bounds.end()))
      return static_cast<family<Child>*>(it->second.get());
    return error(errc::already_registered, type, name,
                 std::string("already registered as a ") + to_string(existing.type()) +
                     " with different help, labels or buckets");
  }
  for (const auto& sample : names) {
    if (auto it = taken_names_.find(sample); it != taken_names_.end())
      return error(errc::already_registered, type, name,
                   "sample name '" + sample + "' is taken by " + to_string(it->second->type()) +
                       " '" + it->second->name() + "'");
  }

  std::unique_ptr<family<Child>> created(
      new family<Child>(std::string(name), std::string(help), type, std::move(label_names),
                        std::move(upper_bounds), options));
  family<Child>* raw = created.get();
  families_.emplace(std::string(name), std::move(created));
  for (const auto& sample : names) taken_names_.emplace(sample, raw);
  return raw;
}

result<counter_family*> registry::add_counter(std::string_view name, std::string_view help,
                                              std::vector<std::string> label_names,
                                              family_options options) {
  return add<counter>(metric_type::counter, name, help, std::move(label_names), {}, options);
}

result<gauge_family*> registry::add_gauge(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names,
                                          family_options options) {
  return add<gauge>(metric_type::gauge, name, help, std::move(label_names), {}, options);
}

result<histogram_family*> registry::add_histogram(std::string_view name, std::string_view help,
                                                  std::vector<double> upper_bounds,
                                                  std::vector<std::string> label_names,
                                                  family_options options) {
  return add<histogram>(metric_type::histogram, name, help, std::move(label_names),
                        std::move(upper_bounds), options);
}

void registry::collect_all() const {
  for (const auto& [name, fam] : families_) fam->collect();
}

std::string registry::expose() const {
  std::lock_guard lock(mutex_);
  collect_all();
  std::string out;
  for (const auto& [name, fam] : families_) fam->append_text(out);
  return out;
}

std::size_t registry::remove_series(
  const std::function<bool(const family_base&, const std::vector<std::string>&)>& doomed) {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [name, fam] : families_) {
    const family_base& f = *fam;
    n += fam->remove_children([&](const std::vector<std::string>& values) { return doomed(f, values); });
  }
  return n;
}

nlohmann::json registry::to_json() const {
  std::lock_guard lock(mutex_);
  collect_all();
  auto out = nlohmann::json::object();
  for (const auto& [name, fam] : families_) fam->append_json(out[name]);
  return out;
}

} // namespace tandem::metrics
