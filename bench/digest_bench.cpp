// digest_bench: what an anti-entropy digest costs (issue 17, part 7; docs/performance.md
// "Anti-entropy digests"). Writes N records of one origin (payload P bytes) into a journal in a
// temp dir with the journal API, then times the node's own scan (scan_digest_json: a cursor over
// every durable record, the content crc of each record of the origin, 64 buckets) twice -- cold
// as far as this process goes, then with the segments in the page cache -- and the CPU part alone
// (digest_builder::add_encoded over records already in memory). Then the receiving side of an
// anti-entropy repair: K repair_batches of 1000 records each planned against that journal, once
// with a full scan per batch (repair_plan) and once through a repair_planner (its index built by
// the first batch, extended by the later ones).
//
//   digest_bench [--records N] [--payload BYTES] [--dir DIR] [--repair-batches K]
//                (defaults 1000000, 100, /tmp, 10)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "actors/digest_scanner.hpp"
#include "actors/repair_scan.hpp"
#include "journal/journal.hpp"
#include "journal/reader.hpp"

namespace {

using bench_clock = std::chrono::steady_clock;

double seconds_since(bench_clock::time_point t0) {
  return std::chrono::duration<double>(bench_clock::now() - t0).count();
}

// Appends n records of origin "A" in batches of 4096, each batch made durable.
bool fill(tandem::journal::journal& j, std::uint64_t n, std::size_t payload) {
  std::vector<tandem::journal::record> batch;
  for (std::uint64_t i = 1; i <= n; ++i) {
    tandem::journal::record r;
    r.origin = "A";
    r.origin_seq = i;
    r.publisher = "bench";
    r.publisher_seq = i;
    r.topic = "bench.topic";
    r.payload.assign(payload, static_cast<char>('a' + i % 26));
    batch.push_back(std::move(r));
    if (batch.size() == 4096 || i == n) {
      if (!j.append(batch).ok() || !j.sync().ok())
        return false;
      batch.clear();
    }
  }
  return true;
}

// The CPU part: every record read once into memory, then only add_encoded is timed.
double cpu_seconds(const tandem::journal::journal& j, std::uint64_t n) {
  std::vector<tandem::journal::chunk_slice> slices;
  auto c = j.open_cursor(j.first_seq());
  while (c) {
    auto s = c->read_slices(4096, 4u << 20);
    if (!s || s->empty())
      break;
    slices.insert(slices.end(), s->begin(), s->end());
  }
  tandem::anti_entropy::digest_builder b({"A", 1, n, 64});
  const auto t0 = bench_clock::now();
  for (const auto& s : slices)
    for (std::uint32_t i = 0; i < s.count; ++i)
      b.add_encoded(s.chunk->record_bytes(s.first + i));
  return seconds_since(t0);
}

// K repair_batches of 1000 records of origin "C" (none held here), planned both ways.
void repair_figures(const tandem::journal::journal& j, std::uint64_t k) {
  std::vector<std::vector<tandem::journal::record>> batches(k);
  for (std::uint64_t b = 0; b < k; ++b)
    for (std::uint64_t i = 1; i <= 1000; ++i) {
      tandem::journal::record r;
      r.origin = "C";
      r.origin_seq = b * 1000 + i;
      r.publisher = "pc";
      r.publisher_seq = b * 1000 + i;
      batches[b].push_back(std::move(r));
    }
  std::vector<tandem::logic::verdict> v;
  bool ok = true;
  auto t0 = bench_clock::now();
  for (const auto& b : batches)
    ok = tandem::repair_plan(j, b, v).empty() && ok;
  const double full = seconds_since(t0);
  tandem::repair_planner planner;
  t0 = bench_clock::now();
  double first = 0;
  for (const auto& b : batches) {
    ok = planner.plan(j, b, v).empty() && ok;
    if (first == 0)
      first = seconds_since(t0);
  }
  const double indexed = seconds_since(t0);
  std::printf("repair plan, %llu batches of 1000: full scan per batch %.3f s (%.4f s a batch); indexed %.3f s "
              "(first batch %.4f s, then %.5f s a batch; index %zu entries)%s\n",
              static_cast<unsigned long long>(k), full, full / static_cast<double>(k), indexed, first,
              k > 1 ? (indexed - first) / static_cast<double>(k - 1) : 0.0, planner.index().entries(), ok ? "" : " FAILED");
}

} // namespace

int main(int argc, char** argv) {
  std::uint64_t records = 1000000;
  std::size_t payload = 100;
  std::string parent = "/tmp";
  std::uint64_t repair_batches = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--records")
      records = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--payload")
      payload = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--dir")
      parent = argv[i + 1];
    else if (flag == "--repair-batches")
      repair_batches = std::strtoull(argv[i + 1], nullptr, 10);
  }
  const auto dir = std::filesystem::path(parent) / ("digest-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  tandem::journal::journal_options o;
  o.dir = dir.string();
  o.instance_name = "B";
  int rc = 1;
  if (auto j = tandem::journal::journal::open(o); j && records > 0 && fill(**j, records, payload)) {
    tandem::anti_entropy::digest_query q{{"A", 1, records, 64}, true};
    std::uint64_t bytes = 0;
    for (const auto& s : (*j)->segments())
      bytes += s.bytes;
    const double per_m = 1e6 / static_cast<double>(records);
    for (const char* run : {"scan 1", "scan 2"}) {
      const auto t0 = bench_clock::now();
      const auto json = tandem::scan_digest_json(**j, q);
      const double s = seconds_since(t0);
      std::printf("%s: %llu records, %.1f MB, %.3f s (%.3f s per million records)%s\n", run,
                  static_cast<unsigned long long>(records), static_cast<double>(bytes) / 1e6, s, s * per_m,
                  json.find("\"error\"") != std::string::npos ? " FAILED" : "");
    }
    const double cpu = cpu_seconds(**j, records);
    std::printf("content crc + bucket hash alone: %.3f s per million records\n", cpu * per_m);
    if (repair_batches > 0)
      repair_figures(**j, repair_batches);
    rc = 0;
  } else {
    std::fprintf(stderr, "digest_bench: could not write the journal in %s\n", dir.c_str());
  }
  std::filesystem::remove_all(dir);
  return rc;
}
