// A publisher's store of messages the node has not yet acknowledged: every published message is
// kept (seq, topic, payload) until a cumulative persisted ack covers it, so that after a failover
// or a restart it can be sent again. Two implementations behind this interface:
// memory_publish_store (lost with the process) and file_publish_store (file_publish_store.hpp:
// survives a restart, and a power loss when it syncs).
//
// Contract: seqs are appended in increasing order. ack_through(n) drops every held message with
// seq <= n (node acks are cumulative and arrive in publish order) except those marked persisted;
// refuse(n) drops message n only (the node refused it: it is reported, never resent).
//
// Persisted but not complete (protocol 1.2): a message the node acked with persisted_partial is
// durable there but not yet on every sync destination it needs. mark_persisted(n) keeps it,
// marked, so that a failover can still resend it to the partner that lacks it; complete(first,
// last) drops the marked messages in that range once they are held everywhere (a `replicated`
// note, or a complete answer to a resend). The store is bounded: append() refuses
// with store_errc::full when the held messages would exceed max_messages or max_bytes, so a
// publisher whose node is unreachable stops with a clear error instead of growing without bound.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::client {

enum class store_errc {
  full = 1,     // the limits would be exceeded; retry once acks have freed room
  too_large,    // one message alone exceeds max_bytes: it can never be stored
  out_of_order, // append with a seq not above last_seq()
  io_error,     // file store: a read, write, sync or rename failed (the message names the file)
  corruption,   // file store: a record in the middle of the file is damaged (names file, offset)
  locked,       // file store: another process has the store open
};

struct store_error {
  store_errc code;
  std::string message;
};
using store_status = std::optional<store_error>; // nullopt = ok

struct store_limits {
  std::size_t max_messages = 100'000;
  std::size_t max_bytes = 64u << 20; // topic + payload bytes of the held messages
};

struct stored_message {
  std::string topic;
  std::string payload;
  bool persisted = false; // acked partially: the node holds it, a sync destination does not yet
  std::size_t bytes() const { return topic.size() + payload.size(); }
};

class publish_store {
public:
  explicit publish_store(store_limits limits) : limits_(limits) {}
  virtual ~publish_store() = default;
  publish_store(const publish_store&) = delete;
  publish_store& operator=(const publish_store&) = delete;

  // Keeps the message until acked or refused. Errors: full, too_large, out_of_order, io_error
  // (nothing is held then).
  store_status append(std::uint64_t seq, std::string_view topic, std::string_view payload);
  // The node holds everything <= seq: drop it. Returns how many messages were dropped.
  std::size_t ack_through(std::uint64_t seq);
  // The node refused seq: drop it. False if it was not held.
  bool refuse(std::uint64_t seq);
  // The node holds seq, some sync destination does not yet: keep it, marked. False if it was
  // not held or was marked already.
  bool mark_persisted(std::uint64_t seq);
  // Every sync destination holds the marked messages in [first, last]: drop them. Returns how
  // many were dropped; unmarked messages in the range stay.
  std::size_t complete(std::uint64_t first, std::uint64_t last);
  // Marked messages held (acked partially, not complete yet).
  std::size_t persisted_count() const { return persisted_count_; }

  // Would a message of `bytes` fit now?
  bool has_room_for(std::size_t bytes) const;
  const std::map<std::uint64_t, stored_message>& held() const { return held_; }
  std::size_t size() const { return held_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return held_.empty(); }
  // Highest seq ever appended (0 = none), also after everything was acked: a restarted
  // publisher continues above it.
  std::uint64_t last_seq() const { return last_seq_; }
  std::uint64_t acked_through() const { return acked_through_; }
  const store_limits& limits() const { return limits_; }
  // The first error the durable part of the store hit after an append (an ack or refusal that
  // could not be recorded); sticky. Losing such a record only costs a resend after a restart.
  const store_status& durability_error() const { return durability_error_; }

protected:
  // Hooks of the durable implementation; the memory store records nothing. persist_append runs
  // before the message is held, the other two after the drop.
  virtual store_status persist_append(std::uint64_t seq, const stored_message& m) = 0;
  virtual store_status persist_ack(std::uint64_t seq) = 0;
  virtual store_status persist_refuse(std::uint64_t seq) = 0;
  virtual store_status persist_mark(std::uint64_t seq) = 0;
  virtual store_status persist_complete(std::uint64_t first, std::uint64_t last) = 0;

  // For recovery: state as read back from a file, bypassing the hooks and the limits.
  void restore_message(std::uint64_t seq, stored_message m);
  void restore_ack(std::uint64_t seq) { drop_through(seq); }
  void restore_refuse(std::uint64_t seq) { drop(seq); }
  void restore_mark(std::uint64_t seq) { mark(seq); }
  void restore_complete(std::uint64_t first, std::uint64_t last) { drop_marked(first, last); }
  void restore_last_seq(std::uint64_t seq) { last_seq_ = std::max(last_seq_, seq); }
  void record_durability_error(store_status s) {
    if (s && !durability_error_)
      durability_error_ = std::move(s);
  }

private:
  std::size_t drop_through(std::uint64_t seq);
  bool drop(std::uint64_t seq);
  bool mark(std::uint64_t seq);
  std::size_t drop_marked(std::uint64_t first, std::uint64_t last);

  store_limits limits_;
  std::size_t persisted_count_ = 0;
  std::map<std::uint64_t, stored_message> held_;
  std::size_t bytes_ = 0;
  std::uint64_t last_seq_ = 0;
  std::uint64_t acked_through_ = 0;
  store_status durability_error_;
};

class memory_publish_store final : public publish_store {
public:
  explicit memory_publish_store(store_limits limits = {}) : publish_store(limits) {}

protected:
  store_status persist_append(std::uint64_t, const stored_message&) override { return std::nullopt; }
  store_status persist_ack(std::uint64_t) override { return std::nullopt; }
  store_status persist_refuse(std::uint64_t) override { return std::nullopt; }
  store_status persist_mark(std::uint64_t) override { return std::nullopt; }
  store_status persist_complete(std::uint64_t, std::uint64_t) override { return std::nullopt; }
};

} // namespace tandem::client
