// tandem: the operator's command-line client.
//
//   tandem status [--admin HOST:PORT | -s HOST:PORT | HOST:PORT | PORT | -p PORT] [--json] [--timeout-ms N]
//                 [--watch [--interval-ms N] [--count N]]
//   tandem publish [--client HOST:PORT] [--topic T] [--count N] [--size BYTES] [--window W]
//                  [--publisher-id ID] [--timeout-ms MS] [MESSAGE]
//                  [--servers H:P,H:P] [--publisher-name NAME] [--store-file DIR]
//   tandem destination (downgrade | upgrade) NAME [--admin HOST:PORT] [--timeout-ms N]
//   tandem verify-pair ADMIN_A ADMIN_B [--buckets N] [--timeout-ms N]
//   tandem subscribe [--client HOST:PORT] [--topic REGEX] [--from SEQ] [--count N] [--timeout-ms MS]
//                    [--expect N] [--servers H:P,H:P] [--bookmark-file F] [--from-start | --from-now |
//                     --from-time TIME] [--fully-durable] [--accept-gaps]
//
// `status` asks a node's admin listener for GET /status and renders it (client/status_view);
// --json prints it raw, --watch re-renders it with rates every interval.
// `publish` and `subscribe` speak the client protocol (client/) to a node's client listener.
// `tandem COMMAND --help` prints that command's usage; `tandem completion bash` a completion script
// generated from the option table (`commands`).
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "client/client_connection.hpp"
#include "client/code_names.hpp"
#include "client/file_publish_store.hpp"
#include "client/ha_publisher.hpp"
#include "client/ha_subscriber.hpp"
#include "client/http_get.hpp"
#include "config/secret_file.hpp"
#include "protocol/limits.hpp"
#include "client/percentile.hpp"
#include "client/publisher.hpp"
#include "client/status_view.hpp"
#include "client/subscriber.hpp"
#include "client/verify_pair.hpp"

namespace {

// Each command's part of the usage: `tandem COMMAND --help` prints it (stdout, exit 0), a usage
// error of that command prints it to stderr (exit 2).
const char* status_help = R"(  tandem status [--admin HOST:PORT | -s HOST:PORT | HOST:PORT | PORT | -p PORT] [--json]
                [--timeout-ms N] [--watch [--interval-ms N] [--count N]]
      Show a node's status (default admin endpoint 127.0.0.1:27102; a PORT alone, or -p PORT,
      means 127.0.0.1:PORT, as with redis-cli; -s/--server is --admin, as with nats).
      --watch shows it again every N ms (default 1000) with per-destination rates (records and bytes sent, records
      acked per second), lag and state, and the journal's append rate; it stops after --count
      frames (default 0: until interrupted) and exits 1 if the last frame had no status.
)";
const char* publish_help = R"(  tandem publish [--client HOST:PORT | -s HOST:PORT] [--topic T] [--count N] [--size BYTES] [--window W]
                 [--publisher-id ID] [--timeout-ms MS] [MESSAGE]
                 [--servers H:P,H:P] [--publisher-name NAME] [--store-file DIR]
      Publish MESSAGE once, or N generated messages of BYTES bytes (default 1 x 100), keeping
      up to W unacknowledged (default 64), and wait for every ack. Prints a summary with the
      ack latency; exit 1 unless every message was persisted. Defaults: client endpoint
      127.0.0.1:27101 (-s/--server is --client), topic tandem.test, a publisher id unique to this run
      (tandem-cli-HOST-PID-MS), timeout 10000 ms.
      Failover publishing (any of these three): --servers lists equivalent nodes in priority
      order (failover by the destination rule), --publisher-name gives a stable name (its seqs
      continue across runs), --store-file DIR (needs a name) keeps unacked messages in DIR so
      that a killed and restarted run with the same name resends them; the node acks what it
      already holds.
      The summary then reads: published N via SERVERS as NAME: persisted N, rejected N,
      resent N, already held N, failovers N, R msg/s.
      Acks that a downgraded sync destination does not hold yet (protocol 1.2) add the line
      `partial acks N (not yet on DEST:N ...), completed later M`; with a store, messages still
      partial at the end stay in it and are resent by the next run (exit 0: they are acked).
      When no ack comes, the node's `waiting` notice names what acks wait for: `no ack within
      MS ms; acks wait for sync destination(s) DEST` instead of the latency summary.
)";
const char* subscribe_help = R"(  tandem subscribe [--client HOST:PORT | -s HOST:PORT] [--topic REGEX] [--from SEQ] [--count N]
                   [--timeout-ms MS] [--expect N]
                   [--servers H:P,H:P] [--bookmark-file F] [--from-start | --from-now |
                    --from-time TIME] [--fully-durable] [--accept-gaps]
      Print messages whose topic fully matches REGEX (default .*), replaying the journal from
      SEQ first when given; stop after N messages or when none arrives for MS (default 5000).
      stderr says when it is subscribed and waiting, and (failover subscribing) each server it
      cannot reach and each failover. --expect N stops after N messages (--count, when given,
      must be at least N) and exits 1 with `tandem: only K of N expected messages arrived ...`
      when fewer came before the timeout; without it an idle timeout is a normal end (exit 0).
      One line per message, fields separated by one space, in this order:
        seq=N origin=INSTANCE:N publisher=ID:N topic=T size=N payload=TEXT
      seq is the node's journal seq, origin the origin instance and origin_seq, publisher the
      publisher_id and publisher_seq ('-:0' when the record has none); split INSTANCE:N and
      ID:N at their last ':'. payload (last, so it may hold spaces) shows at most 64 bytes,
      non-printable bytes as '.', and ends in '...' when cut.
      Failover subscribing (any of the last five): across --servers (or --client alone),
      resuming from a portable bookmark (per origin and per publisher) kept in --bookmark-file F,
      so a restarted subscriber continues where it stopped; when F is absent the first start is
      the oldest record (--from-start, the default), the durable end (--from-now), or the first
      record stamped at or after TIME (--from-time 2026-11-22T10:00:00Z, ISO 8601 UTC with
      optional fraction, or unix nanoseconds); --fully-durable delivers only records no
      failover can lose. --from SEQ does not combine with these. SIGINT or SIGTERM stops it
      with the bookmark saved (exit 0). The file never covers a message before its line was
      printed and flushed; after a SIGKILL it lags by up to 1 s or 1000 messages (plus the one
      being printed), which the next run prints again.
      Gaps: when the start (--from SEQ, the bookmark, --from-time) asks for records the node no
      longer holds (removed by retention), each missing range is printed to stderr as
        tandem: gap: records with journal seq A..B are no longer held by the node (...)
        tandem: gap: records A..B of origin O are no longer held by the node (...)
      and the rest is printed as usual; the exit code is then 3 unless --accept-gaps.
)";
const char* destination_help = R"(  tandem destination downgrade NAME [--admin HOST:PORT | -s HOST:PORT] [--timeout-ms N]
  tandem destination upgrade NAME [--admin HOST:PORT | -s HOST:PORT] [--timeout-ms N]
      Downgrade sync destination NAME (persisted acks stop waiting for it; held until an
      upgrade), or upgrade it (sync again once it has caught up), through the node's admin
      listener (default 127.0.0.1:27102, -s/--server is --admin; POST /destinations/NAME/downgrade or /upgrade).
      Prints the destination's new state; exit 1 with the node's message when NAME is not a
      configured destination (404) or is async (409), or when the node does not answer.
)";
const char* verify_pair_help = R"(  tandem verify-pair ADMIN_A ADMIN_B [--buckets N] [--timeout-ms N]
      Prove two partners hold the same records (anti-entropy, issue 17): for every origin either
      node reports, compare both nodes' GET /digest (records per origin_seq range, hashed over
      their content) above what either node's retention removed, narrow each differing range,
      and print the first differing ranges. --buckets (1..1024, default 64) per request,
      --timeout-ms (default 10000) per request. Exit 0 identical, 1 divergent, 2 a node did not
      answer. Records still in flight between the two show as a difference: compare a quiet pair.
)";
const char* general_help = R"(  tandem --help | -h | --version
  tandem completion bash
      Print a bash completion script (generated from the option table below), e.g.
      source <(tandem completion bash)
  tandem COMMAND --help
      Print the usage of one command.

credentials (issue 18, docs/security.md), taken by every command that needs them:
  --user NAME --password-file FILE   publish, subscribe: log in as NAME (auth.users_file); the
                                     password is FILE's contents, never an argument
  --token-file FILE                  status, destination, verify-pair: the admin bearer token

TLS (docs/security.md) to the client port (client.tls: publish, subscribe) and to the admin port
(admin.tls: status, destination, verify-pair):
  --tls-ca FILE                      speak TLS; the node's certificate must verify against FILE
                                     (client port: and name the instance its hello names,
                                     tandem:instance/NAME)
  --tls-cert FILE --tls-key FILE     present a client certificate: one naming tandem:user/NAME
                                     logs in as NAME (no --user/--password-file needed)
  --tls-server-name NAME             also require NAME among the certificate's DNS names (and
                                     send it as SNI)


exit codes: 0 ok, 1 the node did not answer (or, for publish, not all persisted), 2 usage error,
            3 subscribe: records asked for were no longer held (a gap; see --accept-gaps)
)";

// The CLI's option table: every command, its usage, and every option it takes (what the bash
// completion offers; each command's argument loop below accepts exactly these).
struct command_spec {
  const char* name;
  const char* help;
  const char* options; // space-separated
};

const command_spec commands[] = {
  {"status", status_help, "--admin -s --server -p --port --json --timeout-ms --watch --interval-ms --count --help -h"},
  {"publish", publish_help,
   "--client -s --server --topic --count --size --window --publisher-id --timeout-ms --servers --publisher-name "
   "--store-file --help -h"},
  {"subscribe", subscribe_help,
   "--client -s --server --topic --from --count --timeout-ms --expect --servers --bookmark-file --from-start "
   "--from-now --from-time --fully-durable --accept-gaps --help -h"},
  {"destination", destination_help, "downgrade upgrade --admin -s --server --timeout-ms --help -h"},
  {"verify-pair", verify_pair_help, "--buckets --timeout-ms --help -h"},
};

std::string full_usage() {
  std::string u = "usage:\n";
  for (const auto& c : commands)
    u += c.help;
  return u + general_help;
}

const command_spec* find_command(const std::string& name) {
  for (const auto& c : commands)
    if (name == c.name)
      return &c;
  return nullptr;
}

// `tandem completion bash`: completes the command word, then the options of that command.
std::string bash_completion() {
  std::string words = "completion --help --version";
  std::string cases;
  for (const auto& c : commands) {
    words += std::string{" "} + c.name;
    cases += std::string{"    "} + c.name + ") opts=\"" + c.options + "\" ;;\n";
  }
  return "# bash completion for tandem (generated by `tandem completion bash`)\n"
         "_tandem() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} opts\n"
         "  if ((COMP_CWORD == 1)); then\n"
         "    COMPREPLY=($(compgen -W \"" + words + "\" -- \"$cur\"))\n"
         "    return\n"
         "  fi\n"
         "  case ${COMP_WORDS[1]} in\n" + cases +
         "    completion) opts=bash ;;\n"
         "    *) opts= ;;\n"
         "  esac\n"
         "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
         "}\n"
         "complete -o default -F _tandem tandem\n";
}

// Set by SIGINT/SIGTERM while a failover subscriber runs: it stops, saves its bookmark, exits 0.
volatile std::sig_atomic_t stop_requested = 0;

void on_stop_signal(int) { stop_requested = 1; }

// Without SA_RESTART, so a blocking wait returns early and the loop sees the flag.
void stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

// The command being run (main sets it): its usage follows a usage error, and --help prints it.
const command_spec* current_command = nullptr;

// Issue 18: the credentials options, taken out of argv by take_access_args before a command
// parses the rest (so every command's parser stays as it was).
struct access_args {
  tandem::client::credentials login; // --user, --password-file
  std::string token;                 // --token-file
  tandem::client::tls_settings tls;  // --tls-ca, --tls-cert, --tls-key, --tls-server-name
  std::shared_ptr<const tandem::tls::context> tls_context; // loaded from `tls` (null: plaintext)
};
access_args cli_access;

// TLS to the admin port (admin.tls): the context --tls-ca loaded, or plaintext.
tandem::client::http_tls admin_tls() { return {cli_access.tls_context, cli_access.tls.server_name}; }

[[noreturn]] void usage_error(const std::string& problem);

std::string secret_from(const std::string& file, std::size_t max_bytes) {
  auto r = tandem::config::read_secret_file(file, max_bytes, tandem::config::world_readable::allowed);
  if (!tandem::config::is_secret(r))
    usage_error(std::get<1>(r));
  return std::get<0>(r);
}

void take_access_args(int& argc, char** argv) {
  int kept = 2;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const bool takes = a == "--user" || a == "--password-file" || a == "--token-file" || a == "--tls-ca" ||
                       a == "--tls-cert" || a == "--tls-key" || a == "--tls-server-name";
    if (!takes) {
      argv[kept++] = argv[i];
      continue;
    }
    if (i + 1 >= argc)
      usage_error(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--user")
      cli_access.login.user = v;
    else if (a == "--password-file")
      cli_access.login.password = secret_from(v, tandem::protocol::limits::max_password_bytes);
    else if (a == "--tls-ca")
      cli_access.tls.ca_file = v;
    else if (a == "--tls-cert")
      cli_access.tls.cert_file = v;
    else if (a == "--tls-key")
      cli_access.tls.key_file = v;
    else if (a == "--tls-server-name")
      cli_access.tls.server_name = v;
    else
      cli_access.token = secret_from(v, 4096);
  }
  argc = kept;
  if (cli_access.login.user.empty() != cli_access.login.password.empty())
    usage_error("--user and --password-file go together");
  const auto& t = cli_access.tls;
  if (!t.enabled() && (!t.cert_file.empty() || !t.key_file.empty() || !t.server_name.empty()))
    usage_error("--tls-cert, --tls-key and --tls-server-name need --tls-ca (the CA the node's certificate is checked against)");
  if (t.enabled())
    if (auto err = tandem::client::load_tls(t, cli_access.tls_context); !err.empty())
      usage_error(err);
}

[[noreturn]] void usage_error(const std::string& problem) {
  std::cerr << "tandem: " << problem << "\n";
  if (current_command != nullptr)
    std::cerr << "usage:\n" << current_command->help;
  else
    std::cerr << "(tandem --help shows the usage)\n";
  std::exit(2);
}

// "HOST:PORT" (HOST may be [v6]) for option `flag`; a usage error otherwise.
void parse_endpoint(const std::string& flag, const std::string& hp, std::string& host, int& port) {
  auto colon = hp.rfind(':');
  if (colon == std::string::npos || colon == 0)
    usage_error(flag + ": expected HOST:PORT, got '" + hp + "'");
  host = hp.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  port = std::atoi(hp.c_str() + colon + 1);
  if (port <= 0 || port > 65535)
    usage_error(flag + ": port out of range in '" + hp + "'");
}

// A whole decimal number in [min, max] for option `flag`; a usage error otherwise.
std::uint64_t parse_number(const std::string& flag, const std::string& text, std::uint64_t min,
                           std::uint64_t max = UINT64_MAX) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max)
    usage_error(flag + ": expected a number from " + std::to_string(min) + " to " + std::to_string(max) +
                ", got '" + text + "'");
  return v;
}

// Walks one command's arguments (those after the command word) for its option loop: the
// current argument, and the value of an option that takes one (a usage error when missing).
class arg_reader {
public:
  arg_reader(int argc, char** argv) : argc_(argc), argv_(argv) {}

  // Moves to the next argument; false after the last. --help or -h in an option's place prints
  // the command's usage and exits 0.
  bool next() {
    if (++i_ >= argc_)
      return false;
    arg_ = argv_[i_];
    if ((arg_ == "--help" || arg_ == "-h") && current_command != nullptr) {
      std::cout << "usage:\n" << current_command->help;
      std::exit(0);
    }
    return true;
  }
  const std::string& arg() const { return arg_; }
  bool is(const char* flag) const { return arg_ == flag; }
  bool is(const char* flag, const char* alias) const { return arg_ == flag || arg_ == alias; }
  bool is(const char* flag, const char* alias, const char* alias2) const { return is(flag, alias) || arg_ == alias2; }
  std::string value() {
    if (i_ + 1 >= argc_)
      usage_error(arg_ + " needs a value");
    return argv_[++i_];
  }
  std::uint64_t number(std::uint64_t min, std::uint64_t max = UINT64_MAX) { return parse_number(arg_, value(), min, max); }
  void endpoint(std::string& host, int& port) { parse_endpoint(arg_, value(), host, port); }

private:
  int argc_;
  char** argv_;
  int i_ = 1; // argv[1] is the command
  std::string arg_;
};

constexpr std::uint64_t max_timeout_ms = 24ull * 3600 * 1000;

// --from-time: unix nanoseconds (digits only) or ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[.f]Z" (at
// most 9 fraction digits); a usage error otherwise.
std::int64_t parse_time_ns(const std::string& flag, const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos)
    return static_cast<std::int64_t>(parse_number(flag, text, 0, INT64_MAX));
  auto bad = [&]() {
    usage_error(flag + ": expected ISO 8601 UTC like 2026-11-22T10:00:00Z (or unix nanoseconds), got '" + text +
                "'");
  };
  // Fixed layout: digits at every position but the separators.
  static constexpr char layout[] = "dddd-dd-ddTdd:dd:dd";
  const std::size_t fixed = sizeof layout - 1;
  if (text.size() < fixed + 1 || text.back() != 'Z')
    bad();
  for (std::size_t i = 0; i < fixed; ++i)
    if (layout[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(text[i])) : text[i] != layout[i])
      bad();
  std::int64_t fraction_ns = 0;
  const std::string rest = text.substr(fixed, text.size() - fixed - 1); // between seconds and 'Z'
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10 ||
        rest.find_first_not_of("0123456789", 1) != std::string::npos)
      bad();
    std::string digits = rest.substr(1);
    digits.resize(9, '0');
    fraction_ns = std::stoll(digits);
  }
  auto num = [&](std::size_t at, std::size_t n) { return std::stoi(text.substr(at, n)); };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  const int year = tm.tm_year, mon = tm.tm_mon, mday = tm.tm_mday;
  if (mon < 0 || mon > 11 || mday < 1 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59 || year < 70)
    bad();
  std::time_t secs = ::timegm(&tm);
  // timegm normalizes Feb 30 into March: a changed date means the text named no real day.
  if (secs == static_cast<std::time_t>(-1) || tm.tm_year != year || tm.tm_mon != mon || tm.tm_mday != mday)
    bad();
  return static_cast<std::int64_t>(secs) * 1'000'000'000 + fraction_ns;
}

// GET /status as a JSON object, or why not (one line, without the "tandem: " prefix).
struct status_fetch {
  nlohmann::json doc;
  std::string error;
};

status_fetch fetch_status(const std::string& host, int port, std::chrono::milliseconds timeout) {
  auto r = tandem::client::http_get(host, static_cast<std::uint16_t>(port), "/status", timeout, 16u << 20, cli_access.token, admin_tls());
  auto endpoint = host + ":" + std::to_string(port);
  if (!r.ok || r.status != 200)
    return {{}, "no status from " + endpoint + ": " + (r.ok ? "HTTP " + std::to_string(r.status) : r.error)};
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return {{}, endpoint + " answered /status with something that is not a JSON object"};
  return {std::move(doc), {}};
}

// --watch: one frame every `interval`, `count` frames (0: until interrupted). Rates come from the
// last status that arrived, so a failed fetch (one line in its frame) widens the next interval
// instead of breaking it. Exit 0 when the last frame showed a status, 1 otherwise.
int watch_status(const std::string& host, int port, std::chrono::milliseconds timeout,
                 std::chrono::milliseconds interval, std::uint64_t count) {
  using clock = std::chrono::steady_clock;
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  auto endpoint = host + ":" + std::to_string(port);
  nlohmann::json previous;
  clock::time_point previous_at;
  bool last_ok = false;
  auto next = clock::now();
  for (std::uint64_t frame = 1; count == 0 || frame <= count; ++frame) {
    if (frame > 1) {
      next += interval;
      next = std::max(next, clock::now()); // after a slow fetch, no burst of frames to catch up
      std::this_thread::sleep_until(next);
    }
    auto fetched = fetch_status(host, port, timeout);
    auto at = clock::now();
    std::string body;
    last_ok = fetched.error.empty();
    if (last_ok) {
      body = tandem::client::render_status_watch(previous, fetched.doc,
                                                 std::chrono::duration<double>(at - previous_at).count());
      previous = std::move(fetched.doc);
      previous_at = at;
    } else {
      body = "tandem: " + fetched.error + "\n";
    }
    auto wall = std::time(nullptr);
    char stamp[16];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&wall));
    if (terminal)
      std::cout << "\x1b[H\x1b[2J";
    else if (frame > 1)
      std::cout << "\n";
    std::cout << "tandem status --watch " << endpoint << ", every " << interval.count() << " ms, " << stamp << "\n"
              << body << std::flush;
  }
  return last_ok ? 0 : 1;
}

// The admin endpoint given as an argument: HOST:PORT, or a PORT alone on 127.0.0.1 (redis-cli).
void admin_argument(const std::string& text, std::string& host, int& port) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    host = "127.0.0.1";
    port = static_cast<int>(parse_number("ADMIN", text, 1, 65535));
  } else {
    parse_endpoint("ADMIN", text, host, port);
  }
}

int status(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 27102;
  bool json = false;
  bool watch = false;
  bool endpoint_given = false;
  std::uint64_t timeout_ms = 3000;
  std::uint64_t interval_ms = 1000;
  std::uint64_t count = 0;
  auto once = [&] {
    if (endpoint_given)
      usage_error("give the admin endpoint once");
    endpoint_given = true;
  };
  for (arg_reader r{argc, argv}; r.next();) {
    if (r.is("--json"))
      json = true;
    else if (r.is("--watch"))
      watch = true;
    else if (r.is("--admin", "-s", "--server")) {
      once();
      r.endpoint(host, port);
    } else if (r.is("-p", "--port")) {
      once();
      port = static_cast<int>(r.number(1, 65535));
    } else if (r.is("--timeout-ms"))
      timeout_ms = r.number(1, max_timeout_ms);
    else if (r.is("--interval-ms"))
      interval_ms = r.number(10, max_timeout_ms);
    else if (r.is("--count"))
      count = r.number(0);
    else if (r.arg().rfind("-", 0) == 0)
      usage_error("unknown argument '" + r.arg() + "'");
    else {
      once();
      admin_argument(r.arg(), host, port);
    }
  }
  if (json && watch)
    usage_error("--json and --watch do not mix (poll `tandem status --json` for raw documents)");
  if (watch)
    return watch_status(host, port, std::chrono::milliseconds{timeout_ms}, std::chrono::milliseconds{interval_ms},
                        count);
  auto fetched = fetch_status(host, port, std::chrono::milliseconds{timeout_ms});
  if (!fetched.error.empty()) {
    std::cerr << "tandem: " << fetched.error << "\n";
    return 1;
  }
  if (json)
    std::cout << fetched.doc.dump(2) << "\n";
  else
    std::cout << tandem::client::render_status(fetched.doc) << std::flush;
  return 0;
}

// Printable generated payload of exactly `size` bytes, distinct per message: "<i> abcd...".
std::string generated_payload(std::uint64_t i, std::size_t size) {
  std::string p = std::to_string(i) + " ";
  while (p.size() < size)
    p.push_back(static_cast<char>('a' + p.size() % 26));
  p.resize(size);
  return p;
}

// The node's latest `waiting` notice (protocol 1.2), for a publish that timed out: which sync
// destinations its acks waited for.
std::string waited_for(const std::optional<tandem::protocol::waiting>& w) {
  if (!w)
    return "the node named no sync destination its acks wait for";
  std::string names;
  for (const auto& d : w->destinations)
    names += (names.empty() ? "" : ", ") + d;
  return "acks wait for sync destination(s) " + names + " (the oldest unanswered publish had waited " +
         std::to_string(w->waited_ms) + " ms)";
}

// Partial acks (protocol 1.2): how many, who lacked the messages, how many became complete.
void print_partial(std::uint64_t partial, std::uint64_t completed, const std::map<std::string, std::uint64_t>& not_on) {
  if (partial == 0)
    return;
  std::cout << "  partial acks " << partial << " (not yet on";
  for (const auto& [name, count] : not_on)
    std::cout << " " << name << ":" << count;
  std::cout << "), completed later " << completed << "\n";
}

// Failover publishing: ha_publisher over a server list, with the memory store or a file store
// (a restarted run with the same name and store file resends what was never acked, and its seqs
// continue). The summary line is the one-server path's.
int publish_ha(const std::string& servers, const std::optional<std::string>& store_dir, const std::string& name,
               const std::string& topic, const std::optional<std::string>& message, std::uint64_t n,
               std::uint64_t size, std::size_t window, std::chrono::milliseconds timeout) {
  auto list = tandem::client::parse_servers(servers);
  if (list.servers.empty())
    usage_error("--servers: " + list.error);
  std::unique_ptr<tandem::client::publish_store> store;
  if (store_dir) {
    auto opened = tandem::client::file_publish_store::open(*store_dir);
    if (!opened.store) {
      std::cerr << "tandem: publish store: " << (opened.error ? opened.error->message : std::string{"cannot open"})
                << "\n";
      return 1;
    }
    store = std::move(opened.store);
  } else {
    store = std::make_unique<tandem::client::memory_publish_store>();
  }
  tandem::client::ha_publisher_options o;
  o.login = cli_access.login;
  o.tls = cli_access.tls_context;
  o.tls_server_name = cli_access.tls.server_name;
  o.name = name;
  o.servers = list.servers;
  o.window = window;
  tandem::client::ha_publisher pub{o, *store};
  auto start = std::chrono::steady_clock::now();
  bool ok = true;
  for (std::uint64_t i = 1; i <= n && ok; ++i)
    ok = pub.publish(topic, message ? *message : generated_payload(i, size), timeout).has_value();
  if (ok)
    ok = pub.wait_acked(timeout);
  // Messages acked partially stay in the store until their sync destinations hold them: give
  // `replicated` notes a moment (not an error when they take longer; a file store keeps them).
  if (ok && !store->empty())
    pub.wait_all(std::min(timeout, std::chrono::milliseconds{2000}));
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& c = pub.counters();
  const auto acked = c.persisted + c.partial - (o.drop_at_persisted_ack ? c.partial : 0);
  std::cout << "published " << c.published << " via " << servers << " as " << name << ": persisted " << acked
            << ", rejected " << c.negative << ", resent " << c.resent << ", already held " << c.already_held
            << ", failovers " << c.failovers << ", "
            << static_cast<std::uint64_t>(elapsed > 0 ? static_cast<double>(acked) / elapsed : 0) << " msg/s\n";
  print_partial(c.partial, c.completed, c.not_on);
  if (store->persisted_count() > 0)
    std::cout << "  " << store->persisted_count()
              << " acked partially and not yet on every sync destination: kept in the publish store\n";
  if (!ok) {
    std::cerr << "tandem: " << pub.error() << "\n";
    if (store->size() > store->persisted_count())
      std::cerr << "tandem: " << waited_for(c.last_waiting) << "\n";
  }
  pub.close();
  return ok && store->size() == store->persisted_count() && c.negative == 0 ? 0 : 1;
}

// What `tandem publish` was asked to do (parse_publish_args checks it).
struct publish_args {
  std::string host = "127.0.0.1";
  int port = 27101;
  std::string topic = "tandem.test";
  std::optional<std::uint64_t> count;
  std::optional<std::uint64_t> size;
  std::uint64_t window = 64;
  std::string publisher_id;
  std::uint64_t timeout_ms = 10000;
  std::optional<std::string> message;
  std::optional<std::string> servers, store_file, publisher_name;
  bool client_given = false, publisher_id_given = false;

  std::uint64_t n() const { return count.value_or(1); }
  std::string endpoint() const { return host + ":" + std::to_string(port); }
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds{timeout_ms}; }
  // Failover publishing (publish_ha) rather than one publisher on one connection.
  bool failover() const { return servers || store_file || publisher_name; }
};

// Unique per run (HOST-PID-MS; containers repeat pids): nodes drop a (publisher_id,
// publisher_seq) they already hold, and a run without a stable name restarts at seq 1.
std::string run_publisher_id() {
  char hostname[256] = "host";
  ::gethostname(hostname, sizeof hostname - 1);
  return "tandem-cli-" + std::string{hostname} + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

publish_args parse_publish_args(int argc, char** argv) {
  publish_args p;
  p.publisher_id = run_publisher_id();
  for (arg_reader r{argc, argv}; r.next();) {
    if (r.is("--client", "-s", "--server")) {
      r.endpoint(p.host, p.port);
      p.client_given = true;
    } else if (r.is("--topic"))
      p.topic = r.value();
    else if (r.is("--count"))
      p.count = r.number(1);
    else if (r.is("--size"))
      p.size = r.number(0, 64u << 20);
    else if (r.is("--window"))
      p.window = r.number(1, 1u << 20);
    else if (r.is("--publisher-id")) {
      p.publisher_id = r.value();
      p.publisher_id_given = true;
    } else if (r.is("--servers"))
      p.servers = r.value();
    else if (r.is("--store-file"))
      p.store_file = r.value();
    else if (r.is("--publisher-name"))
      p.publisher_name = r.value();
    else if (r.is("--timeout-ms"))
      p.timeout_ms = r.number(1, max_timeout_ms);
    else if (r.arg().rfind("--", 0) == 0 || p.message)
      usage_error("unknown argument '" + r.arg() + "'");
    else
      p.message = r.arg();
  }
  if (p.message && (p.count || p.size))
    usage_error("give either MESSAGE or --count/--size, not both");
  if (p.topic.empty())
    usage_error("--topic must not be empty");
  if (p.client_given && p.servers)
    usage_error("give --client (one server) or --servers (a failover list), not both");
  if (p.publisher_id_given && p.publisher_name)
    usage_error("give --publisher-id or --publisher-name, not both");
  if (p.publisher_name && p.publisher_name->empty())
    usage_error("--publisher-name must not be empty");
  // A store resent under another name would be stored again: the duplicate rule is per name.
  if (p.store_file && !p.publisher_name && !p.publisher_id_given)
    usage_error("--store-file needs --publisher-name: a restarted run must resend under the same name");
  return p;
}

// One publisher on one connection; the summary has the ack latency and the first rejections.
int publish_one(const publish_args& p) {
  const auto n = p.n();
  const auto timeout = p.timeout();
  tandem::client::client_connection conn;
  conn.set_credentials(cli_access.login);
  conn.set_tls(cli_access.tls_context, cli_access.tls.server_name);
  if (auto err = conn.connect(p.host, static_cast<std::uint16_t>(p.port), "tandem publish", timeout); !err.empty()) {
    std::cerr << "tandem: cannot connect: " << err << "\n";
    return 1;
  }
  tandem::client::publisher pub{conn, {p.publisher_id, static_cast<std::size_t>(p.window)}};
  auto start = std::chrono::steady_clock::now();
  bool ok = true;
  for (std::uint64_t i = 1; i <= n && ok; ++i)
    ok = pub.publish(p.topic, p.message ? *p.message : generated_payload(i, p.size.value_or(100)), timeout)
             .has_value();
  if (ok)
    ok = pub.wait_all(timeout);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& c = pub.counters();
  auto us = [&](double q) {
    return std::chrono::duration_cast<std::chrono::microseconds>(tandem::client::percentile(c.ack_latencies, q)).count();
  };
  auto acked = static_cast<double>(c.persisted + c.negative);
  if (!ok && c.persisted + c.negative == 0 && conn.is_open())
    // Nothing answered: a latency of 0 us would be a lie. Say what the node said it waits for.
    std::cout << "published " << c.sent << " to " << p.endpoint() << ": no ack within " << timeout.count()
              << " ms; " << waited_for(c.last_waiting) << "\n";
  else
    std::cout << "published " << c.sent << " to " << p.endpoint() << ": persisted " << c.persisted << ", rejected "
              << c.negative << ", ack latency p50 " << us(50) << " us p99 " << us(99) << " us, "
              << static_cast<std::uint64_t>(elapsed > 0 ? acked / elapsed : 0) << " msg/s\n";
  print_partial(c.partial, c.completed, c.not_on);
  for (std::size_t i = 0; i < c.first_rejections.size() && i < 5; ++i) {
    const auto& r = c.first_rejections[i];
    std::cout << "  rejected seq " << r.publisher_seq << ": " << tandem::client::nack_reason_name(r.code) << ": "
              << r.reason << "\n";
  }
  if (c.negative > 5)
    std::cout << "  (" << c.negative - 5 << " more rejections)\n";
  if (!ok) {
    std::cerr << "tandem: " << pub.error() << "\n";
    if (conn.is_open() && c.persisted + c.negative > 0)
      std::cerr << "tandem: " << waited_for(c.last_waiting) << "\n";
  }
  conn.close();
  return ok && c.persisted == n ? 0 : 1;
}

int publish(int argc, char** argv) {
  const auto p = parse_publish_args(argc, argv);
  if (!p.failover())
    return publish_one(p);
  return publish_ha(p.servers.value_or(p.endpoint()), p.store_file, p.publisher_name.value_or(p.publisher_id), p.topic,
                    p.message, p.n(), p.size.value_or(100), static_cast<std::size_t>(p.window), p.timeout());
}

// At most 64 bytes of the payload, non-printable bytes as '.', "..." when cut.
std::string preview(const std::string& payload) {
  std::string p;
  for (std::size_t i = 0; i < payload.size() && i < 64; ++i) {
    auto ch = static_cast<unsigned char>(payload[i]);
    p.push_back(ch >= 0x20 && ch < 0x7f ? static_cast<char>(ch) : '.');
  }
  if (payload.size() > 64)
    p += "...";
  return p;
}

// One line per message: seq=N origin=I:N publisher=P:N topic=T size=N payload=...
void print_delivered(const tandem::protocol::delivered& d) {
  std::cout << "seq=" << d.seq << " origin=" << d.origin_instance << ":" << d.origin_seq
            << " publisher=" << (d.publisher_id.empty() ? "-" : d.publisher_id) << ":" << d.publisher_seq
            << " topic=" << d.topic << " size=" << d.payload.size() << " payload=" << preview(d.payload) << "\n"
            << std::flush;
}

// A subscription_gap on stderr: what the start point asked for that the node no longer holds.
void print_gap(const tandem::protocol::subscription_gap& g) {
  std::cerr << "tandem: gap: ";
  if (g.origin_instance.empty())
    std::cerr << "records with journal seq " << g.first << ".." << g.last << " are no longer held by the node";
  else
    std::cerr << "records " << g.first << ".." << g.last << " of origin " << g.origin_instance
              << " are no longer held by the node";
  std::cerr << " (" << (g.reason == tandem::protocol::gap_reason::retention ? "removed by retention" : "reason code " +
                        std::to_string(static_cast<unsigned>(g.reason)))
            << "; " << (g.last - g.first + 1) << " records)\n";
}

// Exit code of a subscription that saw a gap (unless --accept-gaps).
constexpr int exit_gap = 3;

// What `tandem subscribe` was asked to do (parse_subscribe_args checks it).
struct subscribe_args {
  std::string host = "127.0.0.1";
  int port = 27101;
  std::string topic = ".*";
  std::optional<std::uint64_t> from;
  std::uint64_t count = 0; // 0: until idle
  std::uint64_t expect = 0; // --expect: fewer arrived before the idle timeout is a failure (exit 1)
  std::uint64_t timeout_ms = 5000;
  std::optional<std::string> servers, bookmark_file;
  std::optional<tandem::protocol::subscribe_start> start;
  std::int64_t from_time_ns = 0;
  bool fully_durable = false;
  bool client_given = false;
  bool accept_gaps = false;

  std::string endpoint() const { return host + ":" + std::to_string(port); }
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds{timeout_ms}; }
  // Failover subscribing (subscribe_ha) rather than one subscription on one connection.
  bool failover() const { return servers || bookmark_file || start || fully_durable; }
  // The exit code once the subscription ended well, having printed `gaps` gaps and `got` messages;
  // fewer than --expect asked for is a failure, said on stderr.
  int exit_code(std::uint64_t gaps, std::uint64_t got) const {
    if (got < expect) {
      std::cerr << "tandem: only " << got << " of " << expect << " expected messages arrived";
      if (stop_requested)
        std::cerr << " before the stop signal\n";
      else
        std::cerr << " (none for " << timeout_ms << " ms)\n";
      return 1;
    }
    return gaps > 0 && !accept_gaps ? exit_gap : 0;
  }
  // The stderr line once the subscription is set up.
  void say_waiting(const std::string& where) const {
    std::cerr << "tandem: subscribed at " << where << " (topic " << topic << "); waiting for messages";
    if (expect > 0)
      std::cerr << " (" << expect << " expected)";
    std::cerr << ", up to " << timeout_ms << " ms for each\n";
  }
};

subscribe_args parse_subscribe_args(int argc, char** argv) {
  subscribe_args s;
  auto set_start = [&](const std::string& flag, tandem::protocol::subscribe_start st) {
    if (s.start)
      usage_error(flag + ": give one of --from-start, --from-now and --from-time");
    s.start = st;
  };
  for (arg_reader r{argc, argv}; r.next();) {
    if (r.is("--client", "-s", "--server")) {
      r.endpoint(s.host, s.port);
      s.client_given = true;
    } else if (r.is("--topic"))
      s.topic = r.value();
    else if (r.is("--from"))
      s.from = r.number(0);
    else if (r.is("--count"))
      s.count = r.number(1);
    else if (r.is("--timeout-ms"))
      s.timeout_ms = r.number(1, max_timeout_ms);
    else if (r.is("--expect"))
      s.expect = r.number(1);
    else if (r.is("--servers"))
      s.servers = r.value();
    else if (r.is("--bookmark-file"))
      s.bookmark_file = r.value();
    else if (r.is("--from-start"))
      set_start(r.arg(), tandem::protocol::subscribe_start::oldest);
    else if (r.is("--from-now"))
      set_start(r.arg(), tandem::protocol::subscribe_start::now);
    else if (r.is("--from-time")) {
      set_start(r.arg(), tandem::protocol::subscribe_start::from_time);
      const std::string flag = r.arg();
      s.from_time_ns = parse_time_ns(flag, r.value());
    } else if (r.is("--fully-durable"))
      s.fully_durable = true;
    else if (r.is("--accept-gaps"))
      s.accept_gaps = true;
    else
      usage_error("unknown argument '" + r.arg() + "'");
  }
  if (s.client_given && s.servers)
    usage_error("give --client (one server) or --servers (a failover list), not both");
  if (s.bookmark_file && s.bookmark_file->empty())
    usage_error("--bookmark-file needs a file name");
  if (s.failover() && s.from)
    usage_error("--from SEQ is a local journal position: it does not combine with failover options");
  if (s.expect > 0 && s.count > 0 && s.count < s.expect)
    usage_error("--count " + std::to_string(s.count) + " is less than --expect " + std::to_string(s.expect));
  if (s.count == 0)
    s.count = s.expect;
  return s;
}

// What failover subscribing says on stderr about its connections: a server it cannot reach, the
// first subscription (waiting), a failover to another server, a reconnect to the same one.
class failover_notices {
public:
  explicit failover_notices(const subscribe_args& s) : args_(s) {}

  void on_attempt(const tandem::client::attempt_report& a) {
    if (!a.error.empty()) {
      std::cerr << "tandem: cannot reach " << a.server << ": " << a.error << "\n";
      return;
    }
    if (!last_)
      args_.say_waiting(a.server);
    else if (*last_ != a.server)
      std::cerr << "tandem: failed over from " << *last_ << " to " << a.server << "; waiting for messages\n";
    else
      std::cerr << "tandem: reconnected to " << a.server << "; waiting for messages\n";
    last_ = a.server;
  }

private:
  const subscribe_args& args_;
  std::optional<std::string> last_; // the server of the latest connection
};

// Failover subscribing: ha_subscriber across the server list, resuming from the bookmark file.
int subscribe_ha(const subscribe_args& s) {
  const auto timeout = s.timeout();
  std::uint64_t gaps = 0;
  tandem::client::ha_subscriber_options o;
  o.login = cli_access.login;
  o.tls = cli_access.tls_context;
  o.tls_server_name = cli_access.tls.server_name;
  o.client_name = "tandem subscribe";
  auto list = tandem::client::parse_servers(s.servers.value_or(s.endpoint()));
  if (list.servers.empty())
    usage_error("--servers: " + list.error);
  o.servers = list.servers;
  o.topic_regex = s.topic;
  o.fully_durable = s.fully_durable;
  o.first_start = s.start.value_or(tandem::protocol::subscribe_start::oldest);
  o.start_time_ns = s.from_time_ns;
  o.bookmark_file = s.bookmark_file.value_or("");
  o.on_gap = [&gaps](const tandem::protocol::subscription_gap& g) {
    print_gap(g);
    ++gaps;
  };
  failover_notices notices{s};
  o.on_attempt = [&notices](const tandem::client::attempt_report& a) { notices.on_attempt(a); };
  tandem::client::ha_subscriber sub{o};
  if (auto err = sub.open(); !err.empty()) {
    std::cerr << "tandem: " << err << "\n";
    return 1;
  }
  // Short waits, so that a signal is seen within 200 ms; idle means nothing for `timeout`.
  // Only a subscriber that is not connected when it goes idle failed: error() also keeps the
  // reason of a disconnect it has since recovered from.
  stop_on_signals();
  auto idle_since = std::chrono::steady_clock::now();
  std::uint64_t got = 0;
  while ((s.count == 0 || got < s.count) && !stop_requested) {
    auto d = sub.next(std::min(timeout, std::chrono::milliseconds{200}));
    if (d) {
      print_delivered(*d); // flushed: handed over before the next next() lets the bookmark cover it
      if (!std::cout) {
        // Not printed: leave it out of the bookmark (the destructor saves only what was printed).
        std::cerr << "tandem: cannot write to standard output\n";
        return 1;
      }
      ++got;
      idle_since = std::chrono::steady_clock::now();
      continue;
    }
    if (std::chrono::steady_clock::now() - idle_since < timeout)
      continue;
    if (!sub.connected()) {
      std::cerr << "tandem: " << (sub.error().empty() ? std::string{"no server reachable"} : sub.error()) << "\n";
      sub.stop();
      return 1;
    }
    break; // idle for the whole timeout
  }
  if (auto err = sub.stop(); !err.empty()) {
    std::cerr << "tandem: " << err << "\n";
    return 1;
  }
  return s.exit_code(gaps, got);
}

// One subscription on one connection, from journal seq --from when given.
int subscribe_one(const subscribe_args& s) {
  const auto timeout = s.timeout();
  std::uint64_t gaps = 0;
  tandem::client::client_connection conn;
  conn.set_credentials(cli_access.login);
  conn.set_tls(cli_access.tls_context, cli_access.tls.server_name);
  if (auto err = conn.connect(s.host, static_cast<std::uint16_t>(s.port), "tandem subscribe", timeout); !err.empty()) {
    std::cerr << "tandem: cannot connect: " << err << "\n";
    return 1;
  }
  tandem::client::subscriber sub{conn};
  if (!sub.subscribe(s.topic, s.from, timeout)) {
    std::cerr << "tandem: cannot subscribe at " << s.endpoint() << ": " << sub.error() << "\n";
    return 1;
  }
  s.say_waiting(s.endpoint());
  auto report_gaps = [&] {
    for (const auto& g : sub.take_gaps()) {
      print_gap(g);
      ++gaps;
    }
  };
  std::uint64_t got = 0;
  for (; s.count == 0 || got < s.count; ++got) {
    auto d = sub.next(timeout);
    report_gaps(); // they precede the first delivery
    if (!d) {
      if (!sub.is_open()) {
        std::cerr << "tandem: " << sub.error() << "\n";
        return 1;
      }
      break; // idle for the whole timeout
    }
    print_delivered(*d);
  }
  conn.close();
  return s.exit_code(gaps, got);
}

int subscribe(int argc, char** argv) {
  const auto s = parse_subscribe_args(argc, argv);
  return s.failover() ? subscribe_ha(s) : subscribe_one(s);
}

// `tandem destination downgrade|upgrade NAME`: one POST to the admin listener, its answer printed.
int destination(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 27102;
  std::uint64_t timeout_ms = 3000;
  std::vector<std::string> words; // action, NAME
  for (arg_reader r{argc, argv}; r.next();) {
    if (r.is("--admin", "-s", "--server"))
      r.endpoint(host, port);
    else if (r.is("--timeout-ms"))
      timeout_ms = r.number(1, max_timeout_ms);
    else if (r.arg().rfind("--", 0) == 0)
      usage_error("unknown argument '" + r.arg() + "'");
    else
      words.push_back(r.arg());
  }
  if (words.size() != 2 || (words[0] != "downgrade" && words[0] != "upgrade"))
    usage_error("expected: tandem destination downgrade|upgrade NAME");
  const auto& name = words[1];
  if (name.empty() || name.find_first_of("/?# \t\r\n") != std::string::npos)
    usage_error("destination name '" + name + "' cannot be a configured destination");
  auto r = tandem::client::http_call("POST", host, static_cast<std::uint16_t>(port),
                                     "/destinations/" + name + "/" + words[0], std::chrono::milliseconds{timeout_ms},
                                     16u << 20, cli_access.token, admin_tls());
  const auto endpoint = host + ":" + std::to_string(port);
  if (!r.ok) {
    std::cerr << "tandem: no answer from " << endpoint << ": " << r.error << "\n";
    return 1;
  }
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200) {
    const auto message = doc.is_object() && doc.contains("error") && doc["error"].is_string()
                           ? doc["error"].get<std::string>()
                           : r.body;
    std::cerr << "tandem: " << endpoint << " refused (HTTP " << r.status << "): " << message << "\n";
    return 1;
  }
  std::cout << (doc.is_discarded() ? r.body : doc.dump(2) + "\n");
  return 0;
}

// `tandem verify-pair ADMIN_A ADMIN_B`: client/verify_pair.hpp does the comparing.
int verify_pair(int argc, char** argv) {
  std::vector<std::pair<std::string, int>> admins;
  tandem::client::verify_options opts;
  std::uint64_t timeout_ms = 10000;
  for (arg_reader r{argc, argv}; r.next();) {
    if (r.is("--buckets"))
      opts.buckets = static_cast<std::size_t>(r.number(1, tandem::anti_entropy::max_buckets));
    else if (r.is("--timeout-ms"))
      timeout_ms = r.number(1, max_timeout_ms);
    else if (r.arg().rfind("--", 0) == 0)
      usage_error("unknown argument '" + r.arg() + "'");
    else {
      std::pair<std::string, int> admin;
      parse_endpoint("ADMIN", r.arg(), admin.first, admin.second);
      admins.push_back(admin);
    }
  }
  if (admins.size() != 2)
    usage_error("expected: tandem verify-pair ADMIN_A ADMIN_B");
  auto fetch_from = [timeout_ms](const std::pair<std::string, int>& admin) {
    return [admin, timeout_ms](const std::string& path) {
      return tandem::client::http_get(admin.first, static_cast<std::uint16_t>(admin.second), path,
                                      std::chrono::milliseconds{timeout_ms}, 16u << 20, cli_access.token, admin_tls());
    };
  };
  const auto result = tandem::client::verify_pair(fetch_from(admins[0]), fetch_from(admins[1]), opts);
  const auto name = [](const auto& a) { return a.first + ":" + std::to_string(a.second); };
  (result.error.empty() ? std::cout : std::cerr) << result.describe(name(admins[0]), name(admins[1]));
  return result.exit_code();
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    usage_error("missing command");
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << full_usage();
    return 0;
  }
  if (cmd == "--version") {
    std::cout << "tandem " << TANDEM_VERSION << "\n";
    return 0;
  }
  if (cmd == "completion") {
    if (argc != 3 || std::string{argv[2]} != "bash")
      usage_error("expected: tandem completion bash");
    std::cout << bash_completion();
    return 0;
  }
  current_command = find_command(cmd);
  take_access_args(argc, argv);
  if (cmd == "status")
    return status(argc, argv);
  if (cmd == "publish")
    return publish(argc, argv);
  if (cmd == "subscribe")
    return subscribe(argc, argv);
  if (cmd == "destination")
    return destination(argc, argv);
  if (cmd == "verify-pair")
    return verify_pair(argc, argv);
  usage_error("unknown command '" + cmd + "'");
}
