#include "actors/metrics/text_format.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <doctest/doctest.h>

using namespace tandem::metrics;

namespace {

std::string escaped_label(std::string_view v) {
  std::string out;
  append_escaped_label_value(out, v);
  return out;
}

std::string escaped_help(std::string_view v) {
  std::string out;
  append_escaped_help(out, v);
  return out;
}

} // namespace

TEST_CASE("metric names follow [a-zA-Z_:][a-zA-Z0-9_:]*") {
  CHECK(is_valid_metric_name("tandem_records_total"));
  CHECK(is_valid_metric_name("_x"));
  CHECK(is_valid_metric_name(":recording:rule"));
  CHECK(is_valid_metric_name("a1"));
  CHECK_FALSE(is_valid_metric_name(""));
  CHECK_FALSE(is_valid_metric_name("1abc"));
  CHECK_FALSE(is_valid_metric_name("has-dash"));
  CHECK_FALSE(is_valid_metric_name("has space"));
  CHECK_FALSE(is_valid_metric_name("dotted.name"));
  CHECK_FALSE(is_valid_metric_name("caf\xc3\xa9"));
}

TEST_CASE("label names follow [a-zA-Z_][a-zA-Z0-9_]* (no colon)") {
  CHECK(is_valid_label_name("destination"));
  CHECK(is_valid_label_name("_x9"));
  CHECK_FALSE(is_valid_label_name(""));
  CHECK_FALSE(is_valid_label_name("a:b"));
  CHECK_FALSE(is_valid_label_name("9a"));
  CHECK_FALSE(is_valid_label_name("a-b"));
}

TEST_CASE("label values escape backslash, double quote and newline") {
  CHECK(escaped_label("plain") == "plain");
  CHECK(escaped_label(R"(C:\dir)") == R"(C:\\dir)");
  CHECK(escaped_label(R"(say "hi")") == R"(say \"hi\")");
  CHECK(escaped_label("two\nlines") == R"(two\nlines)");
  CHECK(escaped_label("\\\"\n") == R"(\\\"\n)");
  CHECK(escaped_label("tab\tstays") == "tab\tstays");
}

TEST_CASE("help text escapes backslash and newline but not double quote") {
  CHECK(escaped_help(R"(a\b)") == R"(a\\b)");
  CHECK(escaped_help("line1\nline2") == R"(line1\nline2)");
  CHECK(escaped_help(R"("quoted")") == R"("quoted")");
}

TEST_CASE("values: integers without fraction, doubles round-trip, Inf and NaN spelled") {
  CHECK(format_value(0.0) == "0");
  CHECK(format_value(3.0) == "3");
  CHECK(format_value(-42.0) == "-42");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(0.005) == "0.005");
  CHECK(format_value(2.5) == "2.5");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
  for (double v : {1.0 / 3, 1e-7, 123456.789, 6.02214076e23, 5e-324,
                   std::numeric_limits<double>::max()}) {
    CAPTURE(v);
    const std::string text = format_value(v);
    double back = 0;
    std::from_chars(text.data(), text.data() + text.size(), back);
    CHECK(back == v);
  }
  std::string out;
  append_value(out, std::numeric_limits<std::uint64_t>::max());
  CHECK(out == "18446744073709551615");
}
