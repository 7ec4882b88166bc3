// chaos_client: the client processes of the chaos test (tests/tools/client_chaos_test.cpp), built
// on the failover client library. Each is SIGKILLed and restarted at random by the test, so all
// it knows survives in files in its directory DIR:
//
//   chaos_client publish NAME SERVERS DIR RATE
//       An ha_publisher named NAME over SERVERS ("h:p,h:p"), with a file publish store in
//       DIR/store, publishing about RATE messages a second with payload "NAME:SEQ". Appends to
//       DIR/acked.log "acked N" whenever the acked prefix moves (everything <= N was acked by a
//       persisted_ack, or a persisted_partial while a sync destination was downgraded: either is
//       an ack the application may rely on), "partial K" when K more persisted_partial acks came
//       since the last such line, and "refused SEQ" for a negative ack. When DIR/stop
//       exists it stops publishing, waits until every stored message is acked and held by every
//       sync destination (the store empty), writes "done LAST_SEQ" and exits 0.
//   chaos_client subscribe SERVERS DIR
//       An ha_subscriber over SERVERS for every topic. Appends one line per delivered message to
//       DIR/out.log: "PUBLISHER PSEQ ORIGIN OSEQ PAYLOAD". At startup it cuts a torn last line and
//       rebuilds its bookmark from out.log (per origin, and per publisher the highest seq
//       delivered), so what it delivered is exactly what out.log holds. Exits 0 on SIGTERM.
//
// Exit 2 on bad arguments, 1 on an unexpected failure (printed to stderr).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "client/bookmark.hpp"
#include "client/file_publish_store.hpp"
#include "client/ha_publisher.hpp"
#include "client/ha_subscriber.hpp"
#include "client/server_list.hpp"

using namespace std::chrono_literals;
using namespace tandem;

namespace {

std::atomic<bool> terminate_requested{false};

void on_sigterm(int) { terminate_requested = true; }

// Appends whole lines with one write(2) each: what a SIGKILL interrupts is at most the line
// being written, which the next start cuts.
class line_log {
public:
  explicit line_log(const std::string& path) : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644)) {
    if (fd_ < 0)
      throw std::runtime_error("cannot open " + path);
  }
  ~line_log() { ::close(fd_); }
  void write(const std::string& line) {
    std::string l = line + "\n";
    if (::write(fd_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
      throw std::runtime_error("short write");
  }

private:
  int fd_;
};

std::vector<client::server_address> servers_of(const std::string& text) {
  auto parsed = client::parse_servers(text);
  if (parsed.servers.empty())
    throw std::invalid_argument("bad server list: " + text);
  return parsed.servers;
}

// Everything <= the returned seq has been answered: no held message below it still waits for its
// ack (a message acked partially stays in the store, marked persisted, until it is complete).
std::uint64_t acked_prefix(const client::publish_store& store) {
  for (const auto& [seq, m] : store.held())
    if (!m.persisted)
      return seq - 1;
  return store.last_seq();
}

client::failover_options quick_failover() {
  client::failover_options f;
  f.backoff.initial = 50ms;
  f.backoff.max = 500ms;
  f.connect_timeout = 1000ms;
  return f;
}

int publish(const std::string& name, const std::string& servers, const std::string& dir, double rate) {
  auto opened = client::file_publish_store::open(dir + "/store");
  if (!opened.store) {
    std::fprintf(stderr, "chaos_client: store: %s\n", opened.error ? opened.error->message.c_str() : "?");
    return 1;
  }
  auto& store = *opened.store;
  line_log acked{dir + "/acked.log"};
  client::ha_publisher_options o;
  o.name = name;
  o.servers = servers_of(servers);
  o.failover = quick_failover();
  o.window = 256;
  o.on_rejected = [&](const client::rejection& r) { acked.write("refused " + std::to_string(r.publisher_seq)); };
  client::ha_publisher pub{o, store};
  std::uint64_t logged = 0, partial_logged = 0;
  auto log_acks = [&] {
    if (acked_prefix(store) > logged) {
      logged = acked_prefix(store);
      acked.write("acked " + std::to_string(logged));
    }
    if (pub.counters().partial > partial_logged) {
      acked.write("partial " + std::to_string(pub.counters().partial - partial_logged));
      partial_logged = pub.counters().partial;
    }
  };
  const auto gap = std::chrono::duration<double>(1.0 / rate);
  auto next_at = std::chrono::steady_clock::now();
  while (!std::filesystem::exists(dir + "/stop")) {
    auto seq = pub.next_seq();
    auto got = pub.publish("chaos." + name, name + ":" + std::to_string(seq), 2s);
    if (pub.failed()) {
      std::fprintf(stderr, "chaos_client: %s: %s\n", name.c_str(), pub.error().c_str());
      return 1;
    }
    if (got && *got != seq) {
      std::fprintf(stderr, "chaos_client: %s: payload says %llu but the seq is %llu\n", name.c_str(),
                   static_cast<unsigned long long>(seq), static_cast<unsigned long long>(*got));
      return 1;
    }
    log_acks();
    next_at += std::chrono::duration_cast<std::chrono::steady_clock::duration>(gap);
    std::this_thread::sleep_until(next_at); // pacing the load, not waiting for anything
  }
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!pub.wait_all(1s)) {
    log_acks();
    if (pub.failed() || std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "chaos_client: %s: not all acked: %s\n", name.c_str(), pub.error().c_str());
      return 1;
    }
  }
  log_acks();
  acked.write("done " + std::to_string(store.last_seq()));
  pub.close();
  return 0;
}

// Cuts a torn last line; returns the file's lines.
std::vector<std::string> read_whole_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return lines;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto end = text.rfind('\n');
  auto keep = end == std::string::npos ? 0 : end + 1;
  if (keep != text.size())
    std::filesystem::resize_file(path, keep);
  std::istringstream s{text.substr(0, keep)};
  for (std::string line; std::getline(s, line);)
    lines.push_back(line);
  return lines;
}

int subscribe(const std::string& servers, const std::string& dir) {
  const std::string out_path = dir + "/out.log";
  client::bookmark position;
  for (const auto& line : read_whole_lines(out_path)) {
    std::istringstream f{line};
    std::string publisher, origin;
    std::uint64_t pseq = 0, oseq = 0;
    if (!(f >> publisher >> pseq >> origin >> oseq)) {
      std::fprintf(stderr, "chaos_client: bad line in %s: %s\n", out_path.c_str(), line.c_str());
      return 1;
    }
    position.advance(origin, oseq);
    position.advance_publisher(publisher, pseq);
  }
  const std::string bookmark_path = dir + "/bookmark";
  if (auto err = client::save_bookmark(bookmark_path, position); !err.empty()) {
    std::fprintf(stderr, "chaos_client: bookmark: %s\n", err.c_str());
    return 1;
  }
  client::ha_subscriber_options o;
  o.client_name = "chaos-subscriber";
  o.servers = servers_of(servers);
  o.failover = quick_failover();
  o.bookmark_file = bookmark_path;
  // out.log is the position; the subscriber must not save one ahead of it.
  o.bookmark_every_records = std::numeric_limits<std::size_t>::max();
  o.bookmark_every = std::chrono::hours{24 * 365};
  client::ha_subscriber sub{o};
  if (auto err = sub.open(); !err.empty()) {
    std::fprintf(stderr, "chaos_client: open: %s\n", err.c_str());
    return 1;
  }
  line_log out{out_path};
  while (!terminate_requested) {
    auto d = sub.next(200ms);
    if (!d)
      continue; // (the subscriber itself drops a copy of a message under another origin)
    out.write(d->publisher_id + " " + std::to_string(d->publisher_seq) + " " + d->origin_instance + " " +
              std::to_string(d->origin_seq) + " " + d->payload);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  ::signal(SIGTERM, on_sigterm);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "publish" && argc == 6)
      return publish(argv[2], argv[3], argv[4], std::stod(argv[5]));
    if (mode == "subscribe" && argc == 4)
      return subscribe(argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chaos_client: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: chaos_client publish NAME SERVERS DIR RATE | subscribe SERVERS DIR\n");
  return 2;
}
