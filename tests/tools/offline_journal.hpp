// Writes a stopped node's journal offline through the journal API (tests that make a divergence:
// verify_pair_test, anti_entropy_peer_test).
#pragma once

#include <filesystem>
#include <vector>

#include <doctest/doctest.h>

#include "journal/journal.hpp"
#include "tests/tools/cluster_fixture.hpp"

namespace tandem::test {

// Writes `records` into `node`'s (new, stopped) journal, origins kept, paths cleared.
inline void write_journal(const test_node& node, const std::vector<journal::record>& records) {
  std::filesystem::create_directories(node.data_dir() + "/journal");
  journal::journal_options o;
  o.dir = node.data_dir() + "/journal";
  o.instance_name = node.name();
  auto j = journal::journal::open(o);
  REQUIRE_MESSAGE(j.ok(), j.error().to_string());
  auto copy = records;
  for (auto& r : copy)
    r.path.clear();
  REQUIRE((*j)->append(copy).ok());
  REQUIRE((*j)->sync().ok());
}

} // namespace tandem::test
