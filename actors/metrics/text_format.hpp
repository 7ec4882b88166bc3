// The lexical rules of the Prometheus text exposition format 0.0.4, as pure functions: which
// names are valid, how label values and HELP text are escaped, and how sample values print.
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name) noexcept;
// [a-zA-Z_][a-zA-Z0-9_]* (names starting with "__" are valid here; the registry reserves them)
bool is_valid_label_name(std::string_view name) noexcept;

// Label value: backslash -> \\, double quote -> \", newline -> \n. Appends to out.
void append_escaped_label_value(std::string& out, std::string_view value);
// HELP text: backslash -> \\, newline -> \n (a double quote stays as is). Appends to out.
void append_escaped_help(std::string& out, std::string_view help);

// Sample values. Integral doubles print without a fraction ("3", not "3.0"), others in the
// shortest form that parses back to the same double ("0.1", "1e-07"); infinities and NaN as
// Prometheus spells them: "+Inf", "-Inf", "NaN".
void append_value(std::string& out, double value);
void append_value(std::string& out, std::uint64_t value);
std::string format_value(double value);

} // namespace tandem::metrics
