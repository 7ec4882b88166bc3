// result<T>: a value or a metrics_error (the shared template: protocol/error_value.hpp).
#pragma once

#include "actors/metrics/errc.hpp"
#include "protocol/error_value.hpp"

namespace tandem::metrics {

template <class T>
using result = protocol::value_or_error<T, metrics_error>;

} // namespace tandem::metrics
