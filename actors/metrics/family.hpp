// A metric family: one name, HELP text, type and label names, and one child per tuple of label
// values. Families are created by a registry and live as long as it does; so do their children,
// unless the owner removes them (remove_children: the series of a thing that no longer exists,
// which Prometheus practice drops rather than exposing forever). A reference from labels() may be
// kept for the registry's lifetime by whoever never removes that child.
//
// Cardinality bound: a family holds at most max_children children. A new label tuple beyond
// that is refused and counted (refused()); the caller gets the family's detached child, which
// accepts updates and is never exposed. A runaway label (a request id, a peer port) thus costs
// one counter increment per attempt instead of unbounded memory, and the hot path needs no
// branch for it.
//
// Collect-time values: on_collect() installs a callback that the registry runs at each
// exposition, before reading the children, for figures owned elsewhere (process RSS, a queue
// length another object keeps). It runs on the exposing thread with the registry locked: it
// may call labels() and set values, but must not register families in the same registry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "actors/metrics/instruments.hpp"

namespace tandem::metrics {

enum class metric_type { counter, gauge, histogram };
const char* to_string(metric_type t) noexcept; // "counter", "gauge", "histogram"

inline constexpr std::size_t default_max_children = 1000;

struct family_options {
  std::size_t max_children = default_max_children; // distinct label tuples kept; >= 1
};

class registry;

class family_base {
public:
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;
  virtual ~family_base() = default;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  metric_type type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  std::span<const double> upper_bounds() const noexcept { return upper_bounds_; } // histograms
  std::size_t max_children() const noexcept { return max_children_; }

  virtual std::size_t size() const = 0; // children held (not counting the detached one)
  // Removes the children whose label values (in label_names() order) `doomed` selects; returns
  // how many. The caller must hold no reference to a removed child. The one child of a family
  // without labels is never removed.
  using doomed_fn = std::function<bool(const std::vector<std::string>& values)>;
  virtual std::size_t remove_children(const doomed_fn& doomed) = 0;
  std::uint64_t refused() const; // labels() calls refused since creation

protected:
  family_base(std::string name, std::string help, metric_type type,
              std::vector<std::string> label_names, std::vector<double> upper_bounds,
              family_options options);

  // Appends "name" or "name{a="x",b="y"" (no closing brace) for one child's label values.
  void append_series(std::string& out, std::string_view sample_name,
                     const std::vector<std::string>& values) const;
  nlohmann::json labels_json(const std::vector<std::string>& values) const;
  void append_header(std::string& out) const;

  mutable std::mutex mutex_; // guards the children map, refused_ and the collect callback
  std::uint64_t refused_ = 0;

private:
  friend class registry;
  virtual void collect() = 0;                                // run the collect callback
  virtual void append_text(std::string& out) const = 0;      // HELP, TYPE and samples
  virtual void append_json(nlohmann::json& out) const = 0;   // one family's object

  const std::string name_;
  const std::string help_;
  const metric_type type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> upper_bounds_;
  const std::size_t max_children_;
};

template <class Child>
class family final : public family_base {
public:
  using collect_fn = std::function<void(family&)>;

  // The child for these label values, in label_names() order, created on first use. Refused
  // (see above) when the family is full or when the number of values is wrong (a programming
  // error, asserted in debug builds).
  Child& labels(std::initializer_list<std::string_view> values);
  Child& labels(std::span<const std::string> values);
  // The one child of a family without label names (created with the family, so it is exposed
  // as 0 before the first update).
  Child& get() { return labels({}); }

  // Replaces the collect callback (an empty function removes it).
  void on_collect(collect_fn fn);

  std::size_t size() const override;
  std::size_t remove_children(const doomed_fn& doomed) override;

private:
  friend class registry;
  family(std::string name, std::string help, metric_type type,
         std::vector<std::string> label_names, std::vector<double> upper_bounds,
         family_options options);

  Child& child_for(std::vector<std::string> key);
  std::unique_ptr<Child> make_child() const;
  void collect() override;
  void append_text(std::string& out) const override;
  void append_json(nlohmann::json& out) const override;

  // Sorted by label values: the stable exposition order.
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_;
  std::unique_ptr<Child> detached_; // handed out on refusal, never exposed
  collect_fn collect_;
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

extern template class family<counter>;
extern template class family<gauge>;
extern template class family<histogram>;

} // namespace tandem::metrics
