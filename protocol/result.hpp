// result<T>: a value or a protocol_error (the shared template: error_value.hpp).
#pragma once

#include "protocol/error_value.hpp"
#include "protocol/errc.hpp"

namespace tandem::protocol {

template <class T>
using result = value_or_error<T, protocol_error>;

} // namespace tandem::protocol
