// protocol/names.hpp: the instance-name, label and text rules, at their limits and one past.
#include <doctest/doctest.h>

#include <string>

#include "protocol/names.hpp"
#include "protocol/utf8.hpp"
#include "message_samples.hpp"

using namespace tandem::protocol;
namespace s = tandem::protocol::samples;

namespace {

errc code_of(const std::optional<names::violation>& v) { return v ? v->code : errc{}; }

} // namespace

TEST_CASE("instance names: 1 to 64 bytes of A-Z a-z 0-9 . _ -") {
  CHECK_FALSE(names::check_instance_name("a"));
  CHECK_FALSE(names::check_instance_name("node-1.eu_west"));
  CHECK_FALSE(names::check_instance_name("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"));
  CHECK_FALSE(names::check_instance_name(std::string(64, 'n')));
  CHECK(names::is_valid_instance_name(std::string(64, 'n')));

  CHECK(code_of(names::check_instance_name(std::string(65, 'n'))) == errc::field_too_long);
  CHECK(names::check_instance_name(std::string(65, 'n'))->what == "65 bytes exceed the maximum of 64");
  CHECK_FALSE(names::is_valid_instance_name(std::string(65, 'n')));
  CHECK(code_of(names::check_instance_name("")) == errc::invalid_field);
  CHECK_FALSE(names::is_valid_instance_name(""));
  for (std::string bad : {std::string("a b"), std::string("a/b"), std::string("a:b"), std::string("a\nb"),
                          std::string("a\0b", 3), std::string("\xc3\xa9"),
                          std::string("\xff"), std::string("\xc0\xae")}) {
    CAPTURE(bad);
    CHECK(code_of(names::check_instance_name(bad)) == errc::invalid_field);
    CHECK_FALSE(names::is_valid_instance_name(bad));
  }
  CHECK(names::check_instance_name("ab cd")->what == "byte 0x20 at offset 2 is not one of A-Z a-z 0-9 . _ -");
}

TEST_CASE("labels: up to 255 bytes of UTF-8 without control characters") {
  CHECK_FALSE(names::check_label(""));
  CHECK_FALSE(names::check_label("tandem subscribe"));
  CHECK_FALSE(names::check_label("tandem-cli-host.example-4242-1733300000"));
  CHECK_FALSE(names::check_label("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(names::check_label(std::string(255, 'p')));
  CHECK_FALSE(names::check_label(s::utf8_text(255)));

  CHECK(code_of(names::check_label(std::string(256, 'p'))) == errc::field_too_long);
  CHECK(names::check_label(std::string(256, 'p'))->what == "256 bytes exceed the maximum of 255");
  // 254 ASCII bytes and one two-byte character: 255 characters, 256 bytes.
  CHECK(code_of(names::check_label(std::string(254, 'p') + "\xc3\xa9")) == errc::field_too_long);

  for (std::string bad : {std::string("\xc0\x80"), std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                          std::string("pub\xff"), std::string("a\nb"), std::string("a\rb"), std::string("\t"),
                          std::string("a\0b", 3), std::string("\x7f"), std::string("\xc2\x85"),
                          std::string("\xc2\x9f")}) {
    CAPTURE(bad);
    CHECK(code_of(names::check_label(bad)) == errc::invalid_field);
  }
  CHECK(names::check_label("pub\xff")->what == "not valid UTF-8 (byte 0xff at offset 3)");
  CHECK(names::check_label("a\nb")->what == "control character (byte 0x0a at offset 1)");
  CHECK_FALSE(names::check_label("\xc2\xa0")); // U+00A0, right after the C1 controls
}

TEST_CASE("text: UTF-8 up to the given length, control characters allowed") {
  CHECK_FALSE(names::check_text("", 65535));
  CHECK_FALSE(names::check_text("line\nbreak\ttab", 65535));
  CHECK_FALSE(names::check_text(s::utf8_text(65535), 65535));
  CHECK(code_of(names::check_text(std::string(11, 't'), 10)) == errc::field_too_long);
  CHECK(code_of(names::check_text("orders.\xe2\x82", 65535)) == errc::invalid_field);
  CHECK(code_of(names::check_text("\xed\xbf\xbf", 65535)) == errc::invalid_field);
}

TEST_CASE("a violation never quotes the offending bytes, so it can go into logs and close frames") {
  const std::string hostile = "evil\xff\x1b[2J\n" + std::string(300, '\x80');
  for (const auto& v : {names::check_instance_name(hostile), names::check_label(hostile),
                        names::check_label(hostile.substr(0, 12)), names::check_text(hostile, 65535)}) {
    REQUIRE(v);
    CAPTURE(v->what);
    CHECK(utf8::is_valid(v->what));
    CHECK(v->what.find("evil") == std::string::npos);
    CHECK(v->what.find('\x1b') == std::string::npos);
  }
}
