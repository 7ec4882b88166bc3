#include "client/ha_publisher.hpp"

#include <algorithm>
#include <utility>

#include "client/code_names.hpp"

namespace tandem::client {

namespace {

std::chrono::milliseconds until(steady_clock::time_point deadline) {
  return std::max(std::chrono::ceil<std::chrono::milliseconds>(deadline - steady_clock::now()),
                  std::chrono::milliseconds{0});
}

} // namespace

ha_publisher::ha_publisher(ha_publisher_options options, publish_store& store, failover_clock clock)
  : options_(std::move(options)), store_(store),
    servers_(options_.servers, options_.failover, std::move(clock)), connection_(options_.limits),
    next_seq_(store.last_seq() + 1), ever_sent_through_(store.last_seq()) {
  options_.window = std::max<std::size_t>(options_.window, 1);
  connection_.set_credentials(options_.login);
  connection_.set_tls(options_.tls, options_.tls_server_name);
  if (options_.on_attempt)
    servers_.set_attempt_observer(options_.on_attempt);
}

ha_publisher::~ha_publisher() { close(); }

void ha_publisher::close() {
  if (connection_.is_open()) {
    connection_.close();
    servers_.on_disconnected();
  }
}

setup_result ha_publisher::logon(client_connection& c, steady_clock::time_point deadline) {
  if (!c.send(protocol::publisher_logon{options_.name}, until(deadline)) || !c.flush(until(deadline)))
    return setup_result::failed("cannot send publisher_logon: " + c.error());
  for (;;) {
    std::optional<protocol::message> m = c.receive(until(deadline));
    if (!m)
      return setup_result::failed(c.is_open() ? "no publisher_logon_ack in time" : c.error());
    if (std::holds_alternative<protocol::heartbeat>(*m))
      continue;
    if (auto* close = std::get_if<protocol::close_frame>(&*m)) {
      if (close->code == protocol::close_code::publisher_in_use)
        return setup_result::fatal(c.error());
      return setup_result::failed(c.error());
    }
    auto* ack = std::get_if<protocol::publisher_logon_ack>(&*m);
    if (ack == nullptr)
      return setup_result::failed("expected publisher_logon_ack, got " +
                                  std::string{protocol::frame_type_name(protocol::type_of(*m))});
    if (ack->publisher_id != options_.name)
      return setup_result::failed("publisher_logon_ack for '" + ack->publisher_id + "', expected '" +
                                  options_.name + "'");
    logon_highest_ = ack->highest_seq;
    return setup_result::ok();
  }
}

bool ha_publisher::ensure_connected(steady_clock::time_point deadline) {
  if (connection_.is_open())
    return true;
  if (!fatal_error_.empty()) {
    error_ = fatal_error_;
    return false;
  }
  auto r = servers_.connect(connection_, options_.name, deadline,
                            [this](client_connection& c, steady_clock::time_point d) { return logon(c, d); });
  if (!r.connected) {
    error_ = r.error;
    if (r.fatal)
      fatal_error_ = r.error;
    return false;
  }
  ++counters_.connects;
  counters_.failovers = servers_.failovers();
  // The node holds everything up to logon_highest_: drop it, resend the rest from the start,
  // and never hand out a seq it already has (the store may be new or behind the node).
  counters_.persisted += store_.ack_through(logon_highest_);
  next_seq_ = std::max({next_seq_, logon_highest_ + 1, store_.last_seq() + 1});
  // Messages marked persisted survive the logon's drop and are resent too: the node answers
  // those it holds as duplicates, a partner that lacks them stores them.
  const auto& held = store_.held();
  sent_through_ = held.empty() ? logon_highest_ : std::min(logon_highest_, held.begin()->first - 1);
  in_flight_ = 0;
  return true;
}

void ha_publisher::on_lost() {
  ++counters_.disconnects;
  error_ = connection_.error();
  servers_.on_disconnected();
  in_flight_ = 0;
}

void ha_publisher::send_pending(steady_clock::time_point deadline) {
  const auto& held = store_.held();
  for (auto it = held.upper_bound(sent_through_); it != held.end() && in_flight_ < options_.window; ++it) {
    const std::uint64_t seq = it->first;
    const auto queued_before = connection_.frames_queued();
    const bool ok = connection_.send(
      protocol::publish{it->second.topic, it->second.payload, options_.name, seq}, until(deadline));
    if (connection_.frames_queued() > queued_before) {
      // Queued, even if the flush then timed out: the frame may reach the node.
      sent_through_ = seq;
      ++in_flight_;
      ++counters_.sent;
      if (seq <= ever_sent_through_)
        ++counters_.resent;
      ever_sent_through_ = std::max(ever_sent_through_, seq);
    }
    if (!ok) {
      if (!connection_.is_open())
        on_lost();
      return;
    }
  }
}

// A complete answer: drops everything up to seq that is not marked, and seq itself if it was
// (a resend of a message acked partially before, now held everywhere).
void ha_publisher::on_persisted(std::uint64_t seq, bool held_already) {
  if (seq > sent_through_) {
    ++counters_.unexpected_acks;
    return;
  }
  const std::size_t dropped = store_.ack_through(seq);
  const std::size_t completed = store_.complete(seq, seq);
  if (dropped + completed == 0) {
    ++counters_.unexpected_acks;
    return;
  }
  in_flight_ -= std::min(in_flight_, dropped + completed);
  counters_.persisted += dropped;
  counters_.completed += completed;
  if (held_already)
    ++counters_.already_held;
}

void ha_publisher::on_partial(const protocol::persisted_partial& ack) {
  if (ack.publisher_seq > sent_through_ || !store_.held().count(ack.publisher_seq)) {
    ++counters_.unexpected_acks;
    return;
  }
  ++counters_.partial;
  for (const auto& name : ack.not_on)
    ++counters_.not_on[name];
  if (options_.drop_at_persisted_ack) {
    on_persisted(ack.publisher_seq, ack.journal_seq == 0);
    return;
  }
  // Kept, marked (already marked: a resend answered partially again). Either way answered.
  store_.mark_persisted(ack.publisher_seq);
  in_flight_ -= std::min<std::size_t>(in_flight_, 1);
  if (ack.journal_seq == 0)
    ++counters_.already_held;
}

void ha_publisher::handle(const protocol::message& m) {
  if (auto* ack = std::get_if<protocol::persisted_ack>(&m)) {
    on_persisted(ack->publisher_seq, ack->journal_seq == 0);
  } else if (auto* partial = std::get_if<protocol::persisted_partial>(&m)) {
    on_partial(*partial);
  } else if (auto* note = std::get_if<protocol::replicated>(&m)) {
    if (note->publisher_id != options_.name) {
      ++counters_.ignored_frames;
      return;
    }
    ++counters_.replicated_notes;
    counters_.completed += store_.complete(1, note->up_to_publisher_seq);
  } else if (auto* w = std::get_if<protocol::waiting>(&m)) {
    ++counters_.waiting_notices;
    counters_.last_waiting = *w;
  } else if (auto* nack = std::get_if<protocol::negative_ack>(&m)) {
    if (nack->publisher_seq > sent_through_ || !store_.refuse(nack->publisher_seq)) {
      ++counters_.unexpected_acks;
      return;
    }
    in_flight_ -= std::min<std::size_t>(in_flight_, 1);
    ++counters_.negative;
    ++counters_.negative_by_reason[nack_reason_name(nack->reason_code)];
    rejection r{nack->publisher_seq, nack->reason_code, nack->reason};
    if (counters_.first_rejections.size() < publisher_counters::kept_rejections)
      counters_.first_rejections.push_back(r);
    if (options_.on_rejected)
      options_.on_rejected(r);
  } else if (auto* close = std::get_if<protocol::close_frame>(&m)) {
    if (close->code == protocol::close_code::publisher_in_use)
      fatal_error_ = connection_.error();
  } else if (!std::holds_alternative<protocol::heartbeat>(m)) {
    ++counters_.ignored_frames;
  }
}

bool ha_publisher::step(steady_clock::time_point deadline) {
  if (!ensure_connected(deadline))
    return false;
  send_pending(deadline);
  if (!connection_.is_open())
    return true; // lost while sending: the next step reconnects
  auto m = connection_.receive(until(deadline));
  if (m)
    handle(*m);
  if (!connection_.is_open()) {
    on_lost();
    return true;
  }
  return m.has_value();
}

bool ha_publisher::connect(std::chrono::milliseconds timeout) {
  error_.clear();
  return ensure_connected(steady_clock::now() + timeout);
}

std::optional<std::uint64_t> ha_publisher::publish(std::string_view topic, std::string_view payload,
                                                   std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  error_.clear();
  // Connect first, so a fatal refusal is reported before the message is stored. Not reaching
  // a server is not an error: the message waits in the store.
  if (!ensure_connected(deadline) && failed())
    return std::nullopt;
  const std::size_t bytes = topic.size() + payload.size();
  while (!store_.has_room_for(bytes) && bytes <= store_.limits().max_bytes) {
    // Not connected after ensure_connected(): no server can be reached before the deadline.
    if (failed() || steady_clock::now() >= deadline || !ensure_connected(deadline)) {
      if (!failed())
        error_ = "publish store full for " + std::to_string(timeout.count()) + " ms: " +
                 std::to_string(store_.size()) + " messages, " + std::to_string(store_.bytes()) +
                 " bytes awaiting acks" + (error_.empty() ? "" : " (" + error_ + ")");
      return std::nullopt;
    }
    step(deadline);
  }
  const std::uint64_t seq = next_seq_;
  if (auto err = store_.append(seq, topic, payload)) {
    error_ = err->message;
    return std::nullopt;
  }
  ++next_seq_;
  ++counters_.published;
  if (connection_.is_open()) {
    send_pending(deadline);
    // Handle acks that are already here, without waiting.
    while (connection_.is_open() && step(steady_clock::now())) {
    }
  }
  return seq;
}

bool ha_publisher::wait_all(std::chrono::milliseconds timeout) { return wait_until(timeout, true); }

bool ha_publisher::wait_acked(std::chrono::milliseconds timeout) { return wait_until(timeout, false); }

bool ha_publisher::wait_until(std::chrono::milliseconds timeout, bool complete) {
  const auto deadline = steady_clock::now() + timeout;
  error_.clear();
  // Acked: nothing unacked in the store, and on a live connection nothing sent or still to send
  // (the resends of messages marked persisted after a reconnect wait for their answers too).
  const auto waiting = [&] {
    if (complete)
      return !store_.empty();
    if (store_.size() > store_.persisted_count())
      return true;
    return connection_.is_open() && (in_flight_ > 0 || store_.held().upper_bound(sent_through_) != store_.held().end());
  };
  while (waiting() || failed()) {
    if (failed()) {
      error_ = fatal_error_;
      return false;
    }
    if (steady_clock::now() >= deadline || !ensure_connected(deadline)) {
      if (failed())
        continue;
      const std::size_t unacked = store_.size() - store_.persisted_count();
      error_ = "timed out with " + std::to_string(unacked) + " messages awaiting acks" +
               (store_.persisted_count() ? ", " + std::to_string(store_.persisted_count()) +
                                             " acked partially awaiting their sync destinations"
                                         : std::string{}) +
               (error_.empty() ? "" : " (" + error_ + ")");
      return false;
    }
    step(deadline);
  }
  return true;
}

} // namespace tandem::client
