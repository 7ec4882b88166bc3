// End-to-end hostile peers (issue 14): a live sync pair A <-> B serves a steady publisher on each
// node while a scripted attacker opens fresh connections to all six listening ports (replication,
// client and admin of both nodes) and sends random bytes and mutated frames. The frames are
// captured from a real session (what a subscriber received from A, the acks a publisher got) or
// built with protocol/ like a real peer's, then bit-flipped, re-lengthed, truncated, field-swapped,
// retyped or spliced.
//
//   start A, B (sync both ways); capture a session; publishers on A and B  ------------------>|
//   attacker: connection after connection, random port, random/mutated frames ... for N seconds
//   every second: both processes alive, RSS sampled
//   stop publishers; the pair reconnects and drains; stop both (exit 0)
//   every acked message is in both journals exactly once; peak RSS (VmHWM) under the bound
//
// N = 60 s, or TANDEM_HOSTILE_SECONDS. The attacker's random choices come from one seed (printed;
// TANDEM_HOSTILE_SEED replays it). Defects this may hit on purpose: topic regexes on long input,
// forged durable_acks, memory floods from declared lengths, names that are not UTF-8.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame_reader.hpp"
#include "tests/support/sanitizer.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;
using namespace tandem::protocol;
using tandem::client::client_connection;

namespace {

// Peak resident set of one tandemd (VmHWM) after the run. A node at rest is ~20-40 MiB; the tail
// window (32 MiB) and the frame bounds (16 MiB per partial frame, per connection) come on top.
// Under ASan the shadow memory and the quarantine (256 MiB by default) add several hundred MiB.
constexpr std::uint64_t rss_bound_mib = built_with_asan ? 1536 : 512;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// kB from a "Key:   123 kB" line of /proc/<pid>/status; 0 if absent.
std::uint64_t proc_status_kib(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0)
      return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
  return 0;
}

std::string frame(const message& m) {
  std::string out;
  REQUIRE(encode(m, out).ok());
  return out;
}

// ---- the attacker ------------------------------------------------------------------------------

// Whether `bytes` carries, in a well-formed frame, a claim about one of the pair's own instances:
// a hello naming A or B, or a record_batch with a record whose origin or path names A or B. Such
// bytes are not sent. Without authentication a connection that says "I am B" IS B to A (it may
// claim, within what A wrote, that B holds records it does not), and a peer that relays records
// "of origin A" with made-up origin_seqs raises B's duplicate marks for A (B then takes A's real
// records for duplicates). Both are identity spoofing: the scope of the topology and security
// issues (instance identity, mutual TLS naming the instance). What this test shows is that every
// other hostile input leaves the promise intact. Claims beyond what a node wrote or sent are
// refused even from an impostor (replication_safety_test).
bool impersonates_partner(const std::string& bytes) {
  const auto partner = [](const std::string& name) { return name == "A" || name == "B"; };
  frame_reader r;
  r.feed(bytes);
  while (auto f = r.next()) {
    auto m = decode(*f);
    if (!m)
      continue;
    if (const auto* h = std::get_if<hello>(&m.value()); h != nullptr && partner(h->instance))
      return true;
    if (const auto* b = std::get_if<record_batch>(&m.value()))
      for (const auto& rec : b->records)
        if (partner(rec.origin_instance) || std::any_of(rec.path.begin(), rec.path.end(), partner))
          return true;
  }
  return false;
}


class mutator {
public:
  explicit mutator(std::uint64_t seed) : rng_(seed) {}
  std::size_t upto(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng_() % n); }
  bool chance(int percent) { return upto(100) < static_cast<std::size_t>(percent); }

  std::string random_bytes(std::size_t max) {
    std::string s(upto(max + 1), '\0');
    for (auto& c : s)
      c = static_cast<char>(rng_());
    return s;
  }

  // One of the mutations a broken or malicious peer produces.
  std::string mutate(std::string f) {
    if (f.empty())
      return random_bytes(64);
    switch (upto(8)) {
      case 0: { // bit flips
        for (std::size_t n = 1 + upto(8); n > 0; --n)
          f[upto(f.size())] ^= static_cast<char>(1u << upto(8));
        break;
      }
      case 1: { // the length field: off by a little, zero, just over the limit, or anything
        if (f.size() < 4)
          break;
        std::uint32_t len = 0;
        for (int i = 0; i < 4; ++i)
          len |= static_cast<std::uint32_t>(static_cast<unsigned char>(f[static_cast<std::size_t>(i)])) << (8 * i);
        const std::uint32_t choices[] = {len + 1, len - 1, 0, static_cast<std::uint32_t>(default_max_frame_bytes),
                                         static_cast<std::uint32_t>(default_max_frame_bytes + 1),
                                         static_cast<std::uint32_t>(rng_())};
        len = choices[upto(6)];
        for (int i = 0; i < 4; ++i)
          f[static_cast<std::size_t>(i)] = static_cast<char>((len >> (8 * i)) & 0xff);
        break;
      }
      case 2: // truncation
        f.resize(upto(f.size()));
        break;
      case 3: { // field swap: two equal-sized byte ranges of the body trade places
        if (f.size() < 8)
          break;
        const std::size_t n = 1 + upto(std::min<std::size_t>(8, (f.size() - 5) / 2));
        const std::size_t a = 5 + upto(f.size() - 5 - n + 1), b = 5 + upto(f.size() - 5 - n + 1);
        for (std::size_t i = 0; i < n && a + i < f.size() && b + i < f.size(); ++i)
          std::swap(f[a + i], f[b + i]);
        break;
      }
      case 4: // another type byte
        if (f.size() > 4)
          f[4] = static_cast<char>(upto(2) ? upto(0x30) : upto(256));
        break;
      case 5: { // a string length inside the body made huge
        if (f.size() < 9)
          break;
        const std::size_t at = 5 + upto(f.size() - 6);
        f[at] = '\xff';
        f[at + 1] = '\xff';
        break;
      }
      case 6: // random bytes spliced in
        f.insert(upto(f.size() + 1), random_bytes(32));
        break;
      default: // the frame repeated
        f += f;
        break;
    }
    return f;
  }

  std::mt19937_64& rng() { return rng_; }

private:
  std::mt19937_64 rng_;
};

struct frame_pools {
  std::vector<std::string> replication_hellos, replication, client_hellos, client, admin;
};

// Writes `bytes` (bounded by a send timeout), then reads until the node closes or `linger`
// passes; the socket is closed either way, sometimes with a reset. Errors are expected.
void attack_once(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds linger, bool reset) {
  int fd = connect_loopback(port);
  if (fd < 0)
    return;
  timeval tv{0, 200'000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    sent += static_cast<std::size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + linger;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    if (::recv(fd, buf, sizeof buf, 0) <= 0)
      break;
  }
  if (reset) {
    ::linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ::close(fd);
}

// ---- the honest publisher ----------------------------------------------------------------------

// Publishes to one node until `stop`, at most 32 outstanding, reconnecting (under a new publisher
// id) when the connection fails. Remembers every (publisher_id, publisher_seq) acked persisted.
struct honest_publisher {
  honest_publisher(std::uint16_t p, std::string n, std::atomic<bool>& s) : port(p), name(std::move(n)), stop(s) {}
  std::uint16_t port;
  std::string name;
  std::atomic<bool>& stop;
  std::mutex mu;
  std::set<std::pair<std::string, std::uint64_t>> acked;
  std::uint64_t nacked = 0, reconnects = 0;

  void run() {
    for (int generation = 0; !stop; ++generation) {
      const std::string id = name + "-" + std::to_string(generation);
      client_connection c;
      if (!c.connect("127.0.0.1", port, id, 5s).empty()) {
        ++reconnects;
        std::this_thread::sleep_for(50ms); // pacing between reconnect attempts, not a wait for a condition
        continue;
      }
      std::uint64_t next = 1;
      std::set<std::uint64_t> outstanding;
      const std::string payload(120, 'h');
      std::optional<std::chrono::steady_clock::time_point> give_up; // set once stopping
      while (c.is_open()) {
        if (stop && !give_up)
          give_up = std::chrono::steady_clock::now() + 30s;
        if (give_up && std::chrono::steady_clock::now() > *give_up)
          break; // acks that never come count as not acked; the checks below only use acked ones
        if (!stop && outstanding.size() < 32) {
          if (!c.send(publish{"hostile.test." + name, payload, id, next}, 2s))
            break;
          outstanding.insert(next++);
        } else if (stop && outstanding.empty()) {
          break;
        }
        auto m = c.receive(outstanding.size() < 32 && !stop ? 2ms : 200ms);
        if (!m)
          continue;
        if (auto* a = std::get_if<persisted_ack>(&*m)) {
          if (outstanding.erase(a->publisher_seq)) {
            std::lock_guard lock{mu};
            acked.insert({id, a->publisher_seq});
          }
        } else if (auto* n = std::get_if<negative_ack>(&*m)) {
          nacked += outstanding.erase(n->publisher_seq);
        }
        if (stop && outstanding.empty())
          break;
      }
      if (stop && c.is_open()) {
        // Outstanding acks are waited for above; a connection that failed takes its unacked
        // publishes with it (they count as neither acked nor lost).
        c.close();
        break;
      }
      ++reconnects;
    }
  }
};

} // namespace

TEST_CASE("hostile peers: random and mutated frames on every port of a live sync pair for 60 s") {
  const std::uint64_t seconds = env_or("TANDEM_HOSTILE_SECONDS", 60);
  const std::uint64_t seed = env_or("TANDEM_HOSTILE_SEED", std::random_device{}());
  MESSAGE("hostile peer seed " << seed << " (TANDEM_HOSTILE_SEED=" << seed << " replays it), " << seconds << " s");
  CAPTURE(seed);

  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  a.configure({{destination_spec{"B", "sync", true, {}}, &b}});
  b.configure({{destination_spec{"A", "sync", true, {}}, &a}});
  // Own processes (not test_node::start) so that the test knows their pids for RSS and liveness.
  // Under ASan, these two nodes run without LeakSanitizer (AddressSanitizer and UBSan stay on): after
  // thousands of hostile connections CAF 0.17's middleman left a scribe unfreed at exit (the
  // new_scribe site scripts/lsan.supp suppresses), and g++ 12's LeakSanitizer still reported what
  // that scribe refers to (a connection broker, the supervisor) as indirect leaks, in 3 of 3 ASan
  // stage runs (2026-12-04). Every other test's tandemd keeps the leak check at exit.
  auto spawn = [&](test_node& n) {
    std::vector<std::string> argv;
    if (built_with_asan) {
      const char* asan = std::getenv("ASAN_OPTIONS");
      argv = {"/usr/bin/env", std::string{"ASAN_OPTIONS="} + (asan ? asan : "") + ":detect_leaks=0"};
    }
    argv.insert(argv.end(), {tandemd_path(), "--config", n.config_file()});
    // /usr/bin/env execs tandemd in place: the pid is tandemd's either way.
    auto p = std::make_unique<child_process>(argv, dir.path(), dir.path());
    REQUIRE_MESSAGE(wait_until_up(*p, n.ports().admin, 20s), n.name() << " did not start: " << p->stderr_text());
    return p;
  };
  auto pa = spawn(a);
  auto pb = spawn(b);
  // The nodes log names the attacker sent: bytes outside printable ASCII are shown as '?' (a NUL
  // would cut doctest's message short).
  auto printable = [](std::string s) {
    for (auto& c : s)
      if ((c < 0x20 && c != '\n') || c >= 0x7f)
        c = '?';
    return s;
  };
  auto logs = [&] { return printable("A log:\n" + pa->stderr_text() + "\nB log:\n" + pb->stderr_text()); };
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 20s), logs());

  // Capture a real session: a publisher's acks and what a subscriber of A receives.
  frame_pools pools;
  {
    client_connection sub, pub;
    REQUIRE(sub.connect("127.0.0.1", a.ports().client, "capture-sub", 5s).empty());
    // From the journal's start, so the order of this subscribe and the publishes below does not matter.
    REQUIRE(sub.send(subscribe{7, "capture\\..*", true, a.first_seq()}, 2s));
    REQUIRE(pub.connect("127.0.0.1", a.ports().client, "capture-pub", 5s).empty());
    REQUIRE(pub.send(publisher_logon{"capture-pub"}, 2s));
    for (std::uint64_t i = 1; i <= 8; ++i)
      REQUIRE(pub.send(publish{"capture.t" + std::to_string(i), std::string(16 * i, 'c'), "capture-pub", i}, 2s));
    std::vector<delivered> got;
    REQUIRE(wait_until([&] {
      while (auto m = pub.receive(1ms))
        pools.client.push_back(frame(*m)); // publisher_logon_ack, persisted_acks
      while (auto m = sub.receive(1ms)) {
        pools.client.push_back(frame(*m)); // delivered
        if (auto* d = std::get_if<delivered>(&*m))
          got.push_back(*d);
      }
      return got.size() == 8;
    }, 20s));
    // A peer's view of the same records: what B's link would send to A, re-addressed.
    record_batch batch;
    for (const auto& d : got)
      // Under a third origin (see impersonates_partner: records "of A" from a stranger are spoofing).
      batch.records.push_back(record{d.seq, "hostile-origin", d.origin_seq, d.publisher_id, d.publisher_seq,
                                     d.timestamp_ns, {"hostile-origin"}, d.topic, d.payload});
    pools.replication.push_back(frame(batch));
    pools.replication.push_back(frame(durable_ack{got.back().seq}));
    pools.replication.push_back(frame(heartbeat{1}));
    pools.replication.push_back(frame(close_frame{close_code::normal, "bye"}));
    pools.client.push_back(frame(publish{"hostile.noise", "x", "hostile-pub", 1}));
    pools.client.push_back(frame(subscribe{1, "hostile\\..*", true, 1}));
    pools.client.push_back(frame(subscribe_from{2, ".*", subscribe_start::oldest, 0, true, {{"A", 3}, {"B", 1}}}));
    pools.client.push_back(frame(unsubscribe{1}));
    pools.client.push_back(frame(publisher_logon{"hostile-pub"}));
    pools.client.push_back(frame(heartbeat{2}));
    sub.close();
    pub.close();
  }
  const std::string group = a.status().value("group", std::string{"A"});
  // "A" and "B" only as mutation material: impersonates_partner() keeps them off the wire.
  for (const std::string name : {"A", "B", "C", "hostile"})
    pools.replication_hellos.push_back(frame(hello{1, 0, name, group, 0, "", 0, {}}));
  pools.replication_hellos.push_back(frame(hello{2, 0, "Z", group, 0, "", 0, {}}));
  pools.client_hellos.push_back(frame(client_hello{1, 0, "hostile-client"}));
  pools.client_hellos.push_back(frame(client_hello{9, 9, std::string(255, 'n')}));
  pools.admin = {"GET /status HTTP/1.1\r\nHost: x\r\n\r\n", "GET /metrics HTTP/1.0\r\n\r\n",
                 "GET /healthz HTTP/1.1\r\n\r\n", "POST /status HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
                 "GET /" + std::string(10000, 'a') + " HTTP/1.1\r\n\r\n"};

  std::atomic<bool> stop_publishing{false};
  honest_publisher to_a{a.ports().client, "pa", stop_publishing}, to_b{b.ports().client, "pb", stop_publishing};
  std::thread ta([&] { to_a.run(); });
  std::thread tb([&] { to_b.run(); });
  struct joiner {
    joiner(std::atomic<bool>& s, std::thread& a1, std::thread& b1) : stop(s), x(a1), y(b1) {}
    std::atomic<bool>& stop;
    std::thread &x, &y;
    ~joiner() {
      stop = true;
      if (x.joinable()) x.join();
      if (y.joinable()) y.join();
    }
  } join_publishers{stop_publishing, ta, tb};

  mutator mut{seed};
  const std::vector<std::pair<std::uint16_t, int>> ports = {
    {a.ports().replication, 0}, {b.ports().replication, 0}, {a.ports().client, 1},
    {b.ports().client, 1},      {a.ports().admin, 2},       {b.ports().admin, 2}};
  std::uint64_t connections = 0, max_rss_kib[2] = {0, 0};
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  auto next_check = std::chrono::steady_clock::now();
  bool alive = true;
  while (alive && std::chrono::steady_clock::now() < end) {
    const auto& [port, kind] = ports[mut.upto(ports.size())];
    std::string bytes;
    if (mut.chance(15)) {
      bytes = mut.random_bytes(4096);
    } else if (kind == 2) {
      bytes = pools.admin[mut.upto(pools.admin.size())];
      if (mut.chance(70))
        bytes = mut.mutate(bytes);
    } else {
      const auto& hellos = kind == 0 ? pools.replication_hellos : pools.client_hellos;
      const auto& body = kind == 0 ? pools.replication : pools.client;
      if (mut.chance(80)) {
        bytes = hellos[mut.upto(hellos.size())];
        if (mut.chance(30))
          bytes = mut.mutate(bytes);
      }
      // Frames of either listener on either port: a confused peer is hostile too.
      const auto& pool = mut.chance(85) ? body : (kind == 0 ? pools.client : pools.replication);
      for (std::size_t n = 1 + mut.upto(8); n > 0; --n) {
        std::string f = pool[mut.upto(pool.size())];
        bytes += mut.chance(70) ? mut.mutate(f) : f;
      }
    }
    if (impersonates_partner(bytes))
      continue;
    attack_once(port, bytes, std::chrono::milliseconds{mut.chance(20) ? mut.upto(300) : mut.upto(30)}, mut.chance(30));
    ++connections;
    if (std::chrono::steady_clock::now() >= next_check) {
      next_check += 1s;
      alive = pa->running() && pb->running();
      max_rss_kib[0] = std::max(max_rss_kib[0], proc_status_kib(pa->pid(), "VmRSS"));
      max_rss_kib[1] = std::max(max_rss_kib[1], proc_status_kib(pb->pid(), "VmRSS"));
    }
  }
  REQUIRE_MESSAGE(pa->running(), "A died under hostile input (seed " << seed << ")\n" << logs());
  REQUIRE_MESSAGE(pb->running(), "B died under hostile input (seed " << seed << ")\n" << logs());
  // Alive is not enough: a node whose journal actor went down shuts itself down, slowly.
  for (const test_node* n : {&a, &b})
    REQUIRE_MESSAGE(wait_until([&] {
      auto r = admin_get(n->ports().admin, "/healthz");
      return r.ok && r.status == 200;
    }, 10s), n->name() << " no longer serves /healthz after the attack (seed " << seed << ")\n" << logs());
  const std::uint64_t hwm_a = proc_status_kib(pa->pid(), "VmHWM"), hwm_b = proc_status_kib(pb->pid(), "VmHWM");

  // Still serving: both answer, reconnect to each other, and drain what the publishers sent.
  stop_publishing = true;
  ta.join();
  tb.join();
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 30s), logs());
  auto drained = [](const test_node& n, const std::string& dest) {
    auto s = n.status();
    if (!s.is_object() || !s.contains("journal"))
      return false;
    auto d = n.destination(dest);
    return d.is_object() && d.value("lag_records", std::uint64_t{1}) == 0;
  };
  CHECK_MESSAGE(wait_until([&] { return drained(a, "B") && drained(b, "A"); }, 30s), logs());
  MESSAGE(connections << " hostile connections; acked " << to_a.acked.size() << " on A, " << to_b.acked.size()
                      << " on B; nacked " << to_a.nacked + to_b.nacked << "; publisher reconnects "
                      << to_a.reconnects + to_b.reconnects << "; peak RSS A " << hwm_a / 1024 << " MiB, B "
                      << hwm_b / 1024 << " MiB (bound " << rss_bound_mib << " MiB; largest VmRSS sample during the attack: A "
                      << max_rss_kib[0] / 1024 << ", B " << max_rss_kib[1] / 1024 << " MiB)");
  CHECK(to_a.acked.size() > 0);
  CHECK(to_b.acked.size() > 0);
  CHECK_MESSAGE(hwm_a / 1024 < rss_bound_mib, "A peak RSS " << hwm_a / 1024 << " MiB");
  CHECK_MESSAGE(hwm_b / 1024 < rss_bound_mib, "B peak RSS " << hwm_b / 1024 << " MiB");

  // One after the other, as an operator restarts a pair. When both stopped at the same moment, a
  // connection between them could still be closing as B's middleman stopped, and CAF 0.17 left
  // that socket's scribe unfreed at exit (scripts/lsan.supp) together with the connection broker
  // it refers to, which LeakSanitizer reported as indirect leaks (once in two ASan runs,
  // 2026-12-04). That memory is only lost at exit; a serving node does not leak it.
  pa->signal(SIGTERM);
  CHECK(pa->wait_exit(20s) == 0);
  pb->signal(SIGTERM);
  CHECK(pb->wait_exit(20s) == 0);

  // Every acked message is on both nodes exactly once; no record is held twice.
  for (const test_node* n : {&a, &b}) {
    CAPTURE(n->name());
    auto records = n->journal_records();
    std::map<std::pair<std::string, std::uint64_t>, int> by_publisher;
    for (const auto& r : records)
      ++by_publisher[{r.publisher, r.publisher_seq}];
    for (const auto& [key, count] : count_by_origin(records))
      CHECK_MESSAGE(count == 1, key.first << "/" << key.second << " held " << count << " times");
    std::uint64_t missing = 0, doubled = 0;
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> missing_by_id; // id -> count, first seq
    for (const auto* p : {&to_a, &to_b})
      for (const auto& key : p->acked) {
        auto it = by_publisher.find(key);
        if (it == by_publisher.end()) {
          ++missing;
          auto& m = missing_by_id[key.first];
          m.second = m.first++ == 0 ? key.second : std::min(m.second, key.second);
        }
        doubled += it != by_publisher.end() && it->second != 1;
      }
    std::string which;
    for (const auto& [id, m] : missing_by_id)
      which += " " + id + ": " + std::to_string(m.first) + " from seq " + std::to_string(m.second) + ";";
    CHECK_MESSAGE(missing == 0, missing << " acked messages missing (seed " << seed << "):" << which << "\n" << logs());
    CHECK_MESSAGE(doubled == 0, doubled << " acked messages stored more than once (seed " << seed << ")");
  }
}
