// protocol/frame_reader.hpp: any split of the stream yields the same frames; bad headers are
// refused as soon as their 4 length bytes arrive.
#include <doctest/doctest.h>

#include <random>

#include "protocol/codec.hpp"
#include "protocol/frame_reader.hpp"
#include "message_samples.hpp"

using namespace tandem::protocol;
namespace s = tandem::protocol::samples;

namespace {

struct stream {
  std::string bytes;
  std::vector<std::string> frames;
};

stream make_stream(std::uint64_t seed, int n) {
  stream st;
  s::random_messages gen{seed};
  for (int i = 0; i < n; ++i) {
    std::string f;
    REQUIRE(encode(gen.make(static_cast<std::size_t>(i)), f).ok());
    st.bytes += f;
    st.frames.push_back(std::move(f));
  }
  return st;
}

std::vector<std::string> drain(frame_reader& r) {
  std::vector<std::string> got;
  while (auto f = r.next())
    got.emplace_back(*f);
  return got;
}

} // namespace

TEST_CASE("frame_reader fed one byte at a time yields the same frames") {
  const stream st = make_stream(1, 60);
  frame_reader r;
  std::vector<std::string> got;
  for (char c : st.bytes) {
    REQUIRE(r.feed(std::string_view{&c, 1}));
    for (auto& f : drain(r))
      got.push_back(std::move(f));
  }
  CHECK(got == st.frames);
  CHECK(r.buffered() == 0);
  CHECK(r.wanted() == 4);
}

TEST_CASE("frame_reader fed random splits yields the same frames") {
  const stream st = make_stream(2, 60);
  std::mt19937_64 rng{3};
  for (int round = 0; round < 200; ++round) {
    frame_reader r;
    std::vector<std::string> got;
    std::size_t pos = 0;
    while (pos < st.bytes.size()) {
      const std::size_t n = std::min<std::size_t>(st.bytes.size() - pos, rng() % 3000);
      REQUIRE(r.feed(std::string_view{st.bytes}.substr(pos, n)));
      pos += n;
      // Sometimes let frames pile up before draining.
      if (rng() % 3 == 0)
        for (auto& f : drain(r))
          got.push_back(std::move(f));
    }
    for (auto& f : drain(r))
      got.push_back(std::move(f));
    CHECK(got == st.frames);
  }
}

TEST_CASE("frame_reader wanted() says how many bytes complete the next frame") {
  std::string f;
  REQUIRE(encode(heartbeat{1}, f).ok());
  frame_reader r;
  CHECK(r.wanted() == 4);
  r.feed(std::string_view{f}.substr(0, 2));
  CHECK(r.wanted() == 2);
  r.feed(std::string_view{f}.substr(2, 4));
  CHECK(r.wanted() == f.size() - 6);
  r.feed(std::string_view{f}.substr(6));
  CHECK(r.wanted() == 0);
  REQUIRE(r.next());
  CHECK(r.wanted() == 4);
}

TEST_CASE("frame_reader refuses an oversized declared length from the 4 header bytes") {
  frame_reader r{1024};
  const std::string header{"\x01\x04\x00\x00", 4}; // 1025
  CHECK(r.feed(header.substr(0, 3)));
  CHECK_FALSE(r.failed());
  CHECK_FALSE(r.feed(header.substr(3)));
  REQUIRE(r.failed());
  CHECK(r.error().code == errc::frame_too_large);
  CHECK(r.buffered() == 0);
  CHECK_FALSE(r.feed(std::string(100, 'x'))); // terminal
  CHECK(r.buffered() == 0);
  CHECK_FALSE(r.next());
}

TEST_CASE("frame_reader refuses length 0") {
  frame_reader r;
  CHECK_FALSE(r.feed(std::string{"\0\0\0\0", 4}));
  CHECK(r.error().code == errc::empty_frame);
}

TEST_CASE("frame_reader still returns the whole frames that preceded a bad header") {
  std::string good;
  REQUIRE(encode(durable_ack{5}, good).ok());
  frame_reader r{1024};
  CHECK_FALSE(r.feed(good + std::string{"\xff\xff\xff\xff", 4} + std::string(50, 'x')));
  CHECK(r.failed());
  auto f = r.next();
  REQUIRE(f);
  CHECK(*f == good);
  CHECK_FALSE(r.next());
}

TEST_CASE("frame_reader detects an oversized frame that starts mid-chunk") {
  std::string good;
  REQUIRE(encode(heartbeat{9}, good).ok());
  frame_reader r{64};
  REQUIRE(r.feed(good + std::string{"\x41", 1})); // next length incomplete
  CHECK_FALSE(r.feed(std::string{"\x00\x00\x00", 3}));  // 65 > 64
  CHECK(r.error().code == errc::frame_too_large);
}
