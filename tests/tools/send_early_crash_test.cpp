// Issue 19 part 1, the crash hazard of sending before durable: a sync pair with
// journal.send_before_durable on both nodes, the entry node A SIGKILLed under sync load 50 times
// at random moments (its links send each record once written, so a kill lands between a send and
// its local fdatasync whenever the load is on). After each restart and catch-up, read from both
// live journals (journal::dump, read-only, no lock):
//   - the two journals agree record for record: every (origin, origin_seq) held by one is held by
//     the other, with the same publisher, publisher_seq, topic and payload (a seq of A reused for
//     a different record would show here: B keeps the copy it got first);
//   - no (origin, origin_seq) and no (publisher, publisher_seq) is held twice by one node;
//   - every acknowledged message is on both nodes, exactly once.
// Second case, the host crash (which a test cannot cause): A is SIGKILLed, then its data dir is
// made to look as a power loss leaves it -- its last 50 records gone although B holds them, the
// reserve file's boot id not this boot's -- and A restarts: it skips the reserved seqs (never
// giving B's seqs to other records), accepts B's resume point inside them, and the pair goes on.
// Every wait is a poll with a deadline; ports are chosen at run time; the seed is printed.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "journal/extent.hpp"
#include "journal/inspect.hpp"
#include "journal/seq_reservation.hpp"
#include "tests/tools/publish_fixture.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace std::chrono_literals;
using namespace tandem;
using test::temp_dir;
using test::test_node;

namespace {

// Publishes to one node from its own thread (window 32, sync acks) until the connection fails or
// stop(); then says how far its acks reached. Acks of one publisher arrive in publish order, so
// the acknowledged messages are publisher_seq 1 .. acked().
class load {
public:
  load(std::uint16_t port, std::string id) : id_(std::move(id)), thread_([this, port] { run(port); }) {}
  ~load() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  std::uint64_t acked_so_far() const { return acked_.load(); }
  std::uint64_t acked() { // after stop()
    stop();
    return acked_.load();
  }
  std::uint64_t negative() const { return negative_.load(); }
  const std::string& id() const { return id_; }

private:
  void run(std::uint16_t port) {
    client::client_connection c;
    if (!c.connect("127.0.0.1", port, id_, 5s).empty())
      return;
    client::publisher p{c, client::publisher_options{id_, 32}};
    auto note = [&] {
      acked_ = p.next_seq() - 1 - p.outstanding();
      negative_ = p.counters().negative;
    };
    while (!stop_) {
      const auto seq = p.next_seq();
      if (!p.publish("orders." + id_, id_ + "/" + std::to_string(seq), 50ms) && !c.is_open())
        break; // the node was killed
      note();
    }
    if (c.is_open())
      p.wait_all(10s);
    note();
  }

  std::string id_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> acked_{0}, negative_{0};
  std::thread thread_;
};

struct held_record {
  std::string publisher, topic, payload;
  std::uint64_t publisher_seq = 0;
  bool operator==(const held_record&) const = default;
};

// What a live node's journal holds, read incrementally with journal::dump (docs: "may run next to
// a live node"), up to the durable seq its /status gave: the dump line's fields, payload from the
// preview (every payload here is shorter than its 32 bytes).
struct journal_view {
  explicit journal_view(std::string journal_dir) : dir(std::move(journal_dir)) {}

  std::string dir;
  std::uint64_t next_seq = 0; // dump from here
  std::map<std::pair<std::string, std::uint64_t>, held_record> by_origin;
  std::map<std::pair<std::string, std::uint64_t>, int> by_publisher;
  std::vector<std::string> problems;

  static std::string field(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    const auto from = (line.rfind(key + "=", 0) == 0) ? key.size() + 1
                      : at == std::string::npos      ? std::string::npos
                                                      : at + key.size() + 2;
    if (from == std::string::npos)
      return {};
    if (key == "preview") { // preview="..." runs to the end of the line
      const auto end = line.rfind('"');
      return end > from ? line.substr(from + 1, end - from - 1) : std::string{};
    }
    return line.substr(from, line.find(' ', from) - from);
  }

  void read_up_to(std::uint64_t durable) {
    std::ostringstream out;
    auto s = journal::dump(dir, next_seq, out);
    REQUIRE_MESSAGE(s.ok(), s.to_string());
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("seq=", 0) != 0)
        continue;
      const std::uint64_t seq = std::stoull(field(line, "seq"));
      if (seq > durable)
        break;
      next_seq = seq + 1;
      held_record r{field(line, "publisher"), field(line, "topic"), field(line, "preview"),
                    std::stoull(field(line, "pub_seq"))};
      const auto key = std::make_pair(field(line, "origin"), std::stoull(field(line, "origin_seq")));
      if (!by_origin.emplace(key, r).second)
        problems.push_back("origin " + key.first + " origin_seq " + std::to_string(key.second) + " held twice");
      if (++by_publisher[{r.publisher, r.publisher_seq}] > 1)
        problems.push_back("publisher " + r.publisher + " seq " + std::to_string(r.publisher_seq) + " held twice");
    }
  }
};

std::uint64_t link_value(const test_node& n, const std::string& dest, const char* key) {
  auto d = n.destination(dest);
  return d.is_object() ? d.value(key, std::uint64_t{0}) : 0;
}

// Both links have nothing left to send and both nodes are connected.
bool caught_up(const test_node& a, const test_node& b) {
  return a.connected_to("B") && b.connected_to("A") && link_value(a, "B", "lag_records") == 0 &&
         link_value(b, "A", "lag_records") == 0 && a.durable_seq() > 0;
}

} // namespace

TEST_CASE("send_before_durable: the entry node SIGKILLed under sync load 50 times loses, duplicates and "
          "reuses nothing") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  const nlohmann::json early = {{"journal", {{"send_before_durable", true}}}};
  test::start_pair(a, b, "sync", early, early);
  REQUIRE(a.destination("B").value("send_before_durable", false));

  const auto seed = std::random_device{}();
  MESSAGE("seed " << seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> after_ms(5, 150);

  journal_view va{a.data_dir() + "/journal"}, vb{b.data_dir() + "/journal"};
  std::map<std::string, std::uint64_t> acked; // publisher -> acknowledged 1..n
  std::uint64_t early_batches = 0;
  const int rounds = 50;
  const auto started = std::chrono::steady_clock::now();
  for (int round = 0; round < rounds; ++round) {
    CAPTURE(round);
    load pub{a.ports().client, "gw" + std::to_string(round)};
    REQUIRE_MESSAGE(test::wait_until([&] { return pub.acked_so_far() > 0; }, 10s), a.log());
    std::this_thread::sleep_for(std::chrono::milliseconds{after_ms(rng)}); // the random moment: load is on
    early_batches = std::max(early_batches, link_value(a, "B", "early_batches"));
    a.kill();
    acked[pub.id()] = pub.acked();
    CHECK(pub.negative() == 0);
    a.start();
    REQUIRE_MESSAGE(test::wait_until([&] { return caught_up(a, b); }, 20s),
                    "A: " << a.destination("B").dump() << "\nB: " << b.destination("A").dump() << "\nA log:\n"
                          << a.log());
    va.read_up_to(a.durable_seq());
    vb.read_up_to(b.durable_seq());
    REQUIRE_MESSAGE(va.problems.empty(), va.problems.front());
    REQUIRE_MESSAGE(vb.problems.empty(), vb.problems.front());
    // Record for record: the same set of (origin, origin_seq), each with the same content.
    REQUIRE(va.by_origin.size() == vb.by_origin.size());
    for (const auto& [key, rec] : va.by_origin) {
      auto other = vb.by_origin.find(key);
      REQUIRE_MESSAGE(other != vb.by_origin.end(), "B lacks origin " << key.first << " origin_seq " << key.second);
      REQUIRE_MESSAGE(other->second == rec, "origin " << key.first << " origin_seq " << key.second << ": A holds "
                                                      << rec.publisher << "/" << rec.publisher_seq << " '"
                                                      << rec.payload << "', B holds " << other->second.publisher
                                                      << "/" << other->second.publisher_seq << " '"
                                                      << other->second.payload << "'");
    }
    // Every acknowledged message, on both nodes, once (the maps count each at most once: above).
    for (const auto* v : {&va, &vb})
      for (std::uint64_t s = 1; s <= acked[pub.id()]; ++s)
        REQUIRE_MESSAGE(v->by_publisher.count({pub.id(), s}) == 1,
                        pub.id() << " seq " << s << " acknowledged but not in " << v->dir);
  }
  std::uint64_t total_acked = 0;
  for (const auto& [id, n] : acked)
    total_acked += n;
  MESSAGE(rounds << " kills in " << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count()
                 << " s; " << total_acked << " messages acknowledged, " << va.by_origin.size()
                 << " records on each node; batches sent before durable (max seen before a kill): " << early_batches);
  CHECK(total_acked > 0);
  CHECK(early_batches > 0); // the early path ran: records went out before their fdatasync
  // Restarted cleanly at the end, nothing is left reserved: a reboot would open cleanly.
  a.stop();
  b.stop();
}

namespace {

// The last `n` records of the journal in `dir` cut from its last segment file, and its extent
// file's durable mark brought below them: what a power loss leaves of records written but not yet
// fdatasynced. Returns the seq of the first record cut.
std::uint64_t cut_tail(const std::string& dir, std::size_t n) {
  std::vector<std::filesystem::path> segs;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".seg")
      segs.push_back(e.path());
  REQUIRE_FALSE(segs.empty());
  std::sort(segs.begin(), segs.end());
  const auto path = segs.back().string();
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  std::vector<std::pair<std::size_t, std::uint64_t>> records; // (offset, seq)
  for (std::size_t off = 0; off + 24 <= bytes.size();) {
    std::uint32_t len = 0;
    std::uint64_t seq = 0;
    std::memcpy(&len, bytes.data() + off + 4, 4);
    std::memcpy(&seq, bytes.data() + off + 16, 8);
    if (len < 52 || off + len > bytes.size())
      break;
    records.emplace_back(off, seq);
    off += len;
  }
  REQUIRE(records.size() > n);
  const auto [cut_at, first_cut] = records[records.size() - n];
  std::filesystem::resize_file(path, cut_at);
  auto& fs = journal::posix_file_system();
  auto extent = journal::read_extent_file(fs, dir);
  REQUIRE(extent.ok());
  if (extent->has_value() && (*extent)->durable >= first_cut) {
    auto e = **extent;
    e.durable = first_cut - 1;
    REQUIRE(fs.write_file_atomic(dir + "/extent", journal::encode_extent(e)).ok());
  }
  return first_cut;
}

} // namespace

TEST_CASE("send_before_durable: after a host crash the node skips its reserved seqs and goes on with its partner") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  const nlohmann::json early = {{"journal", {{"send_before_durable", true}}}};
  test::start_pair(a, b, "sync", early, early);
  auto first = test::publish_n(a, "gw-before", 300);
  REQUIRE_MESSAGE(first.error.empty(), first.error);
  const std::uint64_t sent = a.durable_seq();
  REQUIRE(test::wait_until([&] { return link_value(b, "A", "lag_records") == 0 && link_value(a, "B", "lag_records") == 0; }, 10s));
  a.kill();
  const std::string jdir = a.data_dir() + "/journal";
  const std::uint64_t lost_from = cut_tail(jdir, 50);
  REQUIRE(lost_from == sent - 49);
  auto& fs = journal::posix_file_system();
  auto reserve = journal::read_reservation_file(fs, jdir);
  REQUIRE(reserve.ok());
  REQUIRE(reserve->has_value());
  const std::uint64_t reserved = (*reserve)->seq;
  REQUIRE(reserved >= sent); // every record sent was covered by the reservation
  REQUIRE(journal::write_reservation_file(fs, jdir, {reserved, "-"}).ok()); // written under another boot

  a.start();
  CHECK(a.log().find("seqs " + std::to_string(lost_from) + ".." + std::to_string(reserved) + " are skipped") !=
        std::string::npos);
  CHECK(a.durable_seq() == reserved);
  // B resumes from what it holds (inside the skipped range): believed, no protocol violation.
  REQUIRE_MESSAGE(test::wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 10s), a.log());
  CHECK(a.destination("B").value("protocol_violations", nlohmann::json::object()).value("resume_above_journal", 0) == 0);
  // Nothing to send in the skipped range: no lag is left from it.
  CHECK(test::wait_until([&] { return link_value(a, "B", "lag_records") == 0; }, 10s));
  auto after = test::publish_n(a, "gw-after", 100);
  REQUIRE_MESSAGE(after.error.empty(), after.error);
  REQUIRE(test::wait_until([&] { return link_value(a, "B", "lag_records") == 0 && link_value(b, "A", "lag_records") == 0; }, 10s));

  journal_view va{jdir}, vb{b.data_dir() + "/journal"};
  va.read_up_to(a.durable_seq());
  vb.read_up_to(b.durable_seq());
  CHECK(va.problems.empty());
  CHECK(vb.problems.empty());
  // No seq of A names two records: whatever both hold under origin A is the same record.
  std::size_t both = 0, only_b = 0;
  for (const auto& [key, rec] : vb.by_origin) {
    if (key.first != "A")
      continue;
    auto mine = va.by_origin.find(key);
    if (mine == va.by_origin.end()) {
      ++only_b;
      CHECK(key.second >= lost_from); // what A lost with the "power"
      CHECK(key.second <= reserved);
      continue;
    }
    ++both;
    CHECK_MESSAGE(mine->second == rec, "origin_seq " << key.second);
  }
  CHECK(only_b == 50);
  CHECK(both == 250 + 100);
  // A's new records numbered above the reservation, and B has them all.
  for (const auto& [key, rec] : va.by_origin)
    if (rec.publisher == "gw-after")
      CHECK(key.second > reserved);
  for (std::uint64_t s = 1; s <= 100; ++s)
    CHECK(vb.by_publisher.count({"gw-after", s}) == 1);
  a.stop();
  b.stop();
}
