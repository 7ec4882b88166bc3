#include "client/server_list.hpp"

#include <algorithm>
#include <charconv>
#include <thread>
#include <utility>
#include <variant>

namespace tandem::client {

namespace {

std::chrono::milliseconds until(steady_clock::time_point from, steady_clock::time_point to) {
  return std::max(std::chrono::ceil<std::chrono::milliseconds>(to - from), std::chrono::milliseconds{0});
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

parsed_servers parse_servers(std::string_view text) {
  parsed_servers out;
  std::size_t n = 0;
  while (true) {
    const auto comma = text.find(',');
    const std::string_view entry = trimmed(text.substr(0, comma));
    const std::string where = "server " + std::to_string(++n) + " '" + std::string{entry} + "': ";
    const auto colon = entry.rfind(':');
    if (entry.empty() || colon == std::string_view::npos || colon == 0 || colon + 1 == entry.size()) {
      out.servers.clear();
      out.error = where + "expected host:port";
      return out;
    }
    std::string_view host = entry.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    const std::string_view port_text = entry.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      out.servers.clear();
      out.error = where + "port must be 1..65535";
      return out;
    }
    out.servers.push_back({std::string{host}, static_cast<std::uint16_t>(port)});
    if (comma == std::string_view::npos)
      return out;
    text.remove_prefix(comma + 1);
  }
}

server_list::server_list(std::vector<server_address> servers, failover_options options, failover_clock clock)
  : servers_(std::move(servers)), options_(options), clock_(std::move(clock)),
    cycler_(servers_.size(), options_.backoff, options_.seed) {
  if (!clock_.sleep_until)
    clock_.sleep_until = [](steady_clock::time_point t) { std::this_thread::sleep_until(t); };
}

const server_address* server_list::current() const {
  return ever_connected_ ? &servers_[last_index_] : nullptr;
}

void server_list::on_disconnected() {
  if (!cycler_.connected_index())
    return;
  cycler_.on_disconnected();
  const auto now = clock_.now();
  if (now - established_at_ < options_.min_session)
    not_before_ = now + options_.backoff.initial;
}

connect_result server_list::connect(client_connection& connection, const std::string& client_name,
                                    steady_clock::time_point deadline, const session_setup& setup) {
  connect_result r;
  if (servers_.empty()) {
    r.error = "no servers to connect to";
    return r;
  }
  if (cycler_.connected_index()) // the caller lost a connection without telling us
    on_disconnected();
  if (not_before_) {
    const auto now = clock_.now();
    if (*not_before_ > deadline) {
      r.error = "the last session ended at once; next attempt in " + std::to_string(until(now, *not_before_).count()) + " ms";
      return r;
    }
    if (now < *not_before_)
      clock_.sleep_until(*not_before_);
    not_before_.reset();
  }
  std::string errors; // this call's failed attempts, most recent pass only
  for (;;) {
    const auto now = clock_.now();
    const auto step = cycler_.next(now);
    if (const auto* w = std::get_if<logic::address_cycler::wait_until>(&step)) {
      if (w->at > deadline) {
        r.error = (errors.empty() ? std::string{"no server reachable"} : errors) + "; next attempt in " +
                  std::to_string(until(now, w->at).count()) + " ms";
        return r;
      }
      clock_.sleep_until(w->at);
      errors.clear();
      continue;
    }
    // Never idle here: nothing is connected and no dial is in flight between calls.
    const std::size_t index = std::get<logic::address_cycler::dial>(step).index;
    const auto& server = servers_[index];
    const auto dial_deadline = std::min(deadline, now + options_.connect_timeout);
    std::string error =
      connection.connect(server.host, server.port, client_name, until(clock_.now(), dial_deadline));
    setup_result set = setup_result::ok();
    if (error.empty() && setup) {
      set = setup(connection, dial_deadline);
      if (set.result != setup_result::outcome::ok) {
        error = server.text() + ": " + set.error;
        connection.close(std::chrono::milliseconds{100});
      }
    }
    if (observer_)
      observer_({index, server.text(), error});
    if (error.empty()) {
      cycler_.on_connected();
      established_at_ = clock_.now();
      last_index_ = index;
      ever_connected_ = true;
      r.connected = true;
      return r;
    }
    cycler_.on_attempt_failed(clock_.now());
    errors += (errors.empty() ? "" : "; ") + error;
    if (set.result == setup_result::outcome::fatal) {
      r.fatal = true;
      r.error = error;
      return r;
    }
    if (clock_.now() >= deadline) {
      r.error = errors;
      return r;
    }
  }
}

} // namespace tandem::client
