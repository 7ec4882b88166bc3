// The metrics module's one error vocabulary. Registration is the only place that can fail (the
// hot path never does): a bad name, a name another family already uses, or bad bucket bounds.
// The message names the family and the offending part ("histogram 'rpc_seconds': label name
// 'le' is reserved").
#pragma once

#include <string>
#include <system_error>

#include "protocol/error_value.hpp"

namespace tandem::metrics {

enum class errc {
  invalid_metric_name = 1, // not [a-zA-Z_:][a-zA-Z0-9_:]*
  invalid_label_name,      // not [a-zA-Z_][a-zA-Z0-9_]*, or starts with "__" (reserved)
  reserved_label_name,     // "le" on a histogram
  duplicate_label_name,    // the same label name twice in one family
  already_registered,      // name (or a histogram's _bucket/_sum/_count) taken by another family
  invalid_buckets,         // bucket bounds not strictly increasing, or NaN
};

const std::error_category& metrics_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// An error as a value: the code to branch on and the message to log (protocol/error_value.hpp).
using metrics_error = protocol::error_value<errc>;

} // namespace tandem::metrics

template <>
struct std::is_error_code_enum<tandem::metrics::errc> : std::true_type {};
