// Link compression between real tandemd processes (issue 20; protocol 1.7, compressed_batch):
// lz4 and zstd pairs replicate every record exactly once; a peer whose hello does not offer the
// configured algorithm (an older one, or one offering something else) gets plain record_batch
// frames and the fallback is logged once per connection; a destination whose failover addresses
// are a compressing server and a non-compressing (1.5) one keeps going across both failovers; a
// decompression bomb or a corrupt stream from a peer gets close{bad_frame}, the reason logged,
// and the node goes on.
// The scripted peers speak the protocol through protocol/codec.hpp on a raw socket.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "protocol/batch.hpp"
#include "protocol/codec.hpp"
#include "protocol/compression.hpp"
#include "protocol/frame_reader.hpp"
#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/frame_socket.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
namespace proto = tandem::protocol;

namespace {

// Sets compression (and optionally the level) on every destination of a node's written config.
void set_compression(const test_node& n, const std::string& algorithm, int level = 0) {
  auto c = nlohmann::json::parse(read_file(n.config_file()));
  for (auto& d : c["destinations"]) {
    d["compression"] = algorithm;
    if (level != 0)
      d["compression_level"] = level;
  }
  write_file(n.config_file(), c.dump(2));
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// A peer "P" on a node's replication port, speaking the hello it is given, then the validation
// frame (minor >= 4), then its resume point once the node kept it. Frames are read raw.
class wire_peer {
public:
  wire_peer(std::uint16_t port, const proto::hello& h) : fd_(connect_loopback(port)) {
    REQUIRE(fd_ >= 0);
    send(h);
    send(proto::validation{});
  }
  // A connection the node dialed (accepted by the test); the caller says hello.
  explicit wire_peer(int accepted) : fd_(accepted) { REQUIRE(fd_ >= 0); }
  ~wire_peer() { ::close(fd_); }
  wire_peer(const wire_peer&) = delete;
  wire_peer& operator=(const wire_peer&) = delete;

  void send(const proto::message& m) {
    std::string out;
    REQUIRE(proto::encode(m, out).ok());
    REQUIRE(::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size()));
  }

  // The next whole frame (raw bytes), or nullopt at the deadline or when the node closed.
  std::optional<std::string> next_frame(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto f = reader_.next())
        return std::string{*f};
      if (!receive_some(fd_, reader_, deadline))
        return std::nullopt;
    }
  }

  // Reads until a frame of type t (or the deadline); the node's close frame, if any, lands in `closed`.
  std::optional<std::string> until(proto::frame_type t, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (auto f = next_frame(std::chrono::duration_cast<std::chrono::milliseconds>(
             deadline - std::chrono::steady_clock::now()))) {
      const auto type = static_cast<proto::frame_type>((*f)[4]);
      if (type == proto::frame_type::close)
        closed = std::get<proto::close_frame>(proto::decode(*f).value());
      seen.push_back(type);
      if (type == t)
        return f;
    }
    return std::nullopt;
  }

  std::vector<proto::frame_type> seen;
  std::optional<proto::close_frame> closed;

private:
  int fd_;
  proto::frame_reader reader_{proto::default_max_frame_bytes};
};

proto::hello peer_hello(std::uint16_t minor, proto::compression_offer offer) {
  return proto::hello{proto::protocol_major, minor, "P", "P", 0, {}, 0, std::string(16, 'p'), offer};
}

// A listening socket on 127.0.0.1 standing in for a destination server; accept() waits with a deadline.
class fake_server {
public:
  fake_server() : port_(free_port()), fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
  }
  ~fake_server() { ::close(fd_); }
  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;

  std::uint16_t port() const { return port_; }
  int accept(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
      return -1;
    return ::accept(fd_, nullptr, nullptr);
  }

private:
  std::uint16_t port_;
  int fd_;
};

// Node A with an async destination P that P dials (accept-only), compression `algorithm`.
struct node_for_peer {
  temp_dir dir;
  test_node a{dir, "A"};
  explicit node_for_peer(const std::string& algorithm) {
    a.configure({{destination_spec{"P", "async", false, {}}, nullptr}});
    set_compression(a, algorithm);
    a.start();
  }
};

// P's records after A kept it: A's durable_ack (its resume point for P) comes, P says it holds
// nothing of A, and A streams what is published.
void keep_and_resume(wire_peer& p) {
  REQUIRE(p.until(proto::frame_type::durable_ack, 10s));
  p.send(proto::durable_ack{0});
}

} // namespace

TEST_CASE("link compression: lz4 and zstd pairs replicate every record exactly once, compressed on the wire") {
  for (const std::string algorithm : {"lz4", "zstd"}) {
    CAPTURE(algorithm);
    temp_dir dir;
    test_node a{dir, "A"}, b{dir, "B"};
    a.configure({{destination_spec{"B", "sync", true, {}}, &b}});
    b.configure({{destination_spec{"A", "sync", true, {}}, &a}});
    set_compression(a, algorithm);
    set_compression(b, algorithm);
    a.start();
    b.start();
    REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 10s), a.log() << b.log());
    // Sync both ways: each persisted ack means the partner holds the record durably.
    const int n_a = 3000, n_b = 1000;
    auto pa = publish_n(a, "pa", n_a, {.window = 200, .payload_bytes = 400});
    auto pb = publish_n(b, "pb", n_b, {.window = 200, .payload_bytes = 400});
    REQUIRE_MESSAGE(pa.persisted == n_a, pa.error);
    REQUIRE_MESSAGE(pb.persisted == n_b, pb.error);
    for (auto* n : {&a, &b}) {
      const auto c = n->destination(n == &a ? "B" : "A")["compression"];
      CAPTURE(c.dump());
      CHECK(c["configured"] == algorithm);
      CHECK(c["in_use"] == algorithm);
      CHECK(c["fallback_reason"] == "");
      CHECK(c["compressions"].get<std::uint64_t>() > 0);
      CHECK(c["bytes_before"].get<std::uint64_t>() > c["bytes_after"].get<std::uint64_t>());
      CHECK(c["ratio"].get<double>() > 2.0); // payloads of one repeated byte
      CHECK(c["compress_seconds"].get<double>() > 0.0);
      CHECK(c["errors"] == 0);
      // A sync link that compresses runs on the scheduler, not on the I/O thread (destination_link.cpp).
      CHECK(n->destination(n == &a ? "B" : "A")["runs_on"] == "workers");
    }
    auto metrics = admin_get(a.ports().admin, "/metrics").body;
    CHECK(metrics.find("tandem_destination_compression_ratio{destination=\"B\"") != std::string::npos);
    CHECK(metrics.find("tandem_destination_compress_seconds_total{destination=\"B\"") != std::string::npos);
    CHECK(metrics.find("tandem_destination_compressions_total{destination=\"B\",group=\"B\",how=\"performed\"}") !=
          std::string::npos);
    CHECK(a.log().find("sending uncompressed") == std::string::npos);
    REQUIRE(a.stop() == 0);
    REQUIRE(b.stop() == 0);
    for (auto* n : {&a, &b}) {
      auto counts = count_by_origin(n->journal_records());
      std::size_t from_a = 0, from_b = 0;
      for (const auto& [key, times] : counts) {
        CHECK(times == 1); // exactly once
        (key.first == "A" ? from_a : from_b) += 1;
      }
      CHECK(from_a == static_cast<std::size_t>(n_a));
      CHECK(from_b == static_cast<std::size_t>(n_b));
    }
  }
}

TEST_CASE("link compression: a peer whose hello does not offer the algorithm gets plain record_batch frames, the fallback logged once") {
  struct row {
    std::uint16_t minor;
    proto::compression_offer offer;
    const char* reason;
  };
  const row rows[] = {
    {5, 0, "the peer speaks protocol 1.5 (compression needs 1.7)"}, // an old-style hello: no offer at all
    {proto::protocol_minor, proto::offer_bit(proto::compression_algorithm::lz4), "the peer's hello does not offer zstd"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.minor);
    node_for_peer n{"zstd"};
    wire_peer p{n.a.ports().replication, peer_hello(r.minor, r.offer)};
    keep_and_resume(p);
    REQUIRE(publish_n(n.a, "pa", 300, {.window = 100, .payload_bytes = 400}).persisted == 300);
    std::uint64_t records = 0;
    while (records < 300) {
      auto f = p.until(proto::frame_type::record_batch, 10s);
      REQUIRE_MESSAGE(f, n.a.log());
      auto batch = proto::decode_batch(*f);
      REQUIRE(batch.ok());
      records += batch.value().size();
    }
    CHECK(records == 300);
    for (auto t : p.seen)
      CHECK(t != proto::frame_type::compressed_batch);
    const std::string line = "compression zstd configured, sending uncompressed on this connection: " + std::string{r.reason};
    CHECK_MESSAGE(occurrences(n.a.log(), line) == 1, n.a.log());
    const auto c = n.a.destination("P")["compression"];
    CHECK(c["in_use"] == "none");
    CHECK(c["fallback_reason"] == r.reason);
    CHECK(c["compressions"] == 0);
  }
}

TEST_CASE("link compression: a 1.7 peer offering zstd gets compressed_batch frames that restore to the records sent") {
  node_for_peer n{"zstd"};
  wire_peer p{n.a.ports().replication, peer_hello(proto::protocol_minor, proto::supported_decompression)};
  keep_and_resume(p);
  REQUIRE(publish_n(n.a, "pa", 300, {.window = 100, .payload_bytes = 400}).persisted == 300);
  std::vector<std::uint64_t> publisher_seqs;
  while (publisher_seqs.size() < 300) {
    auto f = p.until(proto::frame_type::compressed_batch, 10s);
    REQUIRE_MESSAGE(f, n.a.log());
    auto c = proto::decode(*f);
    REQUIRE(c.ok());
    auto plain = proto::decompress_batch(std::get<proto::compressed_batch>(c.value()), proto::supported_decompression);
    REQUIRE_MESSAGE(plain.ok(), plain.error().message);
    auto batch = proto::decode_batch(plain.value());
    REQUIRE(batch.ok());
    auto cur = batch.value().cursor();
    while (auto* rec = cur.next()) {
      CHECK(rec->payload == std::string(400, 'x'));
      publisher_seqs.push_back(rec->publisher_seq);
    }
  }
  // Every batch compressed (400 bytes of one byte always shrink), every record once, in order.
  for (auto t : p.seen)
    CHECK(t != proto::frame_type::record_batch);
  REQUIRE(publisher_seqs.size() == 300);
  for (std::size_t i = 0; i < publisher_seqs.size(); ++i)
    CHECK(publisher_seqs[i] == publisher_seqs[0] + i);
  CHECK(n.a.destination("P")["compression"]["in_use"] == "zstd");
}

TEST_CASE("link compression: a decompression bomb or a corrupt stream from a peer gets close{bad_frame}, logged; the node goes on") {
  const std::string zeros(8u << 20, '\0'); // 8 MiB of zeros: a few hundred bytes of zstd
  auto bomb = proto::compress_batch(std::string(4, '\0') + zeros, proto::compression_algorithm::zstd, 19);
  REQUIRE(bomb.ok());
  auto bomb_frame = std::get<proto::compressed_batch>(proto::decode(bomb.value()).value());
  bomb_frame.uncompressed_bytes = 64 * 1024; // claims 64 KiB
  proto::compressed_batch corrupt{proto::compression_algorithm::lz4, 1000, std::string(200, '\x7f')};
  const std::pair<proto::compressed_batch, std::string> cases[] = {
    {bomb_frame, "expands past uncompressed_bytes 65536"},
    {corrupt, "bad compressed_batch: compressed_batch: lz4 stream"},
  };
  node_for_peer n{"none"};
  for (const auto& [frame, reason] : cases) {
    CAPTURE(reason);
    wire_peer p{n.a.ports().replication, peer_hello(proto::protocol_minor, proto::supported_decompression)};
    keep_and_resume(p);
    p.send(frame);
    p.until(proto::frame_type::close, 10s);
    REQUIRE(p.closed);
    CHECK(p.closed->code == proto::close_code::bad_frame);
    CHECK(p.closed->reason.find(reason) != std::string::npos);
    CHECK(wait_until([&] { return n.a.log().find(reason) != std::string::npos; }, 5s));
    CHECK(n.a.running());
  }
  // Nothing of it was stored: the node still takes publishes.
  CHECK(publish_n(n.a, "pa", 10).persisted == 10);
}

TEST_CASE("link compression: a destination failing over between a compressing and a non-compressing server keeps going") {
  temp_dir dir, dir_b;
  test_node b{dir_b, "B"}; // the compressing server: a real tandemd without destinations
  b.configure({});
  b.start();
  fake_server old_server; // the non-compressing one: speaks protocol 1.5 (no offer)
  test_node a{dir, "A"};
  a.configure({}, {{"destinations", nlohmann::json::array({{
                      {"name", "B"}, {"sync_type", "async"}, {"compression", "zstd"}, {"validation", "warn"},
                      {"addresses", {"127.0.0.1:" + std::to_string(b.ports().replication),
                                     "127.0.0.1:" + std::to_string(old_server.port())}},
                      {"reconnect", {{"initial_ms", 50}, {"max_ms", 200}, {"connect_timeout_ms", 1000}}}}})}});
  a.start();
  auto in_use = [&] { return a.destination("B")["compression"].value("in_use", std::string{}); };
  auto caught_up = [&] {
    auto d = a.destination("B");
    return d.is_object() && d.value("connected", false) && d.value("lag_records", 1ull) == 0;
  };
  REQUIRE_MESSAGE(wait_until([&] { return caught_up() && in_use() == "zstd"; }, 10s), a.log());
  REQUIRE(publish_n(a, "p1", 200, {.window = 100, .numbered = true}).persisted == 200);
  REQUIRE_MESSAGE(wait_until(caught_up, 10s), a.log());

  // 1. The compressing server dies: the link fails over to the old one and sends it plain batches
  // (everything: it says it holds nothing), and what is published meanwhile.
  b.kill();
  {
    wire_peer old{old_server.accept(20s)};
    REQUIRE(old.until(proto::frame_type::hello, 10s));
    old.send(proto::hello{proto::protocol_major, 5, "B", "B", 0, {}, 0, {}});
    old.send(proto::validation{});
    REQUIRE(old.until(proto::frame_type::durable_ack, 10s));
    old.send(proto::durable_ack{0});
    REQUIRE(publish_n(a, "p2", 100, {.window = 100, .numbered = true}).persisted == 100);
    std::set<std::pair<std::string, std::uint64_t>> got;
    while (got.size() < 300) {
      auto f = old.until(proto::frame_type::record_batch, 10s);
      REQUIRE_MESSAGE(f, a.log());
      auto batch = proto::decode_batch(*f);
      REQUIRE(batch.ok());
      auto cur = batch.value().cursor();
      while (auto* r = cur.next())
        got.insert({std::string{r->publisher_id}, r->publisher_seq});
    }
    for (auto t : old.seen)
      CHECK(t != proto::frame_type::compressed_batch);
    CHECK(in_use() == "none");
    CHECK_MESSAGE(occurrences(a.log(), "sending uncompressed on this connection: the peer speaks protocol 1.5") == 1,
                  a.log());
    // 2. The compressing server is back; the old one goes away: the link returns to the top of
    // its list and compresses again, resuming from what B holds.
    b.start();
  }
  REQUIRE_MESSAGE(wait_until([&] { return caught_up() && in_use() == "zstd"; }, 20s), a.log());
  REQUIRE(publish_n(a, "p3", 100, {.window = 100, .numbered = true}).persisted == 100);
  REQUIRE_MESSAGE(wait_until(caught_up, 10s), a.log());
  REQUIRE(a.stop() == 0);
  REQUIRE(b.stop() == 0);
  auto counts = count_by_origin(b.journal_records());
  for (const auto& [key, times] : counts)
    CHECK(times == 1); // every record of A exactly once on B, across both failovers
  CHECK(counts.size() == 400);
}
