// actors/repair_scan.cpp with a real journal in a temp dir: the receiver's repair plan through a
// repair_planner (an index kept across repair_batches) decides as a full scan of the journal does;
// journal::stop_scans ends every walk (the node's shutdown); a dropped scan_interest ends its own.
#include <vector>

#include <doctest/doctest.h>

#include "actors/digest_scanner.hpp"
#include "actors/repair_scan.hpp"
#include "journal/journal.hpp"
#include "tests/actors/logic/publish_record.hpp"
#include "tests/journal/test_util.hpp"

using namespace tandem;

namespace {

// A journal in a temp dir holding records 1..100 of its own origin ("node-a"), durable.
struct hundred_records {
  journal::test::temp_dir dir;
  std::unique_ptr<journal::journal> log;
  hundred_records() {
    auto opened = journal::journal::open(journal::test::options_for(dir.path()));
    REQUIRE(opened);
    log = std::move(*opened);
    REQUIRE(log->append(journal::test::make_batch(1, 100)).ok());
    REQUIRE(log->sync().ok());
  }
};

} // namespace

TEST_CASE("repair_planner: the verdicts of a full scan, from an index extended only by what became durable since") {
  journal::test::temp_dir dir;
  auto opened = journal::journal::open(journal::test::options_for(dir.path()));
  REQUIRE(opened);
  auto& log = **opened;
  const auto rec = [](const char* origin, std::uint64_t seq, const char* publisher, std::uint64_t pseq) {
    auto r = test::publish_record(publisher, pseq);
    r.origin = origin;
    r.origin_seq = seq;
    r.path = {origin};
    return r;
  };
  // This node holds C:1..3 (publisher pc 1..3) and its own record of publisher pc seq 9.
  const std::vector<journal::record> held{rec("C", 1, "pc", 1), rec("C", 2, "pc", 2), rec("C", 3, "pc", 3),
                                          test::publish_record("pc", 9)}; // the last one published here
  REQUIRE(log.append(held).ok());
  REQUIRE(log.sync().ok());
  // The batch: held C:2, missing C:4, the message pc/9 under origin C (held as node-a's), missing C:6
  // without a publisher seq, and C:4 again (a repeat within the batch).
  std::vector<journal::record> batch{rec("C", 2, "pc", 2), rec("C", 4, "pc", 4), rec("C", 5, "pc", 9),
                                     rec("C", 6, "", 0), rec("C", 4, "pc", 4)};
  using logic::verdict;
  const std::vector<verdict> expected{verdict::duplicate, verdict::store, verdict::duplicate, verdict::store,
                                      verdict::duplicate};
  std::vector<verdict> full, indexed;
  REQUIRE(repair_plan(log, batch, full) == "");
  CHECK(full == expected);
  repair_planner planner;
  REQUIRE(planner.plan(log, batch, indexed) == "");
  CHECK(indexed == expected);
  CHECK(planner.index().scanned_through() == log.durable_seq());

  // C:4 and C:6 stored (as the repair would): the next plan reads only them and holds everything.
  const std::vector<journal::record> stored{rec("C", 4, "pc", 4), rec("C", 6, "", 0)};
  REQUIRE(log.append(stored).ok());
  REQUIRE(log.sync().ok());
  REQUIRE(planner.plan(log, batch, indexed) == "");
  CHECK(indexed == std::vector<verdict>(batch.size(), verdict::duplicate));
  REQUIRE(repair_plan(log, batch, full) == "");
  CHECK(full == indexed);
  CHECK(planner.index().scanned_through() == log.durable_seq());
  CHECK(planner.full_scans() == 0);

  repair_planner tiny(2); // an index over its bound falls back to the full scan, with the same verdicts
  REQUIRE(tiny.plan(log, batch, indexed) == "");
  CHECK(indexed == full);
  CHECK(tiny.full_scans() == 1);
  CHECK(tiny.index().entries() == 0);
}

TEST_CASE("stop_scans: a walk over the journal ends at its next record with errc::stopped; digests, repair reads and "
          "plans fail with the reason; appends and cursors go on") {
  hundred_records h;
  auto& log = *h.log;

  std::size_t visited = 0;
  REQUIRE(visit_durable(log, log.first_seq(), [&](std::string_view) { return ++visited > 0; }).ok());
  CHECK(visited == 100);

  // The stop comes from another thread in the node (tandemd's main at its first signal); here from
  // the visitor itself, after the 10th record: the 11th is not visited.
  visited = 0;
  auto st = visit_durable(log, log.first_seq(), [&](std::string_view) {
    if (++visited == 10)
      log.stop_scans();
    return true;
  });
  CHECK(visited == 10);
  CHECK(st.code() == journal::errc::stopped);
  CHECK(st.to_string().find("the node is shutting down") != std::string::npos);
  CHECK(log.scans_stopped());

  // Every later walk ends before its first record, and each of the scanner's answers says why.
  visited = 0;
  CHECK(visit_durable(log, log.first_seq(), [&](std::string_view) { return ++visited > 0; }).code() ==
        journal::errc::stopped);
  CHECK(visited == 0);
  anti_entropy::digest_query q;
  q.request = {"node-a", log.base_seq(), log.base_seq() + 99, 8};
  q.to_given = true;
  CHECK(scan_digest(log, q).error.find("the node is shutting down") != std::string::npos);
  CHECK(read_repair(log, {"node-a", log.base_seq(), log.base_seq() + 99, 1 << 20}, "B").error.find(
          "the node is shutting down") != std::string::npos);
  std::vector<logic::verdict> verdicts;
  const std::vector<journal::record> batch{journal::test::make_record(1)};
  CHECK(repair_plan(log, batch, verdicts).find("the node is shutting down") != std::string::npos);
  repair_planner planner;
  CHECK(planner.plan(log, batch, verdicts).find("the node is shutting down") != std::string::npos);

  // Not a journal failure: appends, syncs and cursors are unaffected.
  REQUIRE(log.append(journal::test::make_batch(101, 5)).ok());
  REQUIRE(log.sync().ok());
  CHECK(journal::test::read_all(log).size() == 105);
}

TEST_CASE("scan_interest: a walk ends at its next record once its asker dropped it, and a dropped one is not scanned; "
          "walks of other askers go on") {
  hundred_records h;
  auto& log = *h.log;

  // The asker's connection ends while its scan runs (the drop comes from the connection's thread;
  // here from the visitor, after the 10th record): the 11th is not visited.
  logic::scan_interest gone;
  std::size_t visited = 0;
  auto st = visit_durable(
    log, log.first_seq(),
    [&](std::string_view) {
      if (++visited == 10)
        gone.drop();
      return true;
    },
    &gone);
  CHECK(visited == 10);
  CHECK(st.code() == journal::errc::stopped);
  CHECK(st.to_string().find("the asker is gone") != std::string::npos);
  CHECK_FALSE(log.scans_stopped()); // only this asker's walks end, not the node's

  // Queued before the drop, run after it: nothing is read.
  visited = 0;
  CHECK(visit_durable(log, log.first_seq(), [&](std::string_view) { return ++visited > 0; }, &gone).code() ==
        journal::errc::stopped);
  CHECK(visited == 0);
  anti_entropy::digest_query q;
  q.request = {"node-a", log.base_seq(), log.base_seq() + 99, 8};
  q.to_given = true;
  CHECK(scan_digest(log, q, &gone).error.find("the asker is gone") != std::string::npos);

  // Another asker, still connected, and one without an interest (GET /digest): whole walks.
  logic::scan_interest wanted;
  visited = 0;
  REQUIRE(visit_durable(log, log.first_seq(), [&](std::string_view) { return ++visited > 0; }, &wanted).ok());
  CHECK(visited == 100);
  const logic::scan_interest* const askers[] = {&wanted, nullptr};
  for (const auto* interest : askers) {
    const auto d = scan_digest(log, q, interest);
    CHECK(d.error.empty());
    std::uint64_t held = 0;
    for (const auto& b : d.digest.buckets)
      held += b.count;
    CHECK(held == 100);
  }
}
