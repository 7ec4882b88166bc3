#include "test_util.hpp"

#include <chrono>
#include <thread>

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "journal/reader.hpp"

namespace tandem::journal::test {

std::unique_ptr<journal> open_ok(const journal_options& o, recovery_report* rep) {
  auto j = journal::open(o, rep);
  REQUIRE_MESSAGE(j.ok(), j.error().to_string());
  return std::move(j).value();
}

std::uint64_t append_sync(journal& j, std::uint64_t first_tag, std::size_t n, std::size_t payload_bytes) {
  const auto batch = make_batch(first_tag, n, payload_bytes);
  auto r = j.append(batch);
  REQUIRE_MESSAGE(r.ok(), r.error().to_string());
  auto d = j.sync();
  REQUIRE_MESSAGE(d.ok(), d.error().to_string());
  return *d;
}

std::vector<record> read_all(const journal& j, std::uint64_t from) {
  auto c = j.open_cursor(from);
  REQUIRE_MESSAGE(c.ok(), c.error().to_string());
  std::vector<record> all;
  for (;;) {
    auto got = c->read(100, 1 << 20);
    REQUIRE_MESSAGE(got.ok(), got.error().to_string());
    if (got->empty()) break;
    for (auto& r : *got) all.push_back(std::move(r));
  }
  return all;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

namespace {

class fault_writable final : public forwarding_writable_file {
public:
  fault_writable(fault_fs& fs, std::unique_ptr<writable_file> inner)
      : forwarding_writable_file(std::move(inner)), fs_(fs) {}
  status append(std::string_view data) override {
    ++fs_.writes;
    if (int e = fs_.take(fs_.write_errno); e != 0) {
      const std::size_t part = std::min<std::size_t>(fs_.partial_bytes, data.size());
      if (part > 0) (void)target().append(data.substr(0, part));
      return status::from_errno(e, "write " + path() + " offset " + std::to_string(size()));
    }
    return target().append(data);
  }
  status sync() override {
    if (const int ms = fs_.sync_delay_ms.load(); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    if (int e = fs_.take(fs_.sync_errno); e != 0) return status::from_errno(e, "fdatasync " + path());
    ++fs_.syncs;
    return target().sync();
  }
  status truncate(std::uint64_t size) override {
    if (int e = fs_.take(fs_.truncate_errno); e != 0) return status::from_errno(e, "truncate " + path());
    return target().truncate(size);
  }

private:
  fault_fs& fs_;
};

} // namespace

result<std::unique_ptr<writable_file>> fault_fs::open_writable(const std::string& path) {
  auto f = target().open_writable(path);
  if (!f) return f.error();
  return std::unique_ptr<writable_file>(new fault_writable(*this, std::move(*f)));
}

status gated_atomic_fs::write_file_atomic(const std::string& path, std::string_view data) {
  if (std::filesystem::path(path).filename() != name_) return forwarding_file_system::write_file_atomic(path, data);
  std::unique_lock lock(mu_);
  ++waiting_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return open_; });
  --waiting_;
  if (fail) return {errc::io_error, "injected: write of " + path + " failed"};
  return forwarding_file_system::write_file_atomic(path, data);
}

bool gated_atomic_fs::wait_for_writer() {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::seconds{10}, [&] { return waiting_ > 0; });
}

bool gated_atomic_fs::writer_waiting() {
  std::lock_guard lock(mu_);
  return waiting_ > 0;
}

void gated_atomic_fs::set_open(bool open) {
  std::lock_guard lock(mu_);
  open_ = open;
  cv_.notify_all();
}

} // namespace tandem::journal::test
