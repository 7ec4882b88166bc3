// The `--json FILE` document every benchmark writes for scripts: one writer for all of them. The
// text output is for people and stays as it is; this is the same run as data. Header-only on top
// of bench_util.hpp; needs nlohmann_json.
//
// The document, written once at the end of the run, also when a phase failed:
//   {
//     "bench": "journal_bench",
//     "command_line": ["./journal_bench", "--seconds", "1", "--json", "out.json"],
//     "started_utc": "2026-12-04T17:02:03Z", "finished_utc": "2026-12-04T17:02:09Z",
//     "ok": true, "error": null,         // after a failure: false and what failed
//     "machine": {"cpu": "AMD EPYC", "cores": 2, "kernel": "Linux 6.18.44", "dir": "/tmp/x",
//                 "filesystem": "ext2/3/4", "loadavg": [1.87, 1.35, 1.46]},
//     "settings": {"seconds_per_phase": 1, ...},          // the run's parameters
//     "phases": [{"phase": "outstanding-1", "records_per_s": 4511, "p50_us": 195, ...}, ...],
//     "targets": [{"target": "256 outstanding MB/s >= 80% of raw", "met": true, "value": 0.82,
//                  "limit": 0.8, "unit": "ratio"}, ...],
//     "loadavg_end": [2.1, 1.5, 1.4]
//   }
// "phases" holds the phases done, in the order they finished: a failed run has those before the
// failure and no targets judged after it. Figures are numbers with their unit in the key (_us,
// _ms, _s, _per_s, _mib, _bytes, _pct, _cores; _x_OTHER: times the other figure); a few are labels
// (a phase's "setup", "what"). A target's value and limit share its "unit" ("ratio", "ms", "s",
// "MiB", "pct", "bytes"); "met" is the verdict the text prints as MET/MISSED; an optional
// "detail" object holds the further figures the text prints on the target's line. A figure that
// cannot be computed (0/0) is null.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "bench/bench_util.hpp"
#include "journal/file_io.hpp"

namespace tandem::bench {

// The temp file write_file_atomically() writes before renaming it over `path` (the journal's
// file_system::write_file_atomic names it so): beside it, so the rename stays within one filesystem.
inline std::string atomic_temp_path(const std::string& path) { return path + ".tmp"; }

// Writes `text` to `path` so that a reader sees the old file or the whole new one, never a part:
// the journal's write_file_atomic (temp file, fsync, rename, fsync of the directory). Returns what
// failed, or "".
inline std::string write_file_atomically(const std::string& path, const std::string& text) {
  auto s = journal::posix_file_system().write_file_atomic(path, text);
  if (s) return {};
  ::unlink(atomic_temp_path(path).c_str()); // a failed write may leave it
  return s.to_string();
}

// Whether write_file_atomically(path, ...) can succeed, asked before a run that may take minutes:
// creates and removes its temp file, and refuses a directory. Returns what is wrong, or "".
inline std::string check_writable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return path + " is a directory";
  const std::string tmp = atomic_temp_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_text("cannot create " + tmp);
  ::close(fd);
  ::unlink(tmp.c_str());
  return {};
}

// "2026-12-04T17:02:03Z"
inline std::string utc_now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

// "1.87 1.35 1.46" -> [1.87, 1.35, 1.46]
inline nlohmann::ordered_json loadavg_numbers(const std::string& text) {
  auto out = nlohmann::ordered_json::array();
  std::istringstream in(text);
  for (double v; in >> v;) out.push_back(v);
  return out;
}

// The run's document, filled as the run goes (on the benchmark's main thread only) and written
// by run() at its end.
class json_report {
public:
  using json = nlohmann::ordered_json;

  json_report(std::string bench, int argc, char** argv) : bench_(std::move(bench)) {
    doc_["bench"] = bench_;
    doc_["command_line"] = json::array();
    for (int i = 0; i < argc; ++i) doc_["command_line"].push_back(argv[i]);
    doc_["started_utc"] = utc_now_iso8601();
    doc_["finished_utc"] = nullptr;
    doc_["ok"] = false;
    doc_["error"] = nullptr;
    doc_["machine"] = json::object();
    doc_["settings"] = json::object();
    doc_["phases"] = json::array();
    doc_["targets"] = json::array();
  }

  // --json FILE, if given: where run() writes the document, checked now (check_writable), so a
  // long run does not end in a file it cannot write. On a problem says so on stderr and returns
  // false (the benchmark then exits 2, like for a usage error).
  bool set_output(const std::optional<std::string>& path) {
    if (!path) return true;
    std::string err = path->empty() ? "needs a file name" : check_writable(*path);
    if (!err.empty()) {
      std::fprintf(stderr, "%s: --json %s: %s\n", bench_.c_str(), path->c_str(), err.c_str());
      return false;
    }
    path_ = *path;
    return true;
  }

  // Reads the machine facts of `dir` into the document; returns the machine line the text prints.
  std::string machine(const std::string& dir) {
    const auto m = read_machine_facts(dir);
    auto& j = doc_["machine"];
    j["cpu"] = m.cpu;
    j["cores"] = m.cores;
    j["kernel"] = m.kernel;
    j["dir"] = m.dir;
    j["filesystem"] = m.filesystem;
    j["loadavg"] = loadavg_numbers(m.loadavg);
    return machine_line(m);
  }
  // A further machine fact a benchmark prints (journal_bench: the CRC32C implementation).
  void machine_fact(const std::string& key, json value) { doc_["machine"][key] = std::move(value); }

  void settings(const json& s) { doc_["settings"].update(s); }

  // A phase done, with its figures (an object of numbers, units in the keys).
  void phase(const std::string& name, const json& figures) {
    json p = {{"phase", name}};
    p.update(figures);
    doc_["phases"].push_back(std::move(p));
  }

  // A target judged: recorded, and its verdict returned for the text ("MET   " or "MISSED").
  // `detail`: further figures the text prints with it (an object, units in the keys).
  const char* target(const std::string& what, bool met, double value, double limit, const std::string& unit,
                     const json& detail = json::object()) {
    json t = {{"target", what}, {"met", met}, {"value", value}, {"limit", limit}, {"unit", unit}};
    if (!detail.empty()) t["detail"] = detail;
    doc_["targets"].push_back(std::move(t));
    return met ? "MET   " : "MISSED";
  }

  const json& document() const { return doc_; }
  // The document as written: indented; bytes that are not UTF-8 (a CPU model, an argument) become
  // U+FFFD instead of failing the write.
  std::string text() const { return doc_.dump(2, ' ', false, json::error_handler_t::replace) + "\n"; }

  // Runs the benchmark's body and returns the exit code: the body's, 1 after an exception (its
  // message printed as "BENCH: what" and recorded as the run's error), and 1 when the document
  // cannot be written (said on stderr). The document is written, if --json asked for it, whatever
  // the body did short of ending the process.
  template <class Body>
  int run(Body&& body) {
    int rc = 1;
    try {
      rc = body();
      if (rc != 0) doc_["error"] = "exit code " + std::to_string(rc);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", bench_.c_str(), e.what());
      doc_["error"] = e.what();
    }
    doc_["ok"] = rc == 0;
    doc_["finished_utc"] = utc_now_iso8601();
    doc_["loadavg_end"] = loadavg_numbers(load_average());
    if (path_.empty()) return rc;
    if (auto err = write_file_atomically(path_, text()); !err.empty()) {
      std::fprintf(stderr, "%s: --json %s: %s\n", bench_.c_str(), path_.c_str(), err.c_str());
      return rc != 0 ? rc : 1;
    }
    return rc;
  }

private:
  std::string bench_;
  std::string path_; // empty: no --json
  json doc_;
};

} // namespace tandem::bench
