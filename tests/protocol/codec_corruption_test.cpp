// Damaged input: every truncation and single-byte flip of encoded frames is a typed error or a
// valid message, never a crash, an over-read (run under ASan) or a huge allocation.
#include <doctest/doctest.h>

#include "protocol/codec.hpp"
#include "message_samples.hpp"

using namespace tandem::protocol;
namespace s = tandem::protocol::samples;

namespace {

std::string encoded(const message& m) {
  std::string out;
  auto r = encode(m, out);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  return out;
}

std::vector<message> small_samples() {
  auto v = s::min_messages();
  s::random_messages gen{0xc0ffee};
  for (std::size_t i = 0; i < 4 * std::variant_size_v<message>; ++i)
    v.push_back(gen.make(i));
  return v;
}

bool is_known_errc(errc e) {
  switch (e) {
    case errc::truncated:
    case errc::frame_too_large:
    case errc::empty_frame:
    case errc::unknown_type:
    case errc::field_overrun:
    case errc::trailing_bytes:
    case errc::bad_value:
    case errc::field_too_long:
    case errc::empty_batch:
    case errc::invalid_field: return true;
  }
  return false;
}

// A decode either fails with a typed, described error, or yields a message that re-encodes to
// exactly the input (the format has one encoding per value).
void check_rejected_or_valid(std::string_view frame, std::size_t max = default_max_frame_bytes) {
  auto d = decode(frame, max);
  if (!d.ok()) {
    CHECK(is_known_errc(d.code()));
    CHECK_FALSE(d.error().message.empty());
    return;
  }
  std::string again;
  auto e = encode(d.value(), again, max);
  REQUIRE(e.ok());
  CHECK(again == frame);
}

void check_every_cut(const std::string& frame, std::size_t step) {
  for (std::size_t cut = 0; cut < frame.size(); cut += (cut < 64 || frame.size() - cut < 64) ? 1 : step) {
    CAPTURE(cut);
    const std::string_view part{frame.data(), cut};
    auto p = peek_frame(part);
    REQUIRE(std::holds_alternative<need_more>(p));
    // Before the header is complete only the header's missing bytes are known.
    CHECK(std::get<need_more>(p).bytes == (cut < 4 ? 4 - cut : frame.size() - cut));
    auto d = decode(part);
    REQUIRE_FALSE(d.ok());
    CHECK(d.code() == errc::truncated);
  }
}

} // namespace

TEST_CASE("every truncation of every small frame is need_more and truncated") {
  for (const auto& m : small_samples()) {
    CAPTURE(frame_type_name(type_of(m)));
    check_every_cut(encoded(m), 1);
  }
}

TEST_CASE("truncations of maximum-size frames are need_more and truncated") {
  for (const auto& m : s::max_messages()) {
    CAPTURE(frame_type_name(type_of(m)));
    check_every_cut(encoded(m), 4093);
  }
}

TEST_CASE("a body cut short with a consistent length is a field error, never a message") {
  for (const auto& m : small_samples()) {
    CAPTURE(frame_type_name(type_of(m)));
    const std::string frame = encoded(m);
    for (std::size_t len = 0; len + 4 < frame.size(); ++len) {
      CAPTURE(len);
      std::string f = frame.substr(0, 4 + len);
      for (int i = 0; i < 4; ++i)
        f[i] = static_cast<char>(len >> (8 * i));
      auto d = decode(f);
      if (const auto* h = std::get_if<hello>(&m); h && !h->instance_id.empty() &&
          len + 4 == frame.size() - 2 - 16 - (h->protocol_minor >= 7 ? 1 : 0)) {
        // Cut exactly before the optional instance_id (1.3): a complete hello of 1.2, without it.
        REQUIRE(d.ok());
        CHECK(std::get<hello>(d.value()).instance_id.empty());
        continue;
      }
      REQUIRE_FALSE(d.ok());
      if (len == 0)
        CHECK(d.code() == errc::empty_frame);
      else
        CHECK(d.code() == errc::field_overrun);
    }
  }
}

TEST_CASE("every value of every header byte is rejected or decodes validly") {
  for (const auto& m : small_samples()) {
    CAPTURE(frame_type_name(type_of(m)));
    const std::string frame = encoded(m);
    for (std::size_t at = 0; at < 5; ++at) {
      for (int mask = 1; mask < 256; ++mask) {
        CAPTURE(at);
        CAPTURE(mask);
        std::string f = frame;
        f[at] = static_cast<char>(f[at] ^ mask);
        check_rejected_or_valid(f);
        check_rejected_or_valid(f, 4096); // small max: most flipped lengths now too large
      }
    }
  }
}

TEST_CASE("every single flipped byte of minimum frames is rejected or decodes validly") {
  for (const auto& m : s::min_messages()) {
    CAPTURE(frame_type_name(type_of(m)));
    const std::string frame = encoded(m);
    for (std::size_t at = 0; at < frame.size(); ++at)
      for (int mask = 1; mask < 256; ++mask) {
        std::string f = frame;
        f[at] = static_cast<char>(f[at] ^ mask);
        check_rejected_or_valid(f);
      }
  }
}

TEST_CASE("every single flipped byte of random frames is rejected or decodes validly") {
  s::random_messages gen{99};
  for (std::size_t i = 0; i < 24; ++i) {
    const message m = gen.make(i);
    CAPTURE(frame_type_name(type_of(m)));
    const std::string frame = encoded(m);
    for (std::size_t at = 0; at < frame.size(); ++at)
      for (int mask : {0x01, 0x10, 0x80, 0xff}) {
        std::string f = frame;
        f[at] = static_cast<char>(f[at] ^ mask);
        check_rejected_or_valid(f);
      }
  }
}

TEST_CASE("random garbage frames with a valid length are rejected or decode validly") {
  s::random_messages gen{2024};
  for (int i = 0; i < 20000; ++i) {
    const std::size_t len = 1 + gen.upto(80);
    std::string f(4 + len, '\0');
    for (int b = 0; b < 4; ++b)
      f[b] = static_cast<char>(len >> (8 * b));
    for (std::size_t b = 4; b < f.size(); ++b)
      f[b] = static_cast<char>(gen.rng()());
    // Bias half of them towards known types so bodies get parsed.
    if (i % 2 == 0)
      f[4] = static_cast<char>(type_of(gen.make()));
    check_rejected_or_valid(f);
  }
}
