// protocol/frame_reader.hpp: any split of the stream yields the same frames; bad headers are
// refused as soon as their 4 length bytes arrive.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
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

std::uint64_t wire_u64(std::string_view b) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(b[i])} << (8 * i);
  return v;
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

// ---- defect 10: the reader was quadratic (it erased each consumed frame from the front of its
// buffer): 1 MiB of heartbeats took 2.0 s, 4 MiB 39 s, on the I/O thread all clients share. ----

namespace {

// 4 MiB of 13-byte heartbeat frames, heartbeat i carrying i.
std::string heartbeats(std::size_t bytes, std::size_t& count) {
  std::string out;
  out.reserve(bytes + 13);
  count = 0;
  while (out.size() + 13 <= bytes)
    REQUIRE(encode(heartbeat{count++}, out).ok());
  return out;
}

// Feeds `stream` in chunks of `chunk` bytes, draining after each chunk (or only at the end),
// checks every frame, and returns the elapsed time.
std::chrono::duration<double, std::milli> time_reader(const std::string& stream, std::size_t count,
                                                      std::size_t chunk, bool drain_each_chunk) {
  frame_reader r;
  std::uint64_t next_value = 0;
  bool in_order = true;
  auto drain_all = [&] {
    while (auto f = r.next()) {
      in_order = in_order && f->size() == 13 && wire_u64(f->substr(5)) == next_value;
      ++next_value;
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
    REQUIRE(r.feed(std::string_view{stream}.substr(pos, chunk)));
    if (drain_each_chunk)
      drain_all();
  }
  drain_all();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(in_order);
  CHECK(next_value == count);
  CHECK(r.buffered() == 0);
  return elapsed;
}

} // namespace

TEST_CASE("defect 10: frame_reader reads 4 MiB of heartbeats in linear time") {
  std::size_t count = 0;
  const std::string stream = heartbeats(4u << 20, count);
  REQUIRE(count == (4u << 20) / 13);
  struct way {
    const char* what;
    std::size_t chunk;
    bool drain_each_chunk;
  };
  for (const way& w : {way{"64 KiB reads, drained after each", 64 * 1024, true},
                       way{"one 4 MiB read", stream.size(), true},
                       way{"64 KiB reads, drained only at the end", 64 * 1024, false},
                       way{"4 KiB reads, drained after each", 4 * 1024, true}}) {
    const auto ms = time_reader(stream, count, w.chunk, w.drain_each_chunk);
    const std::string line = "frame_reader, " + std::to_string(count) + " heartbeats (4 MiB), " + w.what + ": " +
                             std::to_string(ms.count()) + " ms";
    MESSAGE(line);
    // Linear takes a few ms (even under ASan on a loaded machine well below this); the old
    // quadratic reader took tens of seconds for the single 4 MiB read.
    CHECK(ms.count() < 500.0);
  }
}
