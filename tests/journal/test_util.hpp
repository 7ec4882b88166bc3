// Helpers shared by the journal tests: a temporary directory, record factories, and a
// fault-injecting file_system (like LevelDB's fault_injection_test Env) that fails writes or
// fdatasyncs with a chosen errno, optionally after writing part of the data.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "journal/file_io.hpp"
#include "journal/journal.hpp"
#include "journal/record_codec.hpp"

namespace tandem::journal::test {

class temp_dir {
public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tandem-journal-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

inline record make_record(std::uint64_t i, std::size_t payload_bytes = 32) {
  record r;
  r.publisher = "pub-" + std::to_string(i % 3);
  r.publisher_seq = i;
  r.path = {"node-a"};
  r.timestamp_ns = 1'700'000'000'000'000'000LL + static_cast<std::int64_t>(i);
  r.topic = "orders/" + std::to_string(i % 5);
  r.payload.assign(payload_bytes, static_cast<char>('a' + i % 26));
  if (!r.payload.empty()) r.payload[0] = static_cast<char>('0' + i % 10);
  return r;
}

inline std::vector<record> make_batch(std::uint64_t first, std::size_t n, std::size_t payload_bytes = 32) {
  std::vector<record> b;
  for (std::size_t i = 0; i < n; ++i) b.push_back(make_record(first + i, payload_bytes));
  return b;
}

inline journal_options options_for(const std::string& dir, std::uint64_t segment_bytes = 1 << 20) {
  journal_options o;
  o.dir = dir;
  o.instance_name = "node-a";
  o.segment_bytes = segment_bytes;
  o.tail_window_bytes = 1 << 20;
  return o;
}

// Opens, failing the test on error.
std::unique_ptr<journal> open_ok(const journal_options& o, recovery_report* rep = nullptr);
// Appends `n` records (one batch) and syncs; returns the durable seq.
std::uint64_t append_sync(journal& j, std::uint64_t first_tag, std::size_t n, std::size_t payload_bytes = 32);
// Reads every record from `from` to the durable end through a cursor.
std::vector<record> read_all(const journal& j, std::uint64_t from = 1);
std::string read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::string& data);

// Fault injection: arm with an errno; the next matching operation fails (write: after writing
// `partial_bytes` of the data for real). `sticky` keeps failing until disarmed.
class fault_fs final : public forwarding_file_system {
public:
  std::atomic<int> write_errno{0};
  std::atomic<int> sync_errno{0};
  std::atomic<int> truncate_errno{0};
  std::atomic<std::size_t> partial_bytes{0};
  std::atomic<bool> sticky{false};
  std::atomic<int> syncs{0};
  std::atomic<int> writes{0};
  std::atomic<int> sync_delay_ms{0}; // each fdatasync first sleeps this long (a slow disk), while set

  result<std::unique_ptr<writable_file>> open_writable(const std::string& path) override;

  // Takes the armed errno for one operation (clearing it unless sticky).
  int take(std::atomic<int>& e) { return sticky ? e.load() : e.exchange(0); }
};

// Passes everything through, but holds each atomic write of files named `name` (write_file_atomic;
// any directory) until set_open(true) (a slow fsync), and fails them while `fail` is set.
class gated_atomic_fs final : public forwarding_file_system {
public:
  explicit gated_atomic_fs(std::string name) : name_(std::move(name)) {}
  status write_file_atomic(const std::string& path, std::string_view data) override;
  // Waits (10 s at most) until a write is held at the gate.
  bool wait_for_writer();
  bool writer_waiting();
  void set_open(bool open);
  std::atomic<bool> fail{false};

private:
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = true;
};

} // namespace tandem::journal::test
