// A client's prioritized list of equivalent nodes, and the failover rule for connecting to one:
// the same rule as a destination's address list (actors/logic/address_cycler.hpp, which this
// class drives). Every time a connection is needed, attempts start at the top of the list and go
// down in order; after a full pass with no connection it waits the backoff (initial, times
// multiplier after each further failed pass, capped at max, dithered by jitter), then starts at
// the top again. A successful session resets the backoff, so losing it redials the top at once.
//
//   server_list servers{parse_servers("a:27101,b:27101").value, {}};
//   auto r = servers.connect(conn, "me", steady_clock::now() + 5s, no_setup);
//   ... conn fails ...
//   servers.on_disconnected();     // the next connect() starts at the top again
//
// A session counts as connected for the rule only once `setup` (the session's own handshake
// after client_hello, e.g. a publisher logon) succeeded; a node that answers the hello but fails
// the setup is a failed attempt. A setup that reports `fatal` stops the search at once.
//
// Blocking, single-threaded. Each dial is bounded by connect_timeout and by the caller's
// deadline; the waits between passes go through `failover_clock`, which tests replace with a
// virtual clock so the backoff schedule is checked without sleeping.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/logic/address_cycler.hpp"
#include "client/client_connection.hpp"

namespace tandem::client {

struct server_address {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
  bool operator==(const server_address&) const = default;
};

struct parsed_servers {
  std::vector<server_address> servers; // empty on error
  std::string error;                   // "" on success, else which entry is wrong and why
};

// "host:port[,host:port...]" in priority order; IPv6 literals as "[::1]:27101". An empty list, an
// entry without a port, or a port outside 1..65535 is an error naming the entry.
parsed_servers parse_servers(std::string_view text);

struct failover_options {
  logic::backoff_config backoff{};
  std::chrono::milliseconds connect_timeout{2000}; // one dial: TCP connect + hello + setup
  // A session that ends sooner than this after it was set up (e.g. a node that accepts the
  // hello, then closes on the first request) delays the next dial by backoff.initial, so a
  // client cannot spin reconnecting to it.
  std::chrono::milliseconds min_session{1000};
  std::uint64_t seed = 1; // jitter generator (address_cycler)
};

// Where the failover waits take their time from. The default is the steady clock and a real
// sleep; a test passes a virtual clock whose sleep_until only moves its own time forward.
struct failover_clock {
  std::function<steady_clock::time_point()> now = [] { return steady_clock::now(); };
  std::function<void(steady_clock::time_point)> sleep_until;
};

// What a session's handshake after client_hello found.
struct setup_result {
  enum class outcome { ok, failed, fatal };
  outcome result = outcome::ok;
  std::string error; // why, when not ok
  static setup_result ok() { return {}; }
  static setup_result failed(std::string why) { return {outcome::failed, std::move(why)}; }
  static setup_result fatal(std::string why) { return {outcome::fatal, std::move(why)}; }
};
using session_setup = std::function<setup_result(client_connection&, steady_clock::time_point deadline)>;

// One dial and how it ended; for logs and tests.
struct attempt_report {
  std::size_t index = 0;
  std::string server; // host:port
  std::string error;  // "" = connected
};

struct connect_result {
  bool connected = false;
  bool fatal = false; // the setup refused for good (e.g. publisher_in_use); do not retry
  std::string error;  // when not connected: the last attempts' errors, or the wait still due
};

class server_list {
public:
  server_list(std::vector<server_address> servers, failover_options options, failover_clock clock = {});

  // Connects `connection` (client_hello as client_name, then `setup`) to a server by the
  // failover rule, sleeping between passes, never past `deadline`. When the next pass is due
  // after the deadline it returns at once, not connected; the wait stays due for the next call.
  connect_result connect(client_connection& connection, const std::string& client_name,
                         steady_clock::time_point deadline, const session_setup& setup);

  // The connection connect() made has failed or was closed: the next connect() starts at the
  // top of the list with the initial backoff.
  void on_disconnected();

  // Called after every dial (optional), e.g. to log failovers.
  void set_attempt_observer(std::function<void(const attempt_report&)> observer) {
    observer_ = std::move(observer);
  }

  const std::vector<server_address>& servers() const { return servers_; }
  bool connected() const { return cycler_.connected_index().has_value(); }
  // Address of the live connection, or of the last one.
  const server_address* current() const;
  const logic::address_cycler& cycler() const { return cycler_; }
  // Connections made to a different server than the previous connection.
  std::uint64_t failovers() const { return cycler_.failovers(); }

private:
  std::vector<server_address> servers_;
  failover_options options_;
  failover_clock clock_;
  logic::address_cycler cycler_;
  std::function<void(const attempt_report&)> observer_;
  std::size_t last_index_ = 0;
  bool ever_connected_ = false;
  steady_clock::time_point established_at_{};
  std::optional<steady_clock::time_point> not_before_; // after a session shorter than min_session
};

} // namespace tandem::client
