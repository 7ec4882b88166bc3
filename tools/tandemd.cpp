// tandemd: one Tandem node.
//
// Startup order (each step can fail with one clear line, and nothing later runs):
//   1. parse the command line and the config (exit 2 on any config error, nothing touched on disk)
//   2. block SIGINT/SIGTERM/SIGHUP in every thread (the actor system's threads inherit the mask)
//   3. bind the listeners, then lock the data dir (a failed bind leaves no data dir behind)
//                                                                   (exit 1 on failure)
//   4. start the actor system and the supervisor, which owns every other actor
//   5. wait for a signal; then end the journal scans in progress (anti-entropy digests, the
//      journal actor's startup scan of publisher marks), stop the supervisor and wait for all
//      actors, within the grace period; a clean stop logs its steps' times.
//      A second signal, or a shutdown that overruns the grace period, exits at once.
// Under systemd (Type=notify, NOTIFY_SOCKET set) it reports READY=1 after step 4 once the
// supervisor answers, WATCHDOG=1 while the actor system keeps answering, STOPPING=1 at step 5
// (tools/service_notifier.hpp). SIGHUP reloads the config live (docs/config.md, "Live reload"):
// the supervisor applies what can change while running and refuses the whole reload otherwise.
// Fail fast: an actor of the node that dies abnormally (an unhandled exception, an error exit
// reason outside shutdown) logs "fatal: actor NAME died: WHAT" and exits 70 at once
// (actors/fatal_exit.hpp); a process supervisor is expected to restart the node.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/atoms.hpp"
#include "actors/fatal_exit.hpp"
#include "actors/journal_runtime.hpp"
#include "actors/log.hpp"
#include "actors/metrics/live_metrics.hpp"
#include "actors/shutdown_policy.hpp"
#include "journal/hop_trace.hpp"
#include "actors/startup.hpp"
#include "actors/supervisor.hpp"
#include "config/config_diff.hpp"
#include "config/config_source.hpp"
#include "config/parse.hpp"
#include "config/topology_output.hpp"
#include "journal/inspect.hpp"
#include "journal/instance_id.hpp"
#include "tools/hash_password.hpp"
#include "tools/node_access.hpp"
#include "tools/service_notifier.hpp"

namespace {

// From project() in CMakeLists.txt, as in `tandem --version`.
constexpr const char* tandem_version = TANDEM_VERSION;
constexpr auto shutdown_grace = std::chrono::milliseconds{1800};
constexpr int listen_backlog = 128;

const char* usage = R"(usage:
  tandemd [--config FILE] [--set PATH=VALUE]... [--log-level LEVEL]
      Run a node. Without --config, runs the embedded default node (named after this host, data in
      ./tandem-data, listeners on 127.0.0.1:27100 replication, 27101 client, 27102 admin).
  tandemd --check-config FILE [--set PATH=VALUE]...
      Validate FILE; print the normalized config (defaults filled in) as JSON. Exit 0 if valid, 2 if not.
  tandemd --check-config FILE [--set PATH=VALUE]... --diff RUNNING.json
      What a live reload (SIGHUP, POST /config/reload) from the config RUNNING.json to FILE would
      change: one line per change, PATH: OLD -> NEW and whether it is live or restart_required.
      Exit 0 if a reload would apply it, 1 if it would be refused (a change needs a restart), 2 if
      either config is invalid.
  tandemd --print-default-config
      Print the embedded default config as JSON.
  tandemd journal verify DIR
      Check every record of the journal in DIR (a data dir or its journal/ subdir); read-only, safe
      while the node runs. Exit 0 if intact, 1 on corruption (the file and byte offset are named).
  tandemd journal dump DIR [--from SEQ]
      Print the journal's records, one line each, from SEQ (default: the oldest held).
  tandemd check-topology [--dot] FILE...
      Check the configs of a whole deployment together (docs/config.md, "Checking a deployment"):
      every problem as "FILE: path: check: message", then a summary with a reachability matrix.
      --dot prints a Graphviz graph instead (problems go to stderr). Exit 0 clean, 1 problems,
      2 a config is invalid (its errors are printed as by --check-config).
  tandemd hash-password [--password-file FILE] [--cost N]
      Print the scrypt hash of a password (read from FILE or stdin, never argv) for a users file
      (auth.users_file, docs/security.md).
  tandemd --help | --version

options:
  --set PATH=VALUE   override one config value before validation, e.g. --set admin.port=0
                     or --set 'destinations[0].sync_type=async' (VALUE is JSON, or else a string)
  --log-level LEVEL  error, warn, info (default) or debug; logs go to stderr, one line per event.
                     The same as --set log_level=LEVEL (the config's log_level, live on reload)

exit codes: 0 ok, 1 startup or runtime failure, 2 usage or config error,
  70 an actor of the node died (logged as "fatal: actor NAME died: WHAT"): restart the node
)";

struct options {
  std::string config_file;
  bool check_only = false;
  bool print_default = false;
  std::vector<std::string> overrides;
  std::string diff_against; // --diff RUNNING.json (with --check-config)
  tandem::log::level level = tandem::log::level::info;
};

[[noreturn]] void usage_error(const std::string& problem) {
  std::cerr << "tandemd: " << problem << "\n(tandemd --help shows the usage)\n";
  std::exit(2);
}

options parse_args(int argc, char** argv) {
  options o;
  auto value_of = [&](int& i, const std::string& flag) -> std::string {
    if (i + 1 >= argc)
      usage_error(flag + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      std::exit(0);
    } else if (a == "--version") {
      std::cout << "tandemd " << tandem_version << " (CAF " << CAF_MAJOR_VERSION << '.'
                << CAF_MINOR_VERSION << '.' << CAF_PATCH_VERSION << ")\n";
      std::exit(0);
    } else if (a == "--config") {
      o.config_file = value_of(i, a);
    } else if (a == "--check-config") {
      o.config_file = value_of(i, a);
      o.check_only = true;
    } else if (a == "--diff") {
      o.diff_against = value_of(i, a);
    } else if (a == "--print-default-config") {
      o.print_default = true;
    } else if (a == "--set") {
      o.overrides.push_back(value_of(i, a));
    } else if (a == "--log-level") {
      auto name = value_of(i, a);
      auto l = tandem::log::parse_level(name);
      if (!l)
        usage_error("--log-level: expected error, warn, info or debug");
      o.level = *l;
      o.overrides.push_back("log_level=\"" + name + "\""); // the config's log_level, kept on reload
    } else {
      usage_error("unknown argument '" + a + "'");
    }
  }
  if (!o.diff_against.empty() && !o.check_only)
    usage_error("--diff needs --check-config FILE");
  return o;
}

// The raw host name; default_config() turns it into a valid instance name.
std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0)
    return {};
  return buf;
}

// Where the config comes from: read again, the same way, by a live reload.
tandem::config::config_source source_of(const options& o) {
  return {o.config_file, o.overrides, host_name()};
}

// Loads the config document (file or embedded default), applies overrides, validates.
// Reports every problem on stderr and exits 2 when anything is wrong.
tandem::config::node_config load_config(const options& o) {
  auto loaded = tandem::config::load_config_source(source_of(o));
  if (!loaded.problem.empty()) {
    std::cerr << "tandemd: " << loaded.problem << "\n";
    std::exit(2);
  }
  if (!loaded.result.ok()) {
    for (const auto& e : loaded.result.errors)
      std::cerr << loaded.source << ": " << e.to_string() << "\n";
    std::cerr << "tandemd: " << loaded.result.errors.size() << " config error(s); nothing started\n";
    std::exit(2);
  }
  return std::move(*loaded.result.config);
}

// The node's TLS context (issue 18), loaded before anything starts: a file that cannot be used is a
// config error naming the key and the file ("tls.key_file /etc/a.key: does not match ..."), exit 2.
// Null when the config has no `tls` section.
// Wrapped in the holder that SIGHUP rotates (rotate_tls below).
std::shared_ptr<tandem::tls::context_holder> load_tls(const tandem::config::node_config& cfg, const options& o) {
  if (!cfg.tls.configured)
    return nullptr;
  const auto& t = cfg.tls;
  auto loaded = tandem::tls::context::load({t.cert_file, t.key_file, t.ca_file}, {t.allow_tls12});
  if (auto* err = std::get_if<std::string>(&loaded)) {
    std::cerr << (o.config_file.empty() ? "<default config>" : o.config_file) << ": tls." << *err << "\n"
              << "tandemd: 1 config error(s); nothing started\n";
    std::exit(2);
  }
  auto ctx = std::get<std::shared_ptr<const tandem::tls::context>>(loaded);
  // Not refused here (a certificate may be shared in a test), but every peer will refuse it.
  if (auto named = tandem::tls::instance_of(ctx->own()); named != std::optional<std::string>{cfg.name})
    tandem::log::warn("tandemd", "tls.cert_file ", t.cert_file, " names ",
                      named ? "instance " + *named : std::string{"no tandem:instance/NAME"}, ", this node is ",
                      cfg.name, ": peers will refuse it (close auth)");
  return std::make_shared<tandem::tls::context_holder>(std::move(ctx));
}

// SIGHUP (issue 18, docs/security.md "Rotation"): reads the tls files again at the configured
// paths, on the signal thread (file I/O never runs on a scheduler thread), and swaps the new
// context in or keeps the running one. Established connections keep the context they started with.
void rotate_tls(const tandem::config::node_config& cfg, tandem::tls::context_holder& holder) {
  using namespace tandem;
  const auto& t = cfg.tls;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const auto v = tls::rotate(holder, {t.cert_file, t.key_file, t.ca_file}, {t.allow_tls12}, now.count());
  const auto cur = holder.current();
  switch (v.result) {
    case tls::rotation_result::refused:
      log::error("tandemd", "tls rotation refused, the running certificate (serial ", cur->own().serial,
                 ") kept: tls.", v.reason);
      return;
    case tls::rotation_result::unchanged:
      log::info("tandemd", "tls rotation: ", t.cert_file, " and ", t.ca_file, " are unchanged (serial ",
                cur->own().serial, ")");
      return;
    case tls::rotation_result::rotated:
      log::info("tandemd", "tls rotation: new connections use ", t.cert_file, " (serial ", cur->own().serial,
                ", ", cur->own().subject, ", expires in ", cur->seconds_until_expiry(now.count()),
                " s); established connections keep theirs");
      return;
  }
}

// `tandemd --check-config FILE --diff RUNNING.json`: what a reload from RUNNING to FILE would do.
// Exit 0: it would apply (or there is nothing to change); 1: it would be refused; 2: invalid.
int print_reload_diff(const tandem::config::node_config& next, const std::string& running_file) {
  using namespace tandem::config;
  auto running = load_config_file(running_file);
  if (!running.ok()) {
    for (const auto& e : running.errors)
      std::cerr << running_file << ": " << e.to_string() << "\n";
    return 2;
  }
  auto d = diff(*running.config, next);
  for (const auto& c : d.changes)
    std::cout << describe(c) << "\n";
  if (d.empty())
    std::cout << "no change: a reload would do nothing\n";
  else if (d.reloadable())
    std::cout << "a reload would apply " << d.changes.size() << " change(s)\n";
  else
    std::cout << "a reload would be refused: a restart is required for " << d.refused_paths().size()
              << " change(s)\n";
  return d.reloadable() ? 0 : 1;
}

// The node's three listening sockets, bound before anything else starts.
struct node_listeners {
  tandem::bound_socket replication, client, admin;
};

void close_listeners(const node_listeners& l) {
  for (const auto* s : {&l.replication, &l.client, &l.admin})
    ::close(s->fd);
}

// Binds replication, client and admin in that order; on the first failure closes what was bound,
// sets *error and returns nullopt.
std::optional<node_listeners> bind_listeners(const tandem::config::node_config& cfg, std::string* error) {
  using tandem::bind_listener;
  auto replication = bind_listener("replication", cfg.replication, listen_backlog, error);
  auto client = replication ? bind_listener("client", cfg.client, listen_backlog, error) : std::nullopt;
  auto admin = client ? bind_listener("admin", cfg.admin, listen_backlog, error) : std::nullopt;
  if (!admin) {
    for (auto* s : {&replication, &client, &admin})
      if (*s)
        ::close((*s)->fd);
    return std::nullopt;
  }
  return node_listeners{std::move(*replication), std::move(*client), std::move(*admin)};
}

// journal.startup_check "full": every record's checksum, before any scheduler thread exists
// (blocking disk I/O). False, logged, when the journal is damaged.
bool journal_check_passes(const tandem::config::node_config& cfg) {
  using namespace tandem;
  if (cfg.journal.startup_check != config::journal_config::startup_check::full
      || !std::filesystem::is_directory(journal_dir(cfg.data_dir)))
    return true;
  auto t0 = std::chrono::steady_clock::now();
  std::ostringstream report; // per-segment lines; only the verdict is logged
  auto verdict = journal::verify(journal_dir(cfg.data_dir), report);
  if (!verdict.ok()) {
    log::error("tandemd", "journal check failed, not starting: ", verdict.to_string(),
               " (tandemd journal verify ", cfg.data_dir, " shows the details)");
    return false;
  }
  log::info("tandemd", "journal checked (every record's checksum) in ",
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count(),
            " ms");
  return true;
}

tandem::node_info make_node_info(const tandem::config::node_config& cfg, const node_listeners& l) {
  tandem::node_info info;
  info.config = cfg;
  info.version = tandem_version;
  info.caf_version = std::to_string(CAF_MAJOR_VERSION) + "." + std::to_string(CAF_MINOR_VERSION) + "."
                     + std::to_string(CAF_PATCH_VERSION);
  info.pid = ::getpid();
  info.started_unix_ms = tandem::unix_ms_now();
  info.replication_port = l.replication.port;
  info.client_port = l.client.port;
  info.admin_port = l.admin.port;
  return info;
}

// What a shutdown is waiting for, set by run_node as it goes (string literals only): a shutdown
// that overruns the grace period names it, and a clean stop logs how long each step took.
struct shutdown_progress {
  std::atomic<const char*> waiting_for{"the signal"};
  std::chrono::steady_clock::time_point begun{};

  // Starts the next step; the milliseconds since the previous step started (or since `begun`).
  long long next(const char* step) {
    auto now = std::chrono::steady_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_).count();
    last_ = now;
    waiting_for = step;
    return ms;
  }
  void begin() { begun = last_ = std::chrono::steady_clock::now(); }

private:
  std::chrono::steady_clock::time_point last_{};
};

// The signal thread's loop: the first SIGINT/SIGTERM sets stop_requested (under mx) and wakes
// cv; a second one, or a shutdown that overruns the grace period, ends the process at once (the
// overrun's log line names the step `progress` was in). SIGHUP calls `hangup` (a live reload).
// Returns once `stopped` is set.
void watch_signals(std::mutex& mx, std::condition_variable& cv, bool& stop_requested,
                   const std::atomic<bool>& stopped, const std::function<void()>& hangup,
                   const shutdown_progress& progress) {
  using namespace tandem;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  timespec tick{0, 50'000'000};
  shutdown_policy policy{shutdown_grace};
  while (!stopped.load()) {
    int sig = ::sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGHUP) { // it used to end the node silently (exit 129)
      hangup();
      continue;
    }
    auto now = shutdown_policy::clock::now();
    switch (sig > 0 ? policy.on_signal(now) : policy.on_tick(now)) {
      case shutdown_policy::action::none:
        break;
      case shutdown_policy::action::begin_shutdown: {
        log::info("tandemd", "received ", sig == SIGINT ? "SIGINT" : "SIGTERM", ", shutting down");
        std::lock_guard guard{mx};
        stop_requested = true;
        cv.notify_all();
        break;
      }
      case shutdown_policy::action::exit_now_second_signal:
        log::warn("tandemd", "second signal: exiting immediately");
        std::_Exit(1);
      case shutdown_policy::action::exit_now_overrun:
        log::error("tandemd", "shutdown exceeded ", shutdown_grace.count(), " ms while waiting for ",
                   progress.waiting_for.load(), ": exiting immediately");
        std::_Exit(1);
    }
  }
}

// Spawns the actor that watches the supervisor `root` (run_node explains what its end means):
// a fatal end exits the process; any other end but user_shutdown sets root_failed and
// stop_requested (under mx) and wakes cv. The references must outlive the actor system.
void watch_supervisor(caf::actor_system& sys, const tandem::supervisor_actor& root, std::mutex& mx, std::condition_variable& cv,
                      bool& stop_requested, bool& root_failed) {
  using namespace tandem;
  sys.spawn([&, root](caf::event_based_actor* self) -> caf::behavior {
    self->monitor(root);
    self->set_down_handler([&, self](caf::down_msg& down) {
      bool shutting_down = false;
      {
        std::lock_guard guard{mx};
        shutting_down = stop_requested;
      }
      if (actor_exit_is_fatal(to_actor_exit(down.reason), shutting_down))
        die_fatally("supervisor", self->system().render(down.reason));
      if (down.reason != caf::exit_reason::user_shutdown) {
        log::error("tandemd", "supervisor stopped unexpectedly: ", self->system().render(down.reason));
        std::lock_guard guard{mx};
        root_failed = stop_requested = true;
        cv.notify_all();
      }
      self->quit();
    });
    return {[](caf::unit_t) {}};
  });
}

// The socket fds this process has open (/proc/self/fd).
std::vector<int> open_sockets() {
  std::vector<int> fds;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = std::atoi(entry.path().filename().c_str());
    struct stat st{};
    if (::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
      fds.push_back(fd);
  }
  return fds;
}

// Called once every actor has ended: a socket still open now belongs to a connection that was
// closed gracefully but whose unsent bytes a peer never read. CAF 0.17 frees such a socket's
// scribe only once those bytes are out, and the middleman's stop waited on it until the 1.8 s
// shutdown grace ran out (exit 1; admission_limits_test "shutdown with output queued for a client
// that never reads"). Shutting the socket down makes the pending write fail, and the
// still-running middleman frees and closes it; waited for at most 500 ms, then the node stops
// anyway. (This did not end every exit-time leak report after the hostile-peer test: see that
// test.)
void abort_lingering_sockets() {
  auto fds = open_sockets();
  if (fds.empty())
    return;
  for (int fd : fds)
    ::shutdown(fd, SHUT_RDWR);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{500};
  while (!open_sockets().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  tandem::log::info("tandemd", "shutdown: aborted ", fds.size(),
                    " socket(s) still open after every actor ended (connections whose peers did not read)");
}

// SIGHUP: a live reload by the supervisor, which logs its verdict (actors/supervisor.hpp); the
// file is read on a detached actor, never on the signal thread or a scheduler thread.
class reload_target {
public:
  // `mx` guards `stop_requested` and the supervisor handle. `cfg` and `access`: the access files
  // (issue 18), read again here on the signal thread (their paths need a restart to change).
  // `tls`: the holder rotated on SIGHUP (null: no tls section).
  reload_target(std::mutex& mx, const bool& stop_requested, const tandem::config::node_config& cfg,
                tandem::logic::access_control& access, std::shared_ptr<tandem::tls::context_holder> tls)
    : mx_(mx), stop_requested_(stop_requested), cfg_(cfg), access_(access), tls_(std::move(tls)) {}

  void set(std::optional<tandem::supervisor_actor> root) {
    std::lock_guard guard{mx_};
    root_ = std::move(root);
  }

  void hangup() {
    std::lock_guard guard{mx_};
    if (!root_ || stop_requested_) {
      tandem::log::warn("tandemd", "received SIGHUP while the node is not running; no reload");
      return;
    }
    tandem::log::info("tandemd", "received SIGHUP: reloading the config");
    tandem::reload_access(cfg_, access_);
    if (tls_)
      rotate_tls(cfg_, *tls_);
    caf::anon_send(*root_, tandem::atoms::config_reload::value);
  }

private:
  std::mutex& mx_;
  const bool& stop_requested_;
  const tandem::config::node_config& cfg_;
  tandem::logic::access_control& access_;
  std::shared_ptr<tandem::tls::context_holder> tls_;
  std::optional<tandem::supervisor_actor> root_; // set while the supervisor runs
};

int run_node(const tandem::config::node_config& cfg, const tandem::config::config_source& source,
             std::shared_ptr<tandem::logic::access_control> access,
             std::shared_ptr<tandem::tls::context_holder> tls) {
  using namespace tandem;
  std::string error;
  // Bind first: a node that cannot have its ports leaves nothing on disk (no data dir, no lock).
  auto listeners = bind_listeners(cfg, &error);
  if (!listeners) {
    log::error("tandemd", error);
    return 1;
  }
  service_notifier notifier{"recovering the journal"}; // sd_notify, when systemd runs it with Type=notify
  // Verification and recovery are blocking disk I/O: done here, before any scheduler thread exists.
  auto lock = data_dir_lock::acquire(cfg.data_dir, &error);
  if (!lock || !journal_check_passes(cfg)) {
    if (!lock)
      log::error("tandemd", error);
    close_listeners(*listeners);
    return 1;
  }
  journal::recovery_report recovery;
  auto journal = journal_runtime::open(cfg, &recovery, &error);
  if (!journal) {
    log::error("tandemd", error);
    close_listeners(*listeners);
    return 1;
  }
  for (const auto& line : describe(recovery))
    log::info("tandemd", line);
  if (hop_trace::enable_from_env()) // replication_bench --hops (journal/hop_trace.hpp)
    log::warn("tandemd", "TANDEM_HOP_TRACE is set: per-hop timestamps are recorded (GET /debug/hops); a debug mode");
  log::info("tandemd", "instance id ", journal::id_to_hex(journal->instance_id()),
            journal->instance_id_note().empty() ? "" : " (" + journal->instance_id_note() + ")");

  node_info info = make_node_info(cfg, *listeners);
  info.instance_id = journal::id_to_hex(journal->instance_id());
  const bound_socket* replication = &listeners->replication;
  const bound_socket* client = &listeners->client;
  const bound_socket* admin = &listeners->admin;

  caf::actor_system_config caf_cfg;
  caf_cfg.load<caf::io::middleman>();
  // Two cores is the design point; the sharing policy sleeps when idle instead of polling.
  caf_cfg.set("scheduler.max-threads", 2);
  caf_cfg.set("scheduler.policy", caf::atom("sharing"));

  std::mutex mx;
  std::condition_variable cv;
  bool stop_requested = false;
  std::atomic<bool> stopped{false};

  reload_target reload{mx, stop_requested, cfg, *access, tls};
  auto hangup = [&] { reload.hangup(); };
  // The signal thread: the first SIGINT/SIGTERM asks main to stop; a second one, or a shutdown that
  // overruns the grace period, ends the process at once.
  shutdown_progress progress;
  std::thread signals([&] { watch_signals(mx, cv, stop_requested, stopped, hangup, progress); });

  int exit_code = 0;
  long long steps_ms[4] = {0, 0, 0, 0}; // the shutdown's steps, logged at a clean stop
  {
    // Before any actor exists: the actor hooks bind their probes when they start.
    tandem::metrics::live_metrics::instance().enable(cfg.metrics.enabled);
    caf::actor_system sys{caf_cfg};
    // Kept here until every actor ended, then its committer stopped from this thread: the commit
    // callbacks hold actor handles (a replication connection's, the journal actor's), and the
    // last one released on the committer's completion thread would otherwise take the runtime
    // with it there (its deleter then closes it on a thread of its own, journal_runtime.hpp;
    // before that deleter, exit 134 at a SIGTERM under load). The node closes its journal here,
    // before it exits, not on a detached thread.
    const std::shared_ptr<journal_runtime> runtime = journal;
    auto root = spawn_supervisor(sys, info, node_resources{admin->fd, replication->fd, client->fd, std::move(journal),
                                                           std::move(recovery), source, access, std::move(tls)});
    reload.set(root);
    log::info("tandemd", "node ", cfg.name, " (group ", cfg.group, ") started: replication ", cfg.replication.address,
              ":", replication->port, ", client ", cfg.client.address, ":", client->port, ", admin ",
              cfg.admin.address, ":", admin->port, ", data dir ", cfg.data_dir);
    // Issue 18: said once, naming each open listener's bind address.
    if (auto open = unauthenticated_warning(cfg, client->port, admin->port, replication->port); !open.empty())
      log::warn("tandemd", open);
    else
      log::info("tandemd", "every listener needs credentials: client (users file or client certificates), admin "
                "(token), replication (mutual TLS)");
    // If the supervisor dies on its own, the node is no longer whole. An abnormal end (an
    // exception, any error reason; actor_exit_is_fatal) exits at once with fatal_exit_code, so a
    // process supervisor restarts the node; the supervisor already does the same for a failed
    // child or its own exception, naming the actor. A normal end outside shutdown stops in order.
    bool root_failed = false;
    watch_supervisor(sys, root, mx, cv, stop_requested, root_failed);
    notifier.start(sys, root, info); // READY=1 once the supervisor, which starts the listeners, answers
    {
      std::unique_lock guard{mx};
      cv.wait(guard, [&] { return stop_requested; });
    }
    progress.begin();
    progress.next("the actors to end");
    runtime->log().stop_scans(); // a digest or startup scan in progress ends now, not when it is done
    notifier.stop(); // STOPPING=1
    reload.set(std::nullopt);
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    root = nullptr;
    sys.await_all_actors_done();
    steps_ms[0] = progress.next("the journal's committer to finish");
    runtime->committer().stop(); // finishes what is queued (callbacks included) and joins both threads
    steps_ms[1] = progress.next("lingering sockets to close");
    abort_lingering_sockets();
    steps_ms[2] = progress.next("the actor system to stop");
    exit_code = root_failed ? 1 : 0;
  } // ~actor_system stops the middleman and the scheduler
  steps_ms[3] = progress.next("the signal thread");
  stopped = true;
  signals.join();
  if (exit_code == 0)
    log::info("tandemd", "stopped cleanly in ",
              std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - progress.begun)
                .count(),
              " ms (actors ", steps_ms[0], ", committer ", steps_ms[1], ", sockets ", steps_ms[2], ", actor system ",
              steps_ms[3], ")");
  return exit_code;
}

} // namespace

// `tandemd journal verify DIR` / `tandemd journal dump DIR [--from SEQ]`.
int journal_command(int argc, char** argv) {
  if (argc < 4)
    usage_error("journal: expected 'verify DIR' or 'dump DIR [--from SEQ]'");
  std::string cmd = argv[2];
  std::string dir = argv[3];
  // Accept a data dir as well as its journal/ subdirectory.
  if (std::filesystem::is_directory(tandem::journal_dir(dir)))
    dir = tandem::journal_dir(dir);
  if (!std::filesystem::is_directory(dir)) {
    std::cerr << "tandemd: journal " << cmd << ": " << dir << " is not a directory\n";
    return 2;
  }
  if (cmd == "verify") {
    if (argc != 4)
      usage_error("journal verify takes exactly one DIR");
    auto st = tandem::journal::verify(dir, std::cout);
    if (!st.ok()) {
      std::cerr << "tandemd: journal verify: " << st.to_string() << "\n";
      return 1;
    }
    return 0;
  }
  if (cmd == "dump") {
    std::uint64_t from = 0;
    if (argc == 6 && std::string{argv[4]} == "--from") {
      char* end = nullptr;
      from = std::strtoull(argv[5], &end, 10);
      if (end == argv[5] || *end != '\0')
        usage_error("journal dump --from: expected a sequence number");
    } else if (argc != 4) {
      usage_error("journal dump DIR [--from SEQ]");
    }
    auto st = tandem::journal::dump(dir, from, std::cout);
    if (!st.ok()) {
      std::cerr << "tandemd: journal dump: " << st.to_string() << "\n";
      return 1;
    }
    return 0;
  }
  usage_error("journal: unknown command '" + cmd + "'");
}

// `tandemd check-topology [--dot] FILE...`: every file is loaded and every invalid one reported
// before anything is checked.
int check_topology_command(int argc, char** argv) {
  bool dot = false;
  std::vector<tandem::config::topology_node> nodes;
  bool invalid = false;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--dot") {
      dot = true;
      continue;
    }
    if (arg.rfind("--", 0) == 0)
      usage_error("check-topology: unknown option '" + arg + "'");
    auto loaded = tandem::config::load_config_file(arg);
    for (const auto& e : loaded.errors)
      std::cerr << arg << ": " << e.to_string() << "\n";
    invalid = invalid || !loaded.ok();
    if (loaded.ok())
      nodes.push_back({arg, std::move(*loaded.config)});
  }
  if (invalid)
    return 2;
  if (nodes.empty())
    usage_error("check-topology: expected one or more config files");
  auto result = tandem::config::check_topology(nodes);
  auto& findings_out = dot ? std::cerr : std::cout;
  for (const auto& f : result.findings)
    findings_out << tandem::config::finding_line(nodes, f) << "\n";
  if (dot)
    tandem::config::print_topology_dot(std::cout, nodes, result);
  else
    tandem::config::print_topology_summary(std::cout, nodes, result);
  return result.problems() > 0 ? 1 : 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::string{argv[1]} == "journal")
    return journal_command(argc, argv);
  if (argc >= 2 && std::string{argv[1]} == "check-topology")
    return check_topology_command(argc, argv);
  if (argc >= 2 && std::string{argv[1]} == "hash-password")
    return hash_password_command(argc, argv);
  auto opts = parse_args(argc, argv);
  tandem::log::set_level(opts.level);
  if (opts.print_default) {
    std::cout << tandem::config::to_json(tandem::config::default_config(host_name())).dump(2) << "\n";
    return 0;
  }
  auto cfg = load_config(opts);
  tandem::log::set_level(tandem::log::parse_level(cfg.log_level).value_or(opts.level));
  // The access files (issue 18) are part of the config: checked by --check-config too.
  auto access = std::make_shared<tandem::logic::access_control>();
  if (auto errors = tandem::load_access(cfg, *access); !errors.empty()) {
    for (const auto& e : errors)
      std::cerr << (opts.config_file.empty() ? std::string{"default config"} : opts.config_file) << ": " << e << "\n";
    std::cerr << "tandemd: " << errors.size() << " config error(s); nothing started\n";
    return 2;
  }
  auto tls = load_tls(cfg, opts);
  if (opts.check_only && !opts.diff_against.empty())
    return print_reload_diff(cfg, opts.diff_against);
  if (opts.check_only) {
    std::cout << tandem::config::to_json(cfg).dump(2) << "\n";
    return 0;
  }
  // Block the shutdown signals before any thread exists, so only the signal thread receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return run_node(cfg, source_of(opts), std::move(access), std::move(tls));
}
