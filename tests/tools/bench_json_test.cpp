// The benchmarks' --json document (bench/bench_json.hpp), through journal_bench at its smallest
// settings: the schema a script relies on, figures that agree with the text, a document after a
// failed run, and an unwritable path refused before the run. The writer itself: atomic
// replacement and the phases done when a run throws.
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "bench/bench_json.hpp"
#include "bench/bench_util.hpp"
#include "tests/support/process.hpp"

using namespace tandem::test;
namespace fs = std::filesystem;

namespace {

std::string journal_bench_path() { return std::string{TANDEM_BINARY_DIR} + "/bench/journal_bench"; }

// journal_bench with its smallest settings: one 250 ms slice per phase, a 10 MiB journal to open.
run_result run_journal_bench(const temp_dir& dir, const std::string& json_path, const std::string& bench_dir) {
  return run({journal_bench_path(), "--dir", bench_dir, "--seconds", "0.25", "--open-gib", "0.01", "--json", json_path},
             dir.path(), 60s);
}

nlohmann::json parse_file(const std::string& path) {
  auto doc = nlohmann::json::parse(read_file(path), nullptr, false);
  REQUIRE_MESSAGE(doc.is_object(), "not a JSON object: " << path);
  return doc;
}

// "2026-12-04T17:02:03Z"
bool is_utc_iso8601(const std::string& s) {
  if (s.size() != 20) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char want = i == 4 || i == 7 ? '-' : i == 10 ? 'T' : i == 13 || i == 16 ? ':' : i == 19 ? 'Z' : '0';
    if (want == '0' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != want) return false;
  }
  return true;
}

// The text's table: outstanding -> its columns (records/s, MB/s, p50 us, p99 us, ...).
std::map<int, std::vector<double>> text_rows(const std::string& out) {
  std::map<int, std::vector<double>> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream l(line);
    int outstanding = 0;
    double records_per_s = 0, mb_per_s = 0, p50 = 0, p99 = 0;
    if (l >> outstanding >> records_per_s >> mb_per_s >> p50 >> p99)
      rows[outstanding] = {records_per_s, mb_per_s, p50, p99};
  }
  return rows;
}

std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

} // namespace

TEST_CASE("journal_bench --json writes the bench, machine facts, every phase's figures and the verdicts") {
  temp_dir dir;
  fs::create_directories(dir / "out");
  const auto json_path = dir / "out/journal.json";
  auto r = run_journal_bench(dir, json_path, dir / "bench");
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(entries_of(dir / "out") == std::vector<std::string>{"journal.json"}); // no temp file left
  const auto doc = parse_file(json_path);

  CHECK(doc["bench"] == "journal_bench");
  CHECK(doc["command_line"].size() == 9);
  CHECK(doc["command_line"][7] == "--json");
  CHECK(doc["command_line"][8] == json_path);
  CHECK(is_utc_iso8601(doc["started_utc"].get<std::string>()));
  CHECK(is_utc_iso8601(doc["finished_utc"].get<std::string>()));
  CHECK(doc["ok"] == true);
  CHECK(doc["error"].is_null());

  const auto& m = doc["machine"];
  CHECK(!m["cpu"].get<std::string>().empty());
  CHECK(m["cores"].get<int>() >= 1);
  CHECK(m["kernel"].get<std::string>().rfind("Linux ", 0) == 0);
  CHECK(m["dir"] == dir / "bench");
  CHECK(!m["filesystem"].get<std::string>().empty());
  CHECK(m["loadavg"].size() == 3);
  CHECK((m["crc32c"] == "sse4.2" || m["crc32c"] == "portable"));
  CHECK(doc["settings"]["seconds_per_phase"] == 0.25);

  // Every row of the text's table is a phase with the same figures, as numbers.
  const auto rows = text_rows(r.out);
  REQUIRE(rows.size() == 3);
  REQUIRE(doc["phases"].size() == 4);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& p = doc["phases"][i];
    const int outstanding = p["outstanding"].get<int>();
    CAPTURE(outstanding);
    CHECK(p["phase"] == "outstanding-" + std::to_string(outstanding));
    REQUIRE(rows.count(outstanding) == 1);
    const auto& row = rows.at(outstanding);
    CHECK(p["records_per_s"].get<double>() > 0);
    CHECK(std::round(p["records_per_s"].get<double>()) == doctest::Approx(row[0]).epsilon(0.001));
    CHECK(p["mb_per_s"].get<double>() == doctest::Approx(row[1]).epsilon(0.01));
    CHECK(std::round(p["p50_us"].get<double>()) == doctest::Approx(row[2]).epsilon(0.001));
    CHECK(std::round(p["p99_us"].get<double>()) == doctest::Approx(row[3]).epsilon(0.001));
    for (const char* key : {"records_per_sync", "batch_bytes", "raw_mb_per_s", "raw_p50_us", "mb_per_s_pct_of_raw",
                            "p50_x_raw"})
      CHECK_MESSAGE(p[key].is_number(), key);
  }
  const auto& open = doc["phases"][3];
  CHECK(open["phase"] == "open");
  CHECK(open["records"].get<std::uint64_t>() > 0);
  CHECK(open["open_s"].is_number());

  // The two table targets and the open target, each with its verdict, value and limit.
  REQUIRE(doc["targets"].size() == 3);
  for (const auto& t : doc["targets"]) {
    CAPTURE(t.dump());
    CHECK(!t["target"].get<std::string>().empty());
    CHECK(t["met"].is_boolean());
    CHECK(t["value"].is_number());
    CHECK(t["limit"].is_number());
    CHECK(t["unit"].is_string());
  }
  const auto& bandwidth = doc["targets"][0];
  CHECK(bandwidth["limit"] == 0.8);
  CHECK(bandwidth["value"].get<double>() ==
        doctest::Approx(doc["phases"][2]["mb_per_s"].get<double>() / doc["phases"][2]["raw_mb_per_s"].get<double>()));
  CHECK(bandwidth["met"] == (bandwidth["value"].get<double>() >= 0.8));
  const auto& open_target = doc["targets"][2];
  CHECK(open_target["value"] == open["open_s"]);
  CHECK(open_target["met"] == (open["open_s"].get<double>() < 3));
}

TEST_CASE("journal_bench refuses an unwritable --json path before running, exiting non-zero with a message") {
  temp_dir dir;
  write_file(dir / "a-file", "x");
  for (const auto& path : {dir / "a-file/out.json", dir / "no-such-dir/out.json", dir.path()}) {
    CAPTURE(path);
    auto r = run_journal_bench(dir, path, dir / "bench");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("journal_bench: --json " + path + ": ") != std::string::npos);
    CHECK(r.out.find("outstanding") == std::string::npos); // refused before the first phase
  }
  CHECK(!fs::exists(dir / "bench"));
}

TEST_CASE("a failed journal_bench run still writes its document, with the error") {
  temp_dir dir;
  write_file(dir / "a-file", "x");
  const auto json_path = dir / "failed.json";
  auto r = run_journal_bench(dir, json_path, dir / "a-file/bench"); // --dir cannot be created
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("journal_bench: ") != std::string::npos);
  const auto doc = parse_file(json_path);
  CHECK(doc["bench"] == "journal_bench");
  CHECK(doc["ok"] == false);
  CHECK(doc["error"].get<std::string>().find("a-file/bench") != std::string::npos);
  CHECK(doc["phases"].empty());
  CHECK(doc["targets"].empty());
}

TEST_CASE("json_report writes the phases done and the error when a phase throws") {
  temp_dir dir;
  const auto path = dir / "run.json";
  char arg0[] = "some_bench";
  char* argv[] = {arg0};
  tandem::bench::json_report rep("some_bench", 1, argv);
  REQUIRE(rep.set_output(path));
  const int rc = rep.run([&]() -> int {
    rep.phase("first", {{"msg_per_s", 10.5}});
    rep.target("first is fast", true, 10.5, 10, "msg_per_s");
    throw std::runtime_error("second phase: node B exited");
  });
  CHECK(rc == 1);
  const auto doc = parse_file(path);
  CHECK(doc["ok"] == false);
  CHECK(doc["error"] == "second phase: node B exited");
  REQUIRE(doc["phases"].size() == 1);
  CHECK(doc["phases"][0] == nlohmann::json{{"phase", "first"}, {"msg_per_s", 10.5}});
  CHECK(doc["targets"][0] ==
        nlohmann::json{{"target", "first is fast"}, {"met", true}, {"value", 10.5}, {"limit", 10}, {"unit", "msg_per_s"}});
}

TEST_CASE("write_file_atomically replaces the whole file and leaves no temp file") {
  temp_dir dir;
  const auto path = dir / "doc.json";
  write_file(path, std::string(100000, 'o'));
  CHECK(tandem::bench::write_file_atomically(path, "{\"new\": true}\n").empty());
  CHECK(read_file(path) == "{\"new\": true}\n");
  CHECK(entries_of(dir.path()) == std::vector<std::string>{"doc.json"});
  // A path it cannot write is reported, naming it.
  const auto err = tandem::bench::write_file_atomically(dir / "missing/doc.json", "x");
  CHECK(err.find("missing/doc.json") != std::string::npos);
}

TEST_CASE("bench_util: percent_above counts the samples strictly above the threshold, in percent") {
  CHECK(tandem::bench::percent_above({}, 1000) == 0);
  std::vector<double> v(200, 400.0); // 200 messages at 400 us
  CHECK(tandem::bench::percent_above(v, 1000) == 0);
  v[7] = 1000;                      // at the threshold: not above it
  CHECK(tandem::bench::percent_above(v, 1000) == 0);
  v[8] = 1000.5;
  v[9] = 8600; // one stall of 8.6 ms
  CHECK(tandem::bench::percent_above(v, 1000) == doctest::Approx(1.0));
  CHECK(tandem::bench::percent_above(v, 300) == doctest::Approx(100.0));
}
