#include "actors/metrics/family.hpp"

#include <cassert>
#include <cmath>

#include <nlohmann/json.hpp>

#include "actors/metrics/text_format.hpp"

namespace tandem::metrics {
namespace {

// JSON has no Inf or NaN: those become the strings Prometheus uses. Integral values within
// double's exact range become JSON integers, so 3 reads as 3, not 3.0.
nlohmann::json json_value(double v) {
  if (!std::isfinite(v)) return format_value(v);
  constexpr double exact_limit = 9007199254740992.0; // 2^53
  if (v == std::floor(v) && std::fabs(v) < exact_limit) return static_cast<std::int64_t>(v);
  return v;
}

nlohmann::json json_value(const counter& c) {
  if (c.is_integral()) return c.whole();
  return json_value(c.value());
}

void append_counter_value(std::string& out, const counter& c) {
  if (c.is_integral())
    append_value(out, c.whole());
  else
    append_value(out, c.value());
}

} // namespace

const char* to_string(metric_type t) noexcept {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

family_base::family_base(std::string name, std::string help, metric_type type,
                         std::vector<std::string> label_names, std::vector<double> upper_bounds,
                         family_options options)
    : name_(std::move(name)), help_(std::move(help)), type_(type),
      label_names_(std::move(label_names)), upper_bounds_(std::move(upper_bounds)),
      max_children_(options.max_children) {}

std::uint64_t family_base::refused() const {
  std::lock_guard lock(mutex_);
  return refused_;
}

void family_base::append_header(std::string& out) const {
  out += "# HELP ";
  out += name_;
  if (!help_.empty()) {
    out += ' ';
    append_escaped_help(out, help_);
  }
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += to_string(type_);
  out += '\n';
}

void family_base::append_series(std::string& out, std::string_view sample_name,
                                const std::vector<std::string>& values) const {
  out += sample_name;
  if (values.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += label_names_[i];
    out += "=\"";
    append_escaped_label_value(out, values[i]);
    out += '"';
  }
}

nlohmann::json family_base::labels_json(const std::vector<std::string>& values) const {
  auto labels = nlohmann::json::object();
  for (std::size_t i = 0; i < values.size(); ++i) labels[label_names_[i]] = values[i];
  return labels;
}

template <class Child>
family<Child>::family(std::string name, std::string help, metric_type type,
                      std::vector<std::string> label_names, std::vector<double> upper_bounds,
                      family_options options)
    : family_base(std::move(name), std::move(help), type, std::move(label_names),
                  std::move(upper_bounds), options),
      detached_(make_child()) {
  if (this->label_names().empty()) children_.emplace(std::vector<std::string>{}, make_child());
}

template <class Child>
std::unique_ptr<Child> family<Child>::make_child() const {
  if constexpr (std::is_same_v<Child, histogram>)
    return std::make_unique<histogram>(upper_bounds());
  else
    return std::make_unique<Child>();
}

template <class Child>
Child& family<Child>::labels(std::initializer_list<std::string_view> values) {
  return child_for(std::vector<std::string>(values.begin(), values.end()));
}

template <class Child>
Child& family<Child>::labels(std::span<const std::string> values) {
  return child_for(std::vector<std::string>(values.begin(), values.end()));
}

template <class Child>
Child& family<Child>::child_for(std::vector<std::string> key) {
  assert(key.size() == label_names().size());
  std::lock_guard lock(mutex_);
  if (auto it = children_.find(key); it != children_.end()) return *it->second;
  if (key.size() != label_names().size() || children_.size() >= max_children()) {
    ++refused_;
    return *detached_;
  }
  return *children_.emplace(std::move(key), make_child()).first->second;
}

template <class Child>
std::size_t family<Child>::size() const {
  std::lock_guard lock(mutex_);
  return children_.size();
}

template <class Child>
std::size_t family<Child>::remove_children(const doomed_fn& doomed) {
  if (label_names().empty())
    return 0;
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (auto it = children_.begin(); it != children_.end();)
    if (doomed(it->first)) {
      it = children_.erase(it);
      ++n;
    } else {
      ++it;
    }
  return n;
}

template <class Child>
void family<Child>::on_collect(collect_fn fn) {
  std::lock_guard lock(mutex_);
  collect_ = std::move(fn);
}

template <class Child>
void family<Child>::collect() {
  collect_fn fn;
  {
    std::lock_guard lock(mutex_);
    fn = collect_;
  }
  // Unlocked: the callback calls labels(), which locks.
  if (fn) fn(*this);
}

template <class Child>
void family<Child>::append_text(std::string& out) const {
  append_header(out);
  std::lock_guard lock(mutex_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Child, histogram>) {
      const auto snap = child->read();
      const auto bounds = upper_bounds();
      const std::string bucket_name = name() + "_bucket";
      for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
        append_series(out, bucket_name, values);
        out += values.empty() ? "{le=\"" : ",le=\"";
        if (i < bounds.size())
          append_value(out, bounds[i]);
        else
          out += "+Inf";
        out += "\"} ";
        append_value(out, snap.cumulative[i]);
        out += '\n';
      }
      append_series(out, name() + "_sum", values);
      out += values.empty() ? " " : "} ";
      append_value(out, snap.sum);
      out += '\n';
      append_series(out, name() + "_count", values);
      out += values.empty() ? " " : "} ";
      append_value(out, snap.count);
      out += '\n';
    } else {
      append_series(out, name(), values);
      out += values.empty() ? " " : "} ";
      if constexpr (std::is_same_v<Child, counter>)
        append_counter_value(out, *child);
      else
        append_value(out, child->value());
      out += '\n';
    }
  }
}

template <class Child>
void family<Child>::append_json(nlohmann::json& out) const {
  out["help"] = help();
  out["type"] = to_string(type());
  out["labels"] = label_names();
  out["max_children"] = max_children();
  if constexpr (std::is_same_v<Child, histogram>) {
    auto bounds = nlohmann::json::array();
    for (double b : upper_bounds()) bounds.push_back(json_value(b));
    out["buckets"] = std::move(bounds);
  }
  auto samples = nlohmann::json::array();
  std::lock_guard lock(mutex_);
  out["refused"] = refused_;
  for (const auto& [values, child] : children_) {
    nlohmann::json sample{{"labels", labels_json(values)}};
    if constexpr (std::is_same_v<Child, histogram>) {
      const auto snap = child->read();
      const auto bounds = upper_bounds();
      auto buckets = nlohmann::json::array();
      for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
        buckets.push_back({{"le", i < bounds.size() ? json_value(bounds[i]) : "+Inf"},
                           {"count", snap.cumulative[i]}});
      }
      sample["buckets"] = std::move(buckets);
      sample["sum"] = json_value(snap.sum);
      sample["count"] = snap.count;
    } else if constexpr (std::is_same_v<Child, counter>) {
      sample["value"] = json_value(*child);
    } else {
      sample["value"] = json_value(child->value());
    }
    samples.push_back(std::move(sample));
  }
  out["samples"] = std::move(samples);
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

} // namespace tandem::metrics
