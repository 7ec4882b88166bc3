// Crash safety: a child process appends through the group committer and reports every durable
// seq on a pipe; the parent SIGKILLs it at a random moment, reopens the journal and checks that
// every reported-durable record is present, intact and densely numbered.
//
// What this can and cannot show: SIGKILL loses the process, not the page cache, and a single
// pwrite is not torn by it, so this rarely produces a torn tail (the MESSAGE counts them). Torn
// and zero-filled tails -- what a power loss leaves -- are covered byte by byte in journal_test.cpp.
#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "journal/group_committer.hpp"
#include "journal/reader.hpp"
#include "test_util.hpp"

using namespace tandem::journal;
using namespace tandem::journal::test;

namespace {

std::string payload_for(std::uint64_t seq) {
  std::string p = "payload-" + std::to_string(seq) + "-";
  p.resize(40 + seq % 300, static_cast<char>('a' + seq % 26));
  return p;
}

// The child: never returns. Appends forever with up to 64 outstanding batches.
[[noreturn]] void child_main(const std::string& dir, int fd, unsigned seed) {
  auto jr = journal::open(options_for(dir, 64 * 1024));
  if (!jr) ::_exit(3);
  journal& j = **jr;
  std::uint64_t next = j.durable_seq() + 1;
  std::atomic<int> outstanding{0};
  group_committer gc(j);
  std::mt19937 rng(seed);
  for (;;) {
    if (outstanding.load() >= 64) {
      std::this_thread::yield();
      continue;
    }
    std::vector<record> batch;
    for (std::size_t i = 1 + rng() % 8; i > 0; --i, ++next) {
      record r;
      r.publisher = "crash";
      r.publisher_seq = next; // with no rejections, seq == publisher_seq
      r.timestamp_ns = static_cast<std::int64_t>(next);
      r.topic = "t";
      r.payload = payload_for(next);
      batch.push_back(std::move(r));
    }
    ++outstanding;
    auto s = gc.submit(std::move(batch), [fd, &outstanding](const result<commit_ok>& r) {
      if (!r) ::_exit(4);
      const std::uint64_t durable = r->durable_seq;
      if (::write(fd, &durable, sizeof durable) != sizeof durable) ::_exit(5);
      --outstanding;
    });
    if (!s) ::_exit(6);
  }
}

} // namespace

TEST_CASE("SIGKILL at random moments never loses a record reported durable (50 rounds)") {
  temp_dir d;
  std::mt19937 rng(12345);
  std::uint64_t total_truncated = 0;
  int rounds_with_tail = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < 50; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_main(d.path(), fds[1], static_cast<unsigned>(round));
    }
    ::close(fds[1]);
    const auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(20 + rng() % 120);
    std::uint64_t reported = 0;
    std::uint64_t buf[512];
    std::size_t carry = 0;
    char* raw = reinterpret_cast<char*>(buf);
    auto drain = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return false;
      const ssize_t n = ::read(fds[0], raw + carry, sizeof buf - carry);
      if (n <= 0) return false;
      carry += static_cast<std::size_t>(n);
      const std::size_t whole = carry / 8;
      for (std::size_t i = 0; i < whole; ++i) reported = std::max(reported, buf[i]);
      std::memmove(raw, raw + whole * 8, carry - whole * 8);
      carry -= whole * 8;
      return true;
    };
    while (std::chrono::steady_clock::now() < kill_at) drain(5);
    ::kill(pid, SIGKILL);
    while (drain(0)) {} // everything the child reported before it died
    int st = 0;
    REQUIRE(::waitpid(pid, &st, 0) == pid);
    ::close(fds[0]);
    REQUIRE_MESSAGE(WIFSIGNALED(st), "child exited early with status " << WEXITSTATUS(st));

    recovery_report rep;
    auto j = open_ok(options_for(d.path(), 64 * 1024), &rep);
    total_truncated += rep.truncated_bytes;
    rounds_with_tail += rep.truncated_bytes > 0;
    REQUIRE(j->durable_seq() >= reported);
    // Check the records this round could have touched, plus the boundary before them.
    const std::uint64_t from = std::max<std::uint64_t>(1, reported > 2000 ? reported - 2000 : 1);
    const auto all = read_all(*j, from);
    REQUIRE(all.size() == j->durable_seq() - from + 1);
    for (std::size_t i = 0; i < all.size(); ++i) {
      REQUIRE(all[i].seq == from + i);
      REQUIRE(all[i].publisher_seq == all[i].seq);
      REQUIRE(all[i].payload == payload_for(all[i].seq));
    }
  }
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("50 crash rounds in " << secs << " s; torn tails truncated in " << rounds_with_tail << " rounds, "
                                << total_truncated << " bytes");
  auto j = open_ok(options_for(d.path(), 64 * 1024));
  CHECK(read_all(*j).size() == j->durable_seq());
}
