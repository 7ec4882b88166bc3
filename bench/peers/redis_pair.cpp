#include "bench/peers/redis_pair.hpp"

#include <unistd.h>

#include <chrono>
#include <thread>

#include <hiredis/hiredis.h>

#include "bench/node_harness.hpp"

namespace tandem::bench {

namespace {

using namespace std::chrono_literals;

struct reply_ptr {
  redisReply* r = nullptr;
  ~reply_ptr() {
    if (r) freeReplyObject(r);
  }
};

redisContext* connect_to(std::uint16_t port) {
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err) {
    std::string err = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    throw bench_error("redis: connect to port " + std::to_string(port) + ": " + err);
  }
  return c;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

pid_t start_server(const std::string& binary, const std::string& dir, std::uint16_t port,
                   const std::vector<std::string>& extra, const std::vector<std::string>& prefix = {},
                   const std::string& bind = "127.0.0.1") {
  std::filesystem::create_directories(dir);
  std::vector<std::string> argv{binary,           "--port",      std::to_string(port), "--bind",    bind,
                                "--dir",          dir,           "--appendonly",       "yes",       "--appendfsync",
                                "always",         "--save",      "",                   "--daemonize", "no",
                                "--protected-mode", "no",        "--logfile",          dir + "/redis.log"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.begin(), prefix.begin(), prefix.end()); // ip netns exec execs redis-server: same pid
  std::lock_guard lock(cleanup_mu);
  pid_t pid = spawn(argv, dir, dir + "/stdout.log");
  live_children.insert(pid);
  return pid;
}

// Polls INFO replication on the primary until the replica is online.
void wait_replica_online(std::uint16_t primary_port, pid_t primary, pid_t replica, const std::string& dir) {
  const auto deadline = bench_clock::now() + 20s;
  while (bench_clock::now() < deadline) {
    if (!child_running(primary) || !child_running(replica))
      throw bench_error("redis: a server exited at startup:\n" + tail_of(dir + "/primary/redis.log") + "\n" +
                        tail_of(dir + "/replica/redis.log"));
    try {
      redisContext* c = connect_to(primary_port);
      reply_ptr r{static_cast<redisReply*>(redisCommand(c, "INFO replication"))};
      const bool online = r.r && r.r->type == REDIS_REPLY_STRING && std::string{r.r->str}.find("state=online") != std::string::npos;
      redisFree(c);
      if (online) return;
    } catch (const bench_error&) {
    }
    std::this_thread::sleep_for(20ms);
  }
  throw bench_error("redis: the replica was not online within 20 s:\n" + tail_of(dir + "/replica/redis.log"));
}

// Polls PING on a lone primary (no replica) until it answers.
void wait_primary_up(std::uint16_t port, pid_t primary, const std::string& dir) {
  const auto deadline = bench_clock::now() + 20s;
  while (bench_clock::now() < deadline) {
    if (!child_running(primary)) throw bench_error("redis: the server exited at startup:\n" + tail_of(dir + "/primary/redis.log"));
    try {
      redisContext* c = connect_to(port);
      reply_ptr r{static_cast<redisReply*>(redisCommand(c, "PING"))};
      const bool up = r.r && r.r->type == REDIS_REPLY_STATUS;
      redisFree(c);
      if (up) return;
    } catch (const bench_error&) {
    }
    std::this_thread::sleep_for(20ms);
  }
  throw bench_error("redis: the server did not answer PING within 20 s:\n" + tail_of(dir + "/primary/redis.log"));
}

} // namespace

std::optional<std::string> find_redis_server() {
  for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
    if (::access(p, X_OK) == 0) return std::string{p};
  return std::nullopt;
}

redis_pair::redis_pair(const std::string& redis_server, const std::string& dir, const redis_router& router)
    : dir_(dir) {
  primary_port_ = free_port();
  replica_port_ = free_port();
  primary_ = start_server(redis_server, dir + "/primary", primary_port_, {});
  redis_route route = router ? router(primary_port_) : redis_route{};
  if (!route.replica) {
    wait_primary_up(primary_port_, primary_, dir);
    return;
  }
  const auto dial_port = route.primary_port != 0 ? route.primary_port : primary_port_;
  replica_ = start_server(redis_server, dir + "/replica", replica_port_,
                          {"--replicaof", route.primary_host, std::to_string(dial_port)}, route.replica_prefix,
                          route.replica_bind);
  wait_replica_online(primary_port_, primary_, replica_, dir);
}

redis_pair::~redis_pair() {
  std::lock_guard lock(cleanup_mu);
  for (pid_t p : {replica_, primary_}) {
    if (p <= 0) continue;
    stop_child(p, std::chrono::milliseconds{5000});
    live_children.erase(p);
  }
}

redis_load::redis_load(const redis_pair& pair, std::size_t per_wait)
    : pair_(pair), c_(connect_to(pair.primary_port())), per_wait_(per_wait) {}

std::uint64_t redis_load::replica_ticks() const {
  return pair_.replica_pid() > 0 ? cpu_ticks(pair_.replica_pid()) : 0;
}

redis_load::~redis_load() {
  if (c_) redisFree(c_);
}

// per_wait XADDs and one WAIT 1 0 written at once, then every reply read (a lone primary: the
// XADDs only).
void redis_load::batch(const std::string& payload) {
  const bool wait = pair_.replica_pid() > 0;
  const auto t0 = bench_clock::now();
  for (std::size_t i = 0; i < per_wait_; ++i)
    redisAppendCommand(c_, "XADD bench * p %b", payload.data(), payload.size());
  if (wait) redisAppendCommand(c_, "WAIT 1 0");
  for (std::size_t i = 0; i < per_wait_ + (wait ? 1 : 0); ++i) {
    reply_ptr r;
    if (redisGetReply(c_, reinterpret_cast<void**>(&r.r)) != REDIS_OK || r.r == nullptr)
      throw bench_error(std::string{"redis: "} + (c_->err ? c_->errstr : "no reply"));
    if (r.r->type == REDIS_REPLY_ERROR) throw bench_error(std::string{"redis: "} + r.r->str);
    if (wait && i == per_wait_ && (r.r->type != REDIS_REPLY_INTEGER || r.r->integer < 1))
      throw bench_error("redis: WAIT 1 returned without the replica");
  }
  const double us = std::chrono::duration<double, std::micro>(bench_clock::now() - t0).count();
  latencies_us_.insert(latencies_us_.end(), per_wait_, us);
  messages_ += per_wait_;
}

void redis_load::run_each(const std::vector<std::string>& payloads, std::chrono::milliseconds gap) {
  const auto p0 = cpu_ticks(pair_.primary_pid()), r0 = replica_ticks();
  const auto start = bench_clock::now();
  for (const auto& p : payloads) {
    batch(p);
    if (gap.count() > 0) std::this_thread::sleep_for(gap);
  }
  secs_ += std::chrono::duration<double>(bench_clock::now() - start).count();
  cpu_primary_ += ticks_to_seconds(cpu_ticks(pair_.primary_pid()) - p0);
  cpu_replica_ += ticks_to_seconds(replica_ticks() - r0);
}

void redis_load::run_slice(double seconds, const std::string& payload) {
  const auto p0 = cpu_ticks(pair_.primary_pid()), r0 = replica_ticks();
  const auto start = bench_clock::now();
  const auto deadline = start + std::chrono::duration_cast<bench_clock::duration>(std::chrono::duration<double>(seconds));
  while (bench_clock::now() < deadline) batch(payload);
  secs_ += std::chrono::duration<double>(bench_clock::now() - start).count();
  cpu_primary_ += ticks_to_seconds(cpu_ticks(pair_.primary_pid()) - p0);
  cpu_replica_ += ticks_to_seconds(replica_ticks() - r0);
}

namespace {

// The peer replication_bench uses (redis_peer.hpp): the pair, and one load at a time.
class pair_peer final : public redis_peer {
public:
  pair_peer(const std::string& bin, const std::string& dir, const redis_router& route) : pair_(bin, dir, route) {}
  void open(std::size_t per_wait) override { load_ = std::make_unique<redis_load>(pair_, per_wait); }
  void run_slice(double seconds, const std::string& payload) override {
    if (!load_) throw bench_error("redis: run_slice without open");
    load_->run_slice(seconds, payload);
  }
  void run_each(const std::vector<std::string>& payloads, std::chrono::milliseconds gap) override {
    if (!load_) throw bench_error("redis: run_each without open");
    load_->run_each(payloads, gap);
  }
  redis_run close() override {
    if (!load_) throw bench_error("redis: close without open");
    redis_run r{load_->per_wait(), load_->messages(), load_->seconds(), load_->latencies_us(),
                load_->cpu_primary_s(), load_->cpu_replica_s()};
    load_.reset();
    return r;
  }

private:
  redis_pair pair_;
  std::unique_ptr<redis_load> load_;
};

} // namespace

std::unique_ptr<redis_peer> make_redis_peer(const std::string& dir, std::string& why, const redis_router& route) {
  auto bin = find_redis_server();
  if (!bin) {
    why = "left out: redis-server is not installed (Debian package redis-server)";
    return nullptr;
  }
  return std::make_unique<pair_peer>(*bin, dir, route);
}

} // namespace tandem::bench
