// The seq reservation rule (journal/seq_reservation.hpp, issue 19 part 1): what a sync link may
// send before the local fdatasync, when the reservation must grow, and how a restart numbers on.
// Plain class: no files, sockets, threads or clocks (the simulation below plays the crashes).
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "journal/crc32c.hpp"
#include "journal/crc_text.hpp"
#include "journal/inspect.hpp"
#include "journal/reader.hpp"
#include "journal/segment.hpp"
#include "journal/seq_reservation.hpp"
#include "test_util.hpp"

using namespace tandem::journal;

namespace {

constexpr std::uint64_t u64max = std::numeric_limits<std::uint64_t>::max();
const std::string boot_a = "3f1c2d4e-0000-4000-8000-00000000000a";
const std::string boot_b = "3f1c2d4e-0000-4000-8000-00000000000b";

} // namespace

TEST_CASE("seq_reservation: only durable records, or written ones up to the persisted reservation, are sendable") {
  seq_reservation r{1000, 5000}; // nothing reserved above the durable seq yet
  CHECK(r.sendable(5040, 5000) == 5000);
  CHECK(r.exposed() == 5000);
  r.on_persisted(5500);
  CHECK(r.sendable(5040, 5000) == 5040);
  CHECK(r.sendable(5600, 5000) == 5500); // never above what the reserve file holds
  CHECK(r.sendable(5600, 5590) == 5590);
  CHECK(r.sendable(5600, 5600) == 5600); // durable records are always sendable
  CHECK(r.exposed() == 5600);
  r.on_persisted(5200); // a smaller one than known changes nothing
  CHECK(r.reserved() == 5500);
}

TEST_CASE("seq_reservation: wanted() grows the reservation by a step once less than half a step is left") {
  seq_reservation r{1000, 5000};
  CHECK(r.wanted(5000) == 6000); // nothing ahead: reserve at once
  r.on_persisted(6000);
  CHECK_FALSE(r.wanted(5000));
  CHECK_FALSE(r.wanted(5500)); // exactly half a step left: enough
  CHECK(r.wanted(5501) == 6501);
  CHECK(r.wanted(7000) == 8000); // written beyond the reservation (sendable stops at 6000 meanwhile)
  SUBCASE("saturates at the top of the seq space") {
    seq_reservation top{1000, u64max - 10};
    CHECK(top.wanted(u64max - 5) == u64max);
    CHECK(top.wanted(u64max) == u64max);
  }
  SUBCASE("a step below 2 is taken as 2 (never a reservation that stops at the written seq)") {
    seq_reservation tiny{0, 10};
    CHECK(tiny.wanted(10) == 12);
  }
  // One reserve-file write per step / 2 records: count them over 100000 appends.
  seq_reservation counted{1000, 0};
  int writes = 0;
  for (std::uint64_t w = 1; w <= 100000; ++w)
    if (auto next = counted.wanted(w)) {
      counted.on_persisted(*next);
      ++writes;
    }
  CHECK(writes == 200);
}

TEST_CASE("seq_reservation: a failed fdatasync may reuse the rolled-back seqs only if none was exposed") {
  seq_reservation r{1000, 6000};
  CHECK(r.after_failed_sync(5000)); // nothing handed out yet
  CHECK(r.sendable(5000, 5000) == 5000);
  CHECK(r.after_failed_sync(5000));
  CHECK(r.sendable(5040, 5000) == 5040);
  CHECK_FALSE(r.after_failed_sync(5000)); // 5001..5040 may be at a partner: refuse appends until restart
  CHECK(r.after_failed_sync(5040));
}

TEST_CASE("decide_restart: clean, process crash, host crash") {
  struct row {
    const char* what;
    std::uint64_t recovered;
    std::optional<reservation_record> file;
    restart_kind kind;
    std::uint64_t next;
    seq_range skipped;
  };
  const row rows[] = {
      {"no reserve file (a build without one, or a new journal)", 4999, std::nullopt, restart_kind::clean, 5000, {1, 0}},
      {"reservation at the recovered seq (a clean close)", 5000, reservation_record{5000, boot_b}, restart_kind::clean,
       5001, {1, 0}},
      {"reservation below the recovered seq", 5001, reservation_record{5000, boot_a}, restart_kind::clean, 5002, {1, 0}},
      {"above, same boot: the page cache kept every record sent", 5040, reservation_record{6000, boot_a},
       restart_kind::process_crash, 5041, {1, 0}},
      {"above, another boot: skip up to the reservation", 5000, reservation_record{6000, boot_b},
       restart_kind::host_crash, 6001, {5001, 6000}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    const auto d = decide_restart(r.recovered, r.file, boot_a);
    CHECK(d.kind == r.kind);
    CHECK(d.next_seq == r.next);
    CHECK(d.skipped.empty() == r.skipped.empty());
    if (!r.skipped.empty()) CHECK(d.skipped == r.skipped);
  }
  SUBCASE("an unknown boot id on either side counts as another boot") {
    CHECK(decide_restart(5000, reservation_record{6000, "-"}, "-").kind == restart_kind::host_crash);
    CHECK(decide_restart(5000, reservation_record{6000, boot_a}, "-").kind == restart_kind::host_crash);
    CHECK(decide_restart(5000, reservation_record{6000, "-"}, boot_a).kind == restart_kind::host_crash);
  }
  SUBCASE("a new journal (nothing recovered: base - 1) after a host crash") {
    auto d = decide_restart(999, reservation_record{1500, boot_a}, boot_b);
    CHECK(d.skipped == seq_range{1000, 1500});
    CHECK(d.next_seq == 1501);
  }
  SUBCASE("a reservation at the top of the seq space does not wrap") {
    auto d = decide_restart(10, reservation_record{u64max, boot_a}, boot_b);
    CHECK(d.next_seq == u64max);
  }
}

TEST_CASE("reserve file: round trip, limits, damage") {
  const reservation_record r{1763808000127999, boot_a};
  const std::string text = encode_reservation(r);
  CHECK(text.rfind("tandem-reserve 1\nseq 1763808000127999\nboot " + boot_a + "\ncrc ", 0) == 0);
  auto back = decode_reservation(text, "d/reserve");
  REQUIRE(back.ok());
  CHECK(*back == r);

  SUBCASE("seq 0, the largest seq and an unknown boot id round trip") {
    for (const auto& rec : {reservation_record{0, "-"}, reservation_record{u64max, "-"}}) {
      auto b = decode_reservation(encode_reservation(rec), "d/reserve");
      REQUIRE(b.ok());
      CHECK(*b == rec);
    }
  }
  SUBCASE("boot id at its limit is kept; one byte more is written as unknown and refused when read") {
    const std::string at_limit(max_boot_id_bytes, 'a');
    auto b = decode_reservation(encode_reservation({7, at_limit}), "d/reserve");
    REQUIRE(b.ok());
    CHECK(b->boot_id == at_limit);
    const std::string over(max_boot_id_bytes + 1, 'a');
    CHECK(normalize_boot_id(at_limit + "\n") == at_limit);
    CHECK(normalize_boot_id(over) == "-");
    b = decode_reservation(encode_reservation({7, over}), "d/reserve");
    REQUIRE(b.ok());
    CHECK(b->boot_id == "-");
  }
  SUBCASE("normalize_boot_id keeps the kernel's form and refuses anything else") {
    CHECK(normalize_boot_id(boot_a + "\n") == boot_a);
    CHECK(normalize_boot_id("") == "-");
    CHECK(normalize_boot_id("\n") == "-");
    CHECK(normalize_boot_id("ABC") == "-"); // the kernel writes lower case
    CHECK(normalize_boot_id("a b") == "-");
  }
  SUBCASE("every cut of the file is refused") {
    for (std::size_t n = 0; n < text.size(); ++n) {
      auto cut = decode_reservation(text.substr(0, n), "d/reserve");
      CHECK_FALSE(cut.ok());
      if (!cut.ok()) CHECK(cut.error().code() == errc::corruption);
    }
  }
  SUBCASE("every flipped byte is refused") {
    for (std::size_t i = 0; i < text.size(); ++i) {
      std::string bad = text;
      bad[i] = static_cast<char>(bad[i] ^ 0x01);
      CHECK_FALSE(decode_reservation(bad, "d/reserve").ok());
    }
  }
  SUBCASE("a seq above 2^64 - 1 is refused even with a valid crc; 2^64 - 1 is accepted") {
    auto with_body = [](const std::string& body) {
      char crc[32];
      std::snprintf(crc, sizeof crc, "crc %08x\n", tandem::journal::crc32c::mask(tandem::journal::crc32c::value(body.data(), body.size())));
      return body + crc;
    };
    auto top = decode_reservation(with_body("tandem-reserve 1\nseq 18446744073709551615\nboot -\n"), "p");
    REQUIRE(top.ok());
    CHECK(top->seq == u64max);
    CHECK_FALSE(decode_reservation(with_body("tandem-reserve 1\nseq 99999999999999999999\nboot -\n"), "p").ok());
    CHECK_FALSE(decode_reservation(with_body("tandem-reserve 1\nseq 000000000000000000001\nboot -\n"), "p").ok());
    auto over = decode_reservation(with_body("tandem-reserve 1\nseq 18446744073709551616\nboot -\n"), "p");
    REQUIRE_FALSE(over.ok());
    CHECK(over.error().message().find("p: malformed seq") == 0);
    CHECK_FALSE(decode_reservation(with_body("tandem-reserve 1\nseq 12\nboot -\nextra 1\n"), "p").ok());
    CHECK_FALSE(decode_reservation(with_body("tandem-reserve 2\nseq 12\nboot -\n"), "p").ok());
    CHECK_FALSE(decode_reservation(with_body("tandem-reserve 1\nseq 12\nboot A\n"), "p").ok());
    CHECK_FALSE(decode_reservation(with_body("tandem-reserve 1\nseq -1\nboot -\n"), "p").ok());
    CHECK_FALSE(decode_reservation(with_body("tandem-reserve 1\nboot -\nseq 12\n"), "p").ok());
  }
}

namespace {

// A node and its partner played through random appends, syncs, sends, reservation writes, clean
// closes, process crashes and host crashes. `naive`: restarts number on from the recovered seq
// (what the journal did before the rule), to show the simulation finds the hazard.
struct sim_result {
  std::size_t reused = 0;      // new records given a seq the partner holds another record under
  std::size_t lost_acked = 0;  // acknowledged records missing here after a restart
  std::size_t disagree = 0;    // seqs both hold with different records at the end
  std::size_t below_sent = 0;  // restarts numbering at or below a seq already sent
  std::size_t host_crashes = 0, process_crashes = 0, skipped = 0, sent_early = 0;
};

sim_result simulate(unsigned seed, bool naive) {
  sim_result out;
  std::mt19937_64 rng{seed};
  const auto roll = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  const std::uint64_t step = 8 + rng() % 64;
  int boot = 0;
  const auto boot_id = [&] { return "b" + std::to_string(boot); }; // [0-9a-f-]: "b0", "b1", ...
  std::map<std::uint64_t, std::uint64_t> here;    // seq -> record id, written (page cache or disk)
  std::uint64_t durable = 999, written = 999;     // a journal with base 1000
  std::optional<reservation_record> file;          // the reserve file
  seq_reservation res{step, durable};
  std::map<std::uint64_t, std::uint64_t> partner; // what the partner stored under this origin
  std::set<std::uint64_t> acked;                  // record ids a publisher was told are persisted
  std::uint64_t next = 1000, next_id = 1, highest_sent = 0, acked_through = 0;
  std::uint64_t floor = 0; // the last seq skipped, made durable by the empty segment at floor + 1

  const auto restart = [&](std::uint64_t recovered_last) {
    auto d = decide_restart(recovered_last, file, boot_id());
    if (naive) d = restart_decision{restart_kind::clean, recovered_last + 1, {1, 0}};
    if (d.kind == restart_kind::host_crash) {
      out.skipped += d.skipped.last - d.skipped.first + 1;
      floor = d.skipped.last;
    }
    next = d.next_seq;
    durable = written = std::max(recovered_last, floor);
    res = seq_reservation{step, std::max(durable, file ? file->seq : 0)};
    if (next <= highest_sent) ++out.below_sent;
    std::set<std::uint64_t> ids;
    for (const auto& [s, id] : here) ids.insert(id);
    for (auto id : acked) out.lost_acked += ids.count(id) == 0;
  };

  for (int op = 0; op < 3000; ++op) {
    switch (roll(12)) {
      case 0: case 1: case 2: // a publish: written (page cache), not durable
        if (auto it = partner.find(next); it != partner.end()) ++out.reused;
        here[next] = next_id++;
        written = next++;
        break;
      case 3: case 4: // fdatasync
        durable = written;
        break;
      case 5: // the committer grows the reservation when asked (file written, then used)
        if (auto w = res.wanted(written)) {
          file = reservation_record{*w, boot_id()};
          res.on_persisted(*w);
        }
        break;
      case 6: case 7: { // a sync link sends what is sendable; the partner stores it
        const auto bound = naive ? written : res.sendable(written, durable);
        for (auto it = here.upper_bound(highest_sent); it != here.end() && it->first <= bound; ++it) {
          partner[it->first] = it->second;
          highest_sent = it->first;
          out.sent_early += it->first > durable;
        }
        if (!naive) REQUIRE(highest_sent <= std::max(durable, file ? file->seq : 0)); // above durable => reserved on disk
        break;
      }
      case 8: // persisted acks: durable here AND held by the partner
        for (auto it = here.upper_bound(acked_through); it != here.end() && it->first <= durable; ++it) {
          auto p = partner.find(it->first);
          if (p == partner.end()) break;
          if (p->second == it->second) acked.insert(it->second);
          acked_through = it->first;
        }
        break;
      case 9: // a process crash: the kernel keeps every written record
        ++out.process_crashes;
        restart(std::max(written, floor));
        break;
      case 10: // a host crash: records above the durable seq are lost, the boot id changes
        ++out.host_crashes;
        for (auto it = here.upper_bound(durable); it != here.end();) it = here.erase(it);
        ++boot;
        restart(std::max(durable, floor));
        break;
      case 11: // a clean close: sync, persist the reservation at the last seq used or skipped
        durable = written;
        file = reservation_record{seq_reservation::at_clean_close(next - 1), boot_id()};
        restart(std::max(durable, floor));
        break;
    }
  }
  for (const auto& [s, id] : partner)
    if (auto it = here.find(s); it != here.end() && it->second != id) ++out.disagree;
  return out;
}

} // namespace

TEST_CASE("seq_reservation: simulated crashes never reuse a sent seq nor lose an acknowledged record") {
  sim_result naive_total;
  for (unsigned seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    const auto r = simulate(seed, false);
    CHECK(r.reused == 0);
    CHECK(r.lost_acked == 0);
    CHECK(r.disagree == 0);
    CHECK(r.below_sent == 0);
    CHECK(r.host_crashes > 0);
    CHECK(r.process_crashes > 0);
    CHECK(r.skipped > 0);
    CHECK(r.sent_early > 0); // records did go out before their fdatasync
    const auto n = simulate(seed, true);
    naive_total.reused += n.reused;
    naive_total.disagree += n.disagree;
    naive_total.lost_acked += n.lost_acked;
  }
  // Without the rule the same runs reuse sent seqs (the hazard the rule closes); acks never
  // depended on it (a persisted ack needs local durability either way).
  CHECK(naive_total.reused > 0);
  CHECK(naive_total.disagree > 0);
  CHECK(naive_total.lost_acked == 0);
}

TEST_CASE("decide_restart: numbering on from the recovered seq after a host crash would reuse a sent seq") {
  // The counter-example the rule exists for: without the skip, seq 5001 is sent, lost here, and
  // given to a new record while the partner holds the old one.
  seq_reservation r{1000, 6000};
  const auto sent_up_to = r.sendable(5040, 5000);
  CHECK(sent_up_to == 5040);
  const std::uint64_t recovered = 5000; // the host lost 5001..5040
  const auto naive_next = recovered + 1;
  CHECK(naive_next <= sent_up_to);
  const auto d = decide_restart(recovered, reservation_record{r.reserved(), boot_a}, boot_b);
  CHECK(d.next_seq > sent_up_to);
  CHECK(d.skipped.first == naive_next);
}

TEST_CASE("reserve file on disk: absent, written, read back, damaged, oversized") {
  tandem::journal::test::temp_dir dir;
  auto& fs = posix_file_system();
  auto none = read_reservation_file(fs, dir.path());
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  REQUIRE(write_reservation_file(fs, dir.path(), {6000, boot_a}).ok());
  auto back = read_reservation_file(fs, dir.path());
  REQUIRE(back.ok());
  REQUIRE(back->has_value());
  CHECK(**back == reservation_record{6000, boot_a});
  REQUIRE(write_reservation_file(fs, dir.path(), {7000, boot_b}).ok()); // replaced whole
  back = read_reservation_file(fs, dir.path());
  REQUIRE(back.ok());
  CHECK((*back)->seq == 7000);

  const std::string path = dir.file("reserve");
  const std::string good = encode_reservation({7000, boot_b});
  SUBCASE("at the size limit it is decoded; one byte more is refused before decoding") {
    // The longest valid file: 20-digit seq, 64-byte boot id.
    const std::string longest = encode_reservation({u64max, std::string(max_boot_id_bytes, 'f')});
    CHECK(longest.size() <= max_reservation_file_bytes);
    REQUIRE(fs.write_file_atomic(path, longest).ok());
    CHECK(read_reservation_file(fs, dir.path()).ok());
    std::string at_limit = good + std::string(max_reservation_file_bytes - good.size(), '\n');
    REQUIRE(fs.write_file_atomic(path, at_limit).ok());
    auto r = read_reservation_file(fs, dir.path());
    REQUIRE_FALSE(r.ok()); // trailing bytes after the crc line: not the file a writer wrote
    CHECK(r.error().message().find("bytes, more than") == std::string::npos);
    REQUIRE(fs.write_file_atomic(path, at_limit + "\n").ok());
    r = read_reservation_file(fs, dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == errc::corruption);
    CHECK(r.error().message().find("257 bytes, more than a reservation") != std::string::npos);
  }
  SUBCASE("a damaged file is corruption naming it") {
    std::string bad = good;
    bad[bad.find("seq ") + 4] = '9';
    REQUIRE(fs.write_file_atomic(path, bad).ok());
    auto r = read_reservation_file(fs, dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == errc::corruption);
    CHECK(r.error().message().find(path + ": checksum mismatch") == 0);
  }
}

TEST_CASE("current_boot_id: the running host's, stable between two reads; a bad file is unknown") {
  auto& fs = posix_file_system();
  const auto a = current_boot_id();
  CHECK(a == current_boot_id());
  if (fs.exists("/proc/sys/kernel/random/boot_id")) {
    CHECK(a != "-");
    CHECK(a.size() == 36);
  } else {
    CHECK(a == "-");
  }
  tandem::journal::test::temp_dir dir;
  CHECK(current_boot_id(dir.file("absent")) == "-");
  REQUIRE(fs.write_file_atomic(dir.file("at_limit"), std::string(max_boot_id_bytes, 'e') + "\n").ok());
  CHECK(current_boot_id(dir.file("at_limit")) == std::string(max_boot_id_bytes, 'e'));
  REQUIRE(fs.write_file_atomic(dir.file("over"), std::string(max_boot_id_bytes + 1, 'e') + "\n").ok());
  CHECK(current_boot_id(dir.file("over")) == "-");
  REQUIRE(fs.write_file_atomic(dir.file("upper"), "ABC\n").ok());
  CHECK(current_boot_id(dir.file("upper")) == "-");
}

TEST_CASE("seq_reservation: the worked example of seq_reservation.hpp and docs/journal-format.md") {
  seq_reservation r{1000, 6000};
  CHECK(r.sendable(5040, 5000) == 5040);
  CHECK_FALSE(r.wanted(5040));
  REQUIRE(r.wanted(5501) == 6501);
  CHECK(r.sendable(6100, 5000) == 6000); // until the file holds 6501
  r.on_persisted(6501);
  CHECK(r.sendable(5600, 5450) == 5600);
  const auto d = decide_restart(5450, reservation_record{r.reserved(), boot_a}, boot_b);
  CHECK(d.kind == restart_kind::host_crash);
  CHECK(d.skipped == seq_range{5451, 6501});
  CHECK(d.next_seq == 6502);
}

// ---- the journal with journal_options::reserve_step (journal.cpp open_reservation,
// expose_written; reader.cpp read_window_slices_up_to) ----

namespace {

using tandem::journal::test::fault_fs;
using tandem::journal::test::make_batch;
using tandem::journal::test::open_ok;
using tandem::journal::test::options_for;
using tandem::journal::test::temp_dir;

// Fails the atomic write of the reserve file while `fail_reserve` is set; the rest goes to `target`.
class reserve_failing_fs final : public forwarding_file_system {
public:
  explicit reserve_failing_fs(file_system& target) : forwarding_file_system(target) {}
  bool fail_reserve = false;
  status write_file_atomic(const std::string& path, std::string_view data) override {
    if (fail_reserve && path.size() >= 8 && path.substr(path.size() - 8) == "/reserve")
      return status{errc::io_error, "injected: " + path};
    return forwarding_file_system::write_file_atomic(path, data);
  }
};

journal_options reserving(const temp_dir& dir, file_system* fs = nullptr) {
  auto o = options_for(dir.path());
  o.fs = fs;
  o.reserve_step = 100;
  o.boot_id = boot_a;
  return o;
}

std::uint64_t sendable_read(const journal& j, std::uint64_t from) {
  auto c = j.open_cursor(from);
  REQUIRE(c.ok());
  auto slices = c->read_window_slices_up_to(1000, 1 << 20, j.sendable_seq());
  REQUIRE(slices.has_value());
  return slices->empty() ? from - 1 : slices->back().last_seq();
}

} // namespace

TEST_CASE("journal reserve_step: written records are readable up to the reservation, durable readers unchanged") {
  temp_dir dir;
  auto o = reserving(dir);
  auto j = open_ok(o);
  REQUIRE(j->append(make_batch(1, 10)).ok()); // written, not synced
  CHECK(j->durable_seq() == 0);
  CHECK(j->sendable_seq() == 10);
  auto file = read_reservation_file(posix_file_system(), dir.path());
  REQUIRE(file.ok());
  REQUIRE(file->has_value());
  CHECK((*file)->seq == 110); // persisted before 1..10 became readable
  CHECK((*file)->boot_id == boot_a);
  CHECK(sendable_read(*j, 1) == 10);
  auto durable_reader = j->open_cursor(1);
  REQUIRE(durable_reader.ok());
  auto none = durable_reader->read_window_slices(1000, 1 << 20);
  REQUIRE(none.has_value());
  CHECK(none->empty()); // ordinary readers: durable records only
  REQUIRE(j->sync().ok());
  CHECK(j->durable_seq() == 10);
  CHECK(tandem::journal::test::read_all(*j, 1).size() == 10);
  j.reset(); // a clean close
  file = read_reservation_file(posix_file_system(), dir.path());
  REQUIRE(file.ok());
  CHECK((*file)->seq == 10);
  recovery_report rep;
  o.boot_id = boot_b; // a reboot after a clean close is clean
  j = open_ok(o, &rep);
  CHECK(j->durable_seq() == 10);
  CHECK(j->sendable_seq() == 10);
}

TEST_CASE("journal reserve_step 0: no reserve file, nothing readable above the durable seq") {
  temp_dir dir;
  auto j = open_ok(options_for(dir.path()));
  REQUIRE(j->append(make_batch(1, 10)).ok());
  CHECK(j->sendable_seq() == 0);
  CHECK(sendable_read(*j, 1) == 0);
  REQUIRE(j->sync().ok());
  CHECK(sendable_read(*j, 1) == 10);
  j.reset();
  CHECK_FALSE(posix_file_system().exists(dir.file("reserve")));
}

TEST_CASE("journal reserve_step: a reservation above the journal under another boot is skipped at open") {
  temp_dir dir;
  auto o = options_for(dir.path());
  {
    auto j = open_ok(o);
    tandem::journal::test::append_sync(*j, 1, 5);
  }
  // What a host crash leaves: the file reserved 5..200 before power was lost.
  REQUIRE(write_reservation_file(posix_file_system(), dir.path(), {200, boot_a}).ok());
  for (std::uint64_t step : {std::uint64_t{0}, std::uint64_t{100}}) {
    SUBCASE(("another boot (a host crash), reserve_step " + std::to_string(step)).c_str()) {
      o.reserve_step = step; // off too: the rule applies to what the run with it on may have sent
      o.boot_id = boot_b;
      recovery_report rep;
      {
        auto j = open_ok(o, &rep);
        CHECK(rep.skipped == seq_range{6, 200});
        CHECK(j->durable_seq() == 200); // the journal ends at the reservation: nothing there, ever
        CHECK(j->sendable_seq() == 200);
        auto r = j->append(make_batch(6, 2));
        REQUIRE(r.ok());
        CHECK(r->first == 201); // never 6: a partner may hold 6..200 with records lost here
        REQUIRE(j->sync().ok());
        std::vector<std::uint64_t> seqs;
        for (const auto& rec : tandem::journal::test::read_all(*j, 1)) seqs.push_back(rec.seq);
        CHECK(seqs == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 201, 202});
        auto mid = j->open_cursor(50); // a reader inside the skipped range goes on above it
        REQUIRE(mid.ok());
        CHECK(mid->next_seq() == 201);
        CHECK(j->past_skipped(6) == 201);
        CHECK(j->past_skipped(5) == 5);
        CHECK(j->past_skipped(201) == 201);
      }
      auto skipped = read_skipped_file(posix_file_system(), dir.path());
      REQUIRE(skipped.ok());
      CHECK(*skipped == std::vector<seq_range>{{6, 200}});
      std::ostringstream verified;
      CHECK_MESSAGE(verify(dir.path(), verified).ok(), verified.str()); // tandemd journal verify
      CHECK(verified.str().find("skipped after a host crash: seqs 6..200") != std::string::npos);
      // Another reboot, a clean close before it: nothing more is skipped.
      o.boot_id = "33333333-3333-3333-3333-333333333333";
      recovery_report again;
      auto j = open_ok(o, &again);
      CHECK(again.skipped.empty());
      CHECK(j->durable_seq() == 202);
      CHECK(tandem::journal::test::read_all(*j, 1).size() == 7);
    }
  }
  SUBCASE("the same boot (a process crash): opens, numbers on from the journal's end") {
    o.reserve_step = 100;
    o.boot_id = boot_a;
    auto j = open_ok(o);
    CHECK(j->durable_seq() == 5);
    CHECK(j->sendable_seq() == 5);
    auto r = j->append(make_batch(6, 1));
    REQUIRE(r.ok());
    CHECK(r->first == 6);
    CHECK(j->sendable_seq() == 6); // the file from before still covers it (same boot)
  }
  SUBCASE("the same boot with the reservation off: opens and brings the file down to the journal's end") {
    o.reserve_step = 0;
    o.boot_id = boot_a;
    { auto j = open_ok(o); }
    auto file = read_reservation_file(posix_file_system(), dir.path());
    REQUIRE(file.ok());
    CHECK((*file)->seq == 5);
    o.boot_id = boot_b; // so a later reboot opens
    auto j = open_ok(o);
    CHECK(j->durable_seq() == 5);
  }
}

// A journal with 1..5 durable and 6..8 written and readable above them (a sync link may have
// sent them), on a file system that injects faults.
struct exposed_journal {
  temp_dir dir;
  fault_fs fs;
  std::unique_ptr<journal> j;
  exposed_journal() : j(open_ok(reserving(dir, &fs))) {
    tandem::journal::test::append_sync(*j, 1, 5);
    REQUIRE(j->append(make_batch(6, 3)).ok());
    REQUIRE(j->sendable_seq() == 8);
  }
};

TEST_CASE("journal reserve_step: a failed fdatasync after records were readable skips the reservation, appends go on") {
  exposed_journal e;
  auto& j = e.j;
  auto& fs = e.fs;
  auto& dir = e.dir;
  auto reserved = read_reservation_file(posix_file_system(), dir.path());
  REQUIRE(reserved.ok());
  const std::uint64_t r = (*reserved)->seq;
  REQUIRE(r >= 8);
  fs.sync_errno = EIO;
  REQUIRE_FALSE(j->sync().ok());
  CHECK(j->durable_seq() == r); // 6..r skipped: never used
  CHECK(j->sendable_seq() == r);
  CHECK(j->skipped() == std::vector<seq_range>{{6, r}});
  CHECK(sendable_read(*j, 6) == 5); // nothing readable in it: a reader there goes on above it
  CHECK(j->open_cursor(6)->next_seq() == r + 1);
  auto again = j->append(make_batch(9, 1));
  REQUIRE(again.ok());
  CHECK(again->first == r + 1); // never 6 again
  REQUIRE(j->sync().ok());
  std::vector<std::uint64_t> seqs;
  for (const auto& rec : tandem::journal::test::read_all(*j, 1)) seqs.push_back(rec.seq);
  CHECK(seqs == std::vector<std::uint64_t>{1, 2, 3, 4, 5, r + 1});
  j.reset();
  // Reopened (another boot even): the skip is on disk, nothing more is skipped, nothing reappears.
  auto o = reserving(dir);
  o.boot_id = boot_b;
  recovery_report rep;
  auto reopened = open_ok(o, &rep);
  CHECK(rep.skipped.empty());
  CHECK(reopened->durable_seq() == r + 1);
  CHECK(tandem::journal::test::read_all(*reopened, 1).size() == 6);
  std::ostringstream verified;
  CHECK_MESSAGE(verify(dir.path(), verified).ok(), verified.str());
}

TEST_CASE("journal reserve_step: when the disk refuses the skip too, appends stop and the next open skips") {
  exposed_journal e;
  auto& j = e.j;
  auto& fs = e.fs;
  auto& dir = e.dir;
  fs.sync_errno = EIO;
  fs.sticky = true; // every fdatasync fails: the truncation cannot be made durable either
  REQUIRE_FALSE(j->sync().ok());
  CHECK(j->durable_seq() == 5);
  CHECK(j->sendable_seq() == 5);
  auto again = j->append(make_batch(9, 1));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message().find("no appends until the journal is reopened") != std::string::npos);
  j.reset(); // not a clean close: the reservation stays above the journal
  auto file = read_reservation_file(posix_file_system(), dir.path());
  REQUIRE(file.ok());
  CHECK((*file)->seq > 8);
  // The pages of 6..8 may be gone although the host did not reboot: the file's boot id is now
  // unknown, so even the same boot gets the host-crash rule at the next open, not 6 again.
  CHECK((*file)->boot_id == "-");
  recovery_report rep;
  auto reopened = open_ok(reserving(dir), &rep);
  CHECK(rep.skipped.first == 6);
  CHECK(rep.skipped.last == (*file)->seq);
  auto r = reopened->append(make_batch(9, 1));
  REQUIRE(r.ok());
  CHECK(r->first == (*file)->seq + 1);
}

TEST_CASE("journal reserve_step: a failed write after an earlier write was readable skips the reservation too") {
  exposed_journal e;
  auto& j = e.j;
  auto& fs = e.fs;
  fs.write_errno = EIO;
  REQUIRE_FALSE(j->append(make_batch(9, 2)).ok()); // this write fails: 6..8 are rolled back too
  CHECK(j->durable_seq() > 8);
  CHECK(j->skipped().size() == 1);
  CHECK(sendable_read(*j, 6) == 5); // nothing readable in the skipped range
  CHECK(j->open_cursor(6)->next_seq() == j->durable_seq() + 1);
  auto again = j->append(make_batch(6, 1));
  REQUIRE(again.ok());
  CHECK(again->first == j->skipped().front().last + 1); // never seq 6 for another record
}

TEST_CASE("journal reserve_step: a failed write with nothing readable above durable rolls back as before") {
  temp_dir dir;
  fault_fs fs;
  auto j = open_ok(reserving(dir, &fs));
  tandem::journal::test::append_sync(*j, 1, 5);
  fs.write_errno = EIO;
  REQUIRE_FALSE(j->append(make_batch(6, 2)).ok());
  CHECK(j->sendable_seq() == 5);
  auto r = j->append(make_batch(6, 2));
  REQUIRE(r.ok());
  CHECK(r->first == 6); // no one could have read them
}

TEST_CASE("journal reserve_step: a failed fdatasync with nothing readable above durable rolls back as before") {
  temp_dir dir;
  fault_fs faults;
  reserve_failing_fs fs{faults};
  auto j = open_ok(reserving(dir, &fs));
  fs.fail_reserve = true; // the reserve file cannot be written: nothing may be readable early
  REQUIRE(j->append(make_batch(1, 3)).ok());
  CHECK(j->sendable_seq() == 0);
  CHECK(sendable_read(*j, 1) == 0);
  faults.sync_errno = EIO;
  REQUIRE_FALSE(j->sync().ok());
  auto r = j->append(make_batch(1, 2));
  REQUIRE(r.ok());
  CHECK(r->first == 1); // reused: no one could have read them
}

TEST_CASE("skipped file: round trip, merge, limits, damage") {
  const std::vector<seq_range> two{{6, 200}, {301, 400}};
  auto back = decode_skipped(encode_skipped(two), "d/skipped");
  REQUIRE(back.ok());
  CHECK(*back == two);
  CHECK(past_skipped(two, 5) == 5);
  CHECK(past_skipped(two, 6) == 201);
  CHECK(past_skipped(two, 200) == 201);
  CHECK(past_skipped(two, 300) == 300);
  CHECK(past_skipped(two, 350) == 401);
  CHECK(with_skipped(two, {201, 300}) == std::vector<seq_range>{{6, 400}}); // adjacent both sides: one range
  CHECK(with_skipped(two, {6, 200}) == two);                                // the same skip decided again
  CHECK(with_skipped(two, {500, 600}) == std::vector<seq_range>{{6, 200}, {301, 400}, {500, 600}});
  CHECK(with_skipped({}, {1, 1}) == std::vector<seq_range>{{1, 1}});
  // At the limit and one past it.
  std::vector<seq_range> many;
  for (std::uint64_t i = 0; i < max_skipped_ranges; ++i) many.push_back({10 * i + 1, 10 * i + 5});
  REQUIRE(decode_skipped(encode_skipped(many), "d/skipped").ok());
  many.push_back({10 * max_skipped_ranges + 1, 10 * max_skipped_ranges + 5});
  auto over = decode_skipped(encode_skipped(many), "d/skipped");
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().message().find("more than 1024") != std::string::npos);
  // Damage: a flipped byte, a range backwards, overlapping or out of order, seq 0, a 21-digit seq.
  std::string flipped = encode_skipped(two);
  flipped[20] ^= 1;
  CHECK(decode_skipped(flipped, "d/skipped").error().message().find("d/skipped") != std::string::npos);
  for (const auto& body : {std::string{"tandem-skipped 1\nskip 9 8\n"}, std::string{"tandem-skipped 1\nskip 1 5\nskip 5 9\n"},
                           std::string{"tandem-skipped 1\nskip 10 20\nskip 1 5\n"}, std::string{"tandem-skipped 1\nskip 0 5\n"},
                           std::string{"tandem-skipped 1\nskip 1 100000000000000000000\n"},
                           std::string{"tandem-skipped 2\n"}, std::string{"tandem-skipped 1\nskip 1\n"}}) {
    CAPTURE(body);
    auto d = decode_skipped(tandem::journal::with_crc_line(body), "d/skipped");
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code() == errc::corruption);
  }
}

TEST_CASE("journal: a gap between segments opens only when the skipped file covers it exactly") {
  temp_dir dir;
  auto o = options_for(dir.path());
  {
    auto j = open_ok(o);
    tandem::journal::test::append_sync(*j, 1, 5);
  }
  // A crash in the middle of a skip: the file and the new segment are there, the extent not yet.
  auto& fs = posix_file_system();
  REQUIRE(write_skipped_file(fs, dir.path(), {{6, 200}}).ok());
  { auto w = fs.open_writable(dir.file(segment_file_name(201))); REQUIRE(w.ok()); }
  SUBCASE("covered: opens, the journal ends at 200") {
    auto j = open_ok(o);
    CHECK(j->durable_seq() == 200);
    auto r = j->append(make_batch(6, 1));
    REQUIRE(r.ok());
    CHECK(r->first == 201);
  }
  SUBCASE("not covered (a missing segment): refused, naming the segment") {
    REQUIRE(write_skipped_file(fs, dir.path(), {{6, 199}}).ok());
    auto j = journal::open(o);
    REQUIRE_FALSE(j.ok());
    CHECK(j.error().code() == errc::corruption);
    CHECK(j.error().message().find("is missing") != std::string::npos);
    std::ostringstream verified;
    CHECK_FALSE(verify(dir.path(), verified).ok());
  }
  SUBCASE("the crash came before the new segment: open finishes the skip") {
    REQUIRE(fs.remove_file(dir.file(segment_file_name(201))).ok());
    recovery_report rep;
    auto j = open_ok(o, &rep);
    CHECK(rep.skipped == seq_range{6, 200});
    CHECK(j->durable_seq() == 200);
    auto r = j->append(make_batch(6, 1));
    REQUIRE(r.ok());
    CHECK(r->first == 201); // not 6, which readers would step over
  }
  SUBCASE("a skipped range over records held, or above the end and not next to it: refused") {
    REQUIRE(fs.remove_file(dir.file(segment_file_name(201))).ok());
    for (const auto& bad : {std::vector<seq_range>{{3, 4}}, std::vector<seq_range>{{10, 20}}}) {
      CAPTURE(bad.front().first);
      REQUIRE(write_skipped_file(fs, dir.path(), bad).ok());
      auto j = journal::open(o);
      REQUIRE_FALSE(j.ok());
      CHECK(j.error().code() == errc::corruption);
      CHECK(j.error().message().find("skips seqs") != std::string::npos);
    }
  }
  SUBCASE("a damaged skipped file: refused, naming it") {
    REQUIRE(fs.write_file_atomic(dir.file("skipped"), "tandem-skipped 1\nskip 6 200\ncrc 00000000\n").ok());
    auto j = journal::open(o);
    REQUIRE_FALSE(j.ok());
    CHECK(j.error().message().find("skipped") != std::string::npos);
  }
}

TEST_CASE("journal reserve_step: a host crash with an empty active segment replaces it above the skipped range") {
  temp_dir dir;
  auto o = reserving(dir);
  o.segment_bytes = 4096;
  std::uint64_t last = 0;
  SUBCASE("after a seal: sealed segments, then an empty active one") {
    auto j = open_ok(o);
    while (j->segments().size() < 3 || j->segments().back().last_seq >= j->segments().back().first_seq)
      last = tandem::journal::test::append_sync(*j, last + 1, 1, 600);
    REQUIRE(j->segments().back().last_seq + 1 == j->segments().back().first_seq); // empty active
  }
  SUBCASE("a journal with no record at all") {
    auto j = open_ok(o);
    REQUIRE(j->segments().size() == 1);
  }
  // Not a clean close: the reservation as a crash leaves it.
  const std::uint64_t base_last = last;
  REQUIRE(write_reservation_file(posix_file_system(), dir.path(), {base_last + 300, boot_a}).ok());
  o.boot_id = boot_b;
  recovery_report rep;
  {
    auto j = open_ok(o, &rep);
    CHECK(rep.skipped == seq_range{base_last + 1, base_last + 300});
    CHECK(j->durable_seq() == base_last + 300);
    CHECK(j->segments().back().first_seq == base_last + 301);
    auto r = j->append(make_batch(1, 1));
    REQUIRE(r.ok());
    CHECK(r->first == base_last + 301);
    REQUIRE(j->sync().ok());
  }
  CHECK_FALSE(posix_file_system().exists(dir.file(segment_file_name(base_last + 1)))); // replaced
  o.boot_id = boot_a;
  auto j = open_ok(o);
  const auto all = tandem::journal::test::read_all(*j, 1);
  REQUIRE(all.size() == base_last + 1);
  CHECK(all.back().seq == base_last + 301);
  std::ostringstream verified;
  CHECK_MESSAGE(verify(dir.path(), verified).ok(), verified.str());
}
