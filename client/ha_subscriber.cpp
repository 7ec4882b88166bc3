#include "client/ha_subscriber.hpp"

#include <algorithm>
#include <utility>

namespace tandem::client {

namespace {

std::chrono::milliseconds until(steady_clock::time_point deadline) {
  return std::max(std::chrono::ceil<std::chrono::milliseconds>(deadline - steady_clock::now()),
                  std::chrono::milliseconds{0});
}

std::int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

ha_subscriber::ha_subscriber(ha_subscriber_options options, failover_clock clock)
  : options_(std::move(options)), servers_(options_.servers, options_.failover, std::move(clock)),
    connection_(options_.limits) {
  connection_.set_credentials(options_.login);
  connection_.set_tls(options_.tls, options_.tls_server_name);
  if (options_.on_attempt)
    servers_.set_attempt_observer(options_.on_attempt);
}

ha_subscriber::~ha_subscriber() { close(false); }

std::string ha_subscriber::open() {
  if (options_.bookmark_file.empty())
    return {};
  auto loaded = load_bookmark(options_.bookmark_file);
  if (!loaded.value) {
    error_ = loaded.error;
    return error_;
  }
  bookmark_ = std::move(*loaded.value);
  handled_ = bookmark_;
  return {};
}

protocol::subscribe_from ha_subscriber::next_subscription() const {
  using protocol::subscribe_start;
  protocol::subscribe_from s{subscription_id_ + 1, options_.topic_regex, subscribe_start::after_bookmark,
                             0, options_.fully_durable, bookmark_.entries()};
  const bool first = !first_subscribed_at_ns_ && bookmark_.empty();
  switch (options_.first_start) {
    case subscribe_start::after_bookmark:
    case subscribe_start::oldest: break; // start 0 with an empty bookmark is "everything held"
    case subscribe_start::from_time:
      s.start = subscribe_start::from_time;
      s.time_ns = options_.start_time_ns;
      break;
    case subscribe_start::now:
      if (first) {
        s.start = subscribe_start::now;
      } else if (first_subscribed_at_ns_) {
        s.start = subscribe_start::from_time;
        s.time_ns = *first_subscribed_at_ns_;
      } // else: resumed from a bookmark file; start 0 continues it
      break;
  }
  return s;
}

bool ha_subscriber::ensure_connected(steady_clock::time_point deadline) {
  if (connection_.is_open())
    return true;
  auto setup = [this](client_connection& c, steady_clock::time_point d) {
    const auto sub = next_subscription();
    if (!c.send(sub, until(d)) || !c.flush(until(d)))
      return setup_result::failed("cannot send subscribe_from: " + c.error());
    subscription_id_ = sub.subscription_id;
    if (!first_subscribed_at_ns_)
      first_subscribed_at_ns_ = wall_clock_ns();
    ++counters_.subscribes;
    return setup_result::ok();
  };
  auto r = servers_.connect(connection_, options_.client_name, deadline, setup);
  counters_.failovers = servers_.failovers();
  if (!r.connected) {
    error_ = r.error;
    return false;
  }
  return true;
}

std::optional<protocol::delivered> ha_subscriber::next(std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  mark_handled(); // the application asked for more: it has finished with the previous record
  for (;;) {
    maybe_save();
    if (!ensure_connected(deadline))
      return std::nullopt;
    auto m = connection_.receive(until(deadline));
    if (!connection_.is_open()) {
      ++counters_.disconnects;
      error_ = connection_.error();
      servers_.on_disconnected();
    }
    if (!m) {
      if (steady_clock::now() >= deadline)
        return std::nullopt;
      continue;
    }
    if (auto* g = std::get_if<protocol::subscription_gap>(&*m); g != nullptr && g->subscription_id == subscription_id_) {
      ++counters_.gaps;
      counters_.gap_records += g->last - g->first + 1; // the codec guarantees last >= first
      if (options_.on_gap)
        options_.on_gap(*g);
      continue;
    }
    auto* d = std::get_if<protocol::delivered>(&*m);
    if (d == nullptr || d->subscription_id != subscription_id_) {
      if (!std::holds_alternative<protocol::heartbeat>(*m) && !std::holds_alternative<protocol::close_frame>(*m))
        ++counters_.ignored_frames;
      continue;
    }
    step(delivery_step::received);
    if (bookmark_.covers(d->origin_instance, d->origin_seq)) {
      ++counters_.duplicates;
      continue;
    }
    bookmark_.advance(d->origin_instance, d->origin_seq);
    // The same message under another origin: published again to the partner after a publisher
    // failover, before the node it first reached had replicated it (bookmark::covers_publisher).
    if (bookmark_.covers_publisher(d->publisher_id, d->publisher_seq)) {
      ++counters_.duplicates;
      ++counters_.publisher_copies;
      handled_.advance(d->origin_instance, d->origin_seq); // a copy: nothing to hand over
      continue;
    }
    bookmark_.advance_publisher(d->publisher_id, d->publisher_seq);
    // Not in handled_ (and so in no save) until the application has finished with it.
    in_hand_ = in_hand{d->origin_instance, d->publisher_id, d->origin_seq, d->publisher_seq};
    step(delivery_step::advanced);
    ++counters_.delivered;
    step(delivery_step::returning);
    return std::move(*d);
  }
}

void ha_subscriber::mark_handled() {
  if (!in_hand_)
    return;
  handled_.advance(in_hand_->origin, in_hand_->origin_seq);
  handled_.advance_publisher(in_hand_->publisher, in_hand_->publisher_seq);
  in_hand_.reset();
  ++unsaved_;
  step(delivery_step::handled);
}

void ha_subscriber::maybe_save() {
  if (options_.bookmark_file.empty() || unsaved_ == 0)
    return;
  if (unsaved_ >= options_.bookmark_every_records || steady_clock::now() - last_save_ >= options_.bookmark_every)
    save();
}

bool ha_subscriber::save() {
  last_save_ = steady_clock::now();
  step(delivery_step::saving);
  if (auto err = save_bookmark(options_.bookmark_file, handled_); !err.empty()) {
    ++counters_.bookmark_save_errors;
    error_ = err;
    return false;
  }
  unsaved_ = 0;
  ++counters_.bookmark_saves;
  step(delivery_step::saved);
  return true;
}

std::string ha_subscriber::stop() { return close(true); }

std::string ha_subscriber::close(bool last_handled) {
  if (connection_.is_open()) {
    connection_.close();
    servers_.on_disconnected();
  }
  if (last_handled)
    mark_handled();
  if (!options_.bookmark_file.empty() && unsaved_ > 0 && !save())
    return error_;
  return {};
}

} // namespace tandem::client
