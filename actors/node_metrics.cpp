#include "actors/node_metrics.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

#include "actors/logic/inbound_view.hpp"
#include "actors/metrics/live_metrics.hpp"
#include "actors/metrics/process_metrics.hpp"
#include "config/node_config.hpp"

namespace tandem {

using metrics::counter_family;
using metrics::gauge_family;

struct node_metrics::families {
  gauge_family* node_info = nullptr;
  gauge_family* running_actors = nullptr;
  gauge_family* scheduler_threads = nullptr;
  // journal
  gauge_family* journal_first_seq = nullptr;
  gauge_family* journal_durable_seq = nullptr;
  gauge_family* journal_segments = nullptr;
  gauge_family* journal_bytes = nullptr;
  gauge_family* tail_window_bytes = nullptr;
  gauge_family* tail_window_readers = nullptr;
  counter_family* journal_removed_segments = nullptr;
  gauge_family* journal_waiting_publishes = nullptr;
  counter_family* commit_syncs = nullptr;
  counter_family* commit_batches = nullptr;
  counter_family* commit_records = nullptr;
  counter_family* commit_bytes = nullptr;
  counter_family* commit_failed_batches = nullptr;
  gauge_family* held_back_bytes = nullptr;
  gauge_family* held_back_segments = nullptr;
  gauge_family* dest_released = nullptr;            // journal.max_held_bytes, label destination
  counter_family* released_destinations = nullptr;
  gauge_family* held_bytes = nullptr;
  gauge_family* max_held_bytes = nullptr;
  gauge_family* publishers_known = nullptr;
  counter_family* publishers_evicted = nullptr;
  counter_family* duplicates = nullptr;
  gauge_family* recovery_seconds = nullptr;
  gauge_family* recovery_segments = nullptr;
  gauge_family* recovery_truncated_bytes = nullptr;
  // all destinations together (destinations_summary)
  gauge_family* dests_by_state = nullptr; // label state
  gauge_family* dests_max_lag_records = nullptr;
  gauge_family* dests_max_lag_seconds = nullptr;
  counter_family* segment_read_bytes = nullptr;
  counter_family* dest_disk_read_bytes = nullptr;
  // destinations, labels {destination, group}
  gauge_family* dest_connected = nullptr;
  gauge_family* dest_acked_seq = nullptr;
  gauge_family* dest_lag_records = nullptr;
  gauge_family* dest_in_flight_bytes = nullptr;
  gauge_family* dest_window_bytes = nullptr;
  gauge_family* dest_rtt_seconds = nullptr;
  gauge_family* dest_lag_bytes = nullptr;
  gauge_family* dest_lag_seconds = nullptr;
  gauge_family* dest_stalled = nullptr;
  gauge_family* dest_divergent = nullptr; // anti-entropy: records the latest comparison found differing
  gauge_family* dest_held_elsewhere = nullptr; // anti-entropy: missing there by origin, held there by publisher
  counter_family* dest_repaired = nullptr;    // anti-entropy repair: records re-sent (repair_batch)
  counter_family* repair_stored = nullptr;    // anti-entropy repair received: records stored here
  counter_family* repair_held = nullptr;      // anti-entropy repair received: records already held
  gauge_family* dest_sync = nullptr;
  gauge_family* dest_downgraded = nullptr;           // issue 16: sync downgrade
  counter_family* dest_downgrades = nullptr;
  counter_family* dest_upgrades = nullptr;
  counter_family* dest_downgraded_seconds = nullptr;
  counter_family* dest_batches_sent = nullptr;
  counter_family* dest_records_sent = nullptr;
  counter_family* dest_early_batches = nullptr; // journal.send_before_durable
  counter_family* dest_bytes_sent = nullptr;
  counter_family* dest_resends = nullptr;
  // link compression (issue 20)
  counter_family* dest_compress_bytes_before = nullptr;
  counter_family* dest_compress_bytes_after = nullptr;
  gauge_family* dest_compress_ratio = nullptr;
  counter_family* dest_compress_seconds = nullptr;
  counter_family* dest_compressions = nullptr; // label how: performed, shared
  counter_family* dest_connects = nullptr;
  counter_family* dest_disconnects = nullptr;
  counter_family* dest_unsendable = nullptr;
  counter_family* dest_protocol_violations = nullptr; // labels destination, group, kind
  counter_family* dest_resumes = nullptr;             // labels destination, group, reason
  gauge_family* dest_backoff_seconds = nullptr;
  counter_family* dest_failovers = nullptr;
  counter_family* dest_failed_passes = nullptr;
  counter_family* dest_resumes_below_retention = nullptr;
  counter_family* dest_records_below_retention = nullptr;
  // client listener and replication connections
  gauge_family* client_connections = nullptr;
  counter_family* client_published = nullptr;
  counter_family* client_persisted = nullptr;
  counter_family* client_rejected = nullptr;
  counter_family* client_nacks = nullptr;
  gauge_family* client_publishers = nullptr;
  gauge_family* client_subscribers = nullptr;
  gauge_family* client_logged_on = nullptr;
  counter_family* client_logons = nullptr;
  counter_family* client_logons_refused = nullptr;
  gauge_family* replication_connections = nullptr;
  counter_family* duplicate_connections_closed = nullptr;
  counter_family* identity_conflicts = nullptr;
  counter_family* refused_for_identity = nullptr;
  counter_family* tls_refusals = nullptr; // issue 18, labels reason (handshake, identity)
  gauge_family* tls_expiry = nullptr;     // seconds until the node's certificate expires
  counter_family* tls_rotations = nullptr; // SIGHUP rotations, labels result (rotated, unchanged, refused)
  // subscriptions whose start lay below what retention kept
  counter_family* subscription_gaps = nullptr;
  counter_family* subscription_gap_records = nullptr;
  // protocol 1.2: acks that say who holds the message, and why acks wait
  counter_family* client_partial_acks = nullptr;
  counter_family* client_replicated_notes = nullptr;
  counter_family* client_waiting_notices = nullptr;
  counter_family* client_tls_refusals = nullptr; // issue 18, labels reason (handshake, wrong_protocol)
  // issue 18: failed client logins by reason, subscriptions refused by entitlement, admin refusals
  counter_family* auth_failures = nullptr;
  counter_family* auth_subscriptions_refused = nullptr;
  counter_family* admin_refused = nullptr;
  // the inbound view (issue 17), label origin (at most inbound_view::default_max_origins + 1)
  counter_family* inbound_records = nullptr;
  counter_family* inbound_received = nullptr;
  gauge_family* inbound_highest_origin_seq = nullptr;
  gauge_family* inbound_age_seconds = nullptr;
  gauge_family* inbound_origins = nullptr;
  counter_family* inbound_untracked_records = nullptr;
  // replication validation (issue 17 part 3), labels destination, check
  gauge_family* dest_validation_problems = nullptr;
};

namespace {

template <class T>
T* must(metrics::result<T*> r) {
  if (!r)
    throw std::logic_error("node metrics: " + r.error().message);
  return r.value();
}

std::optional<double> number(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object())
    return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end())
    return std::nullopt;
  if (it->is_boolean())
    return it->get<bool>() ? 1.0 : 0.0;
  if (it->is_number())
    return it->get<double>();
  return std::nullopt;
}

std::string text(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object())
    return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

void set(metrics::gauge& g, const nlohmann::json& obj, std::string_view key, double scale = 1) {
  if (auto v = number(obj, key))
    g.set(*v * scale);
}

// Counters mirror a monotonic total kept by the status owner: the exact u64 when it is one.
void set(metrics::counter& c, const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object())
    return;
  auto it = obj.find(key);
  if (it == obj.end())
    return;
  if (it->is_number_unsigned())
    c.set_total(it->get<std::uint64_t>());
  else if (it->is_number() && it->get<double>() >= 0)
    c.set_total(it->get<double>());
}

// The families, one area each (names and help texts: docs/metrics.md).
void add_journal_families(metrics::registry& r, node_metrics::families& f) {
  f.journal_first_seq = must(r.add_gauge("tandem_journal_first_seq", "Lowest sequence number still in the journal"));
  f.journal_durable_seq = must(r.add_gauge("tandem_journal_durable_seq", "Highest sequence number made durable"));
  f.journal_segments = must(r.add_gauge("tandem_journal_segments", "Segment files in the journal"));
  f.journal_bytes = must(r.add_gauge("tandem_journal_size_bytes", "Bytes of all journal segment files"));
  f.tail_window_bytes = must(r.add_gauge(
    "tandem_journal_tail_window_bytes", "Memory the tail window holds (up to journal.tail_window_bytes while a reader is behind)"));
  f.tail_window_readers =
    must(r.add_gauge("tandem_journal_tail_window_readers", "Journal cursors the tail window keeps records for"));
  f.journal_removed_segments = must(
    r.add_counter("tandem_journal_removed_segments_total", "Segments removed by retention since start"));
  f.journal_waiting_publishes = must(
    r.add_gauge("tandem_journal_publishes_waiting", "Publishes durable locally, waiting for sync destinations"));
  f.commit_syncs = must(r.add_counter("tandem_journal_syncs_total", "fdatasync calls of the group committer"));
  f.commit_batches = must(r.add_counter("tandem_journal_commit_batches_total", "Batches committed"));
  f.commit_records = must(r.add_counter("tandem_journal_committed_records_total", "Records committed"));
  f.commit_bytes = must(r.add_counter("tandem_journal_committed_bytes_total", "Record bytes committed"));
  f.commit_failed_batches = must(
    r.add_counter("tandem_journal_commit_failed_batches_total", "Batches whose commit failed (e.g. disk full)"));
  f.held_back_bytes = must(r.add_gauge("tandem_journal_held_back_bytes",
                                       "Journal bytes retention keeps because a destination has not acked them",
                                       {"destination"}));
  f.held_back_segments = must(r.add_gauge("tandem_journal_held_back_segments",
                                          "Segments retention keeps because a destination has not acked them",
                                          {"destination"}));
  f.dest_released = must(r.add_gauge("tandem_destination_released",
                                     "1 while journal.max_held_bytes has released the destination: retention no "
                                     "longer waits for it", {"destination"}));
  f.released_destinations = must(r.add_counter("tandem_journal_released_destinations_total",
                                               "Destinations released by journal.max_held_bytes since start"));
  f.held_bytes = must(r.add_gauge("tandem_journal_held_bytes",
                                  "Journal bytes kept only because destinations have not acked them"));
  f.max_held_bytes = must(r.add_gauge("tandem_journal_max_held_bytes", "journal.max_held_bytes (0 = unlimited)"));
  f.publishers_known = must(r.add_gauge("tandem_journal_publishers", "Publishers whose high-water marks the node keeps"));
  f.publishers_evicted = must(r.add_counter("tandem_journal_publishers_evicted_total",
                                            "Publishers forgotten to keep the bound (their resends are stored again)"));
  f.duplicates = must(r.add_counter("tandem_journal_duplicates_total",
                                    "Records not stored because the node already held their (publisher, seq)",
                                    {"source"}));
  f.recovery_seconds = must(r.add_gauge("tandem_journal_recovery_seconds", "Time the journal took to recover at startup"));
  f.recovery_segments = must(r.add_gauge("tandem_journal_recovery_segments", "Segments found at startup"));
  f.recovery_truncated_bytes = must(r.add_gauge("tandem_journal_recovery_truncated_bytes",
                                                "Bytes of a torn tail dropped at startup (never durable records)"));
}

// Link compression (issue 20): per destination, from /status `compression`.
void add_compression_families(metrics::registry& r, node_metrics::families& f, const std::vector<std::string>& dest) {
  f.dest_compress_bytes_before = must(r.add_counter("tandem_destination_compression_bytes_before_total",
                                                    "Record batch bytes before link compression", dest));
  f.dest_compress_bytes_after = must(r.add_counter("tandem_destination_compression_bytes_after_total",
                                                   "Record batch bytes written to the connection (compressed or not)", dest));
  f.dest_compress_ratio = must(r.add_gauge("tandem_destination_compression_ratio",
                                           "Bytes before over bytes after link compression (1: none)", dest));
  f.dest_compress_seconds = must(r.add_counter("tandem_destination_compress_seconds_total",
                                               "CPU time the destination's link spent compressing batches", dest));
  f.dest_compressions = must(r.add_counter(
    "tandem_destination_compressions_total",
    "Batches compressed by this link (how=performed) or taken from another link with the same setting (how=shared)",
    {"destination", "group", "how"}));
}

void add_destination_families(metrics::registry& r, node_metrics::families& f) {
  const std::vector<std::string> dest{"destination", "group"};
  f.dests_by_state = must(r.add_gauge("tandem_destinations",
    "Destinations by state: configured, connected, not_connected, stalled, sync, sync_connected", {"state"}));
  f.dests_max_lag_records = must(r.add_gauge("tandem_destinations_max_lag_records",
                                             "Largest lag in records over all destinations"));
  f.dests_max_lag_seconds = must(r.add_gauge("tandem_destinations_max_lag_seconds",
                                             "Largest lag in seconds over all destinations"));
  f.segment_read_bytes = must(r.add_counter("tandem_journal_segment_read_bytes_total",
    "Record bytes read from segment files by readers behind the tail window (0 while every reader follows the tail)"));
  f.dest_disk_read_bytes = must(r.add_counter("tandem_destination_disk_read_bytes_total",
    "Record bytes read from segment files for the destination (its link was behind the tail window)", dest));
  f.dest_connected = must(r.add_gauge("tandem_destination_connected", "1 when the link to the destination is up", dest));
  f.dest_acked_seq = must(r.add_gauge("tandem_destination_acked_seq", "Highest sequence number the destination acked", dest));
  f.dest_lag_records = must(r.add_gauge("tandem_destination_lag_records", "Durable records not yet acked by the destination", dest));
  f.dest_in_flight_bytes = must(r.add_gauge("tandem_destination_in_flight_bytes", "Bytes sent and not yet acked", dest));
  f.dest_window_bytes = must(r.add_gauge("tandem_destination_window_bytes",
    "The link's in-flight bound now, sized from its ack turn and delivery rate", dest));
  f.dest_rtt_seconds = must(r.add_gauge("tandem_destination_rtt_seconds",
    "Smoothed ack turn: record batch sent to its durable_ack, the destination's fdatasync included", dest));
  f.dest_lag_bytes = must(r.add_gauge("tandem_destination_lag_bytes",
                                      "Journal bytes written since start that the destination has not acked", dest));
  f.dest_lag_seconds = must(r.add_gauge(
    "tandem_destination_lag_seconds",
    "Write time of the newest durable record minus that of the newest record the destination acked", dest));
  f.dest_stalled = must(r.add_gauge(
    "tandem_destination_stalled", "1 when records wait and the destination made no progress for metrics.stall_after_ms", dest));
  f.dest_divergent = must(r.add_gauge("tandem_divergent_records",
    "Records the latest anti-entropy comparison with the destination found differing (at least; 0: identical)", dest));
  f.dest_held_elsewhere = must(r.add_gauge("tandem_held_elsewhere_records",
    "Records the latest anti-entropy comparison found missing on the destination by origin that the destination "
    "holds under another origin (its repair stored none): not divergent", dest));
  f.dest_repaired = must(r.add_counter("tandem_repaired_records_total",
    "Records re-sent to the destination by anti-entropy repair (repair_batch frames)", dest));
  f.repair_stored = must(r.add_counter("tandem_repair_stored_records_total",
    "Records received in peers' anti-entropy repairs and stored here (this journal lacked them)"));
  f.repair_held = must(r.add_counter("tandem_repair_held_records_total",
    "Records received in peers' anti-entropy repairs that this journal held already (not stored again)"));
  f.dest_sync = must(r.add_gauge("tandem_destination_sync",
                                 "1 when the destination is sync (delays persisted acks), 0 when async", dest));
  f.dest_downgraded = must(r.add_gauge(
    "tandem_destination_downgraded", "1 while the sync destination is downgraded (persisted acks do not wait for it)", dest));
  f.dest_downgrades = must(r.add_counter("tandem_destination_downgrades_total", "Times the sync destination was downgraded", dest));
  f.dest_upgrades = must(r.add_counter("tandem_destination_upgrades_total", "Times the downgraded destination became sync again", dest));
  f.dest_downgraded_seconds = must(r.add_counter("tandem_destination_downgraded_seconds_total",
                                                 "Time the sync destination spent downgraded", dest));
  f.dest_batches_sent = must(r.add_counter("tandem_destination_batches_sent_total", "Batches sent to the destination", dest));
  f.dest_records_sent = must(r.add_counter("tandem_destination_records_sent_total", "Records sent to the destination", dest));
  f.dest_early_batches = must(r.add_counter("tandem_destination_early_batches_total",
                                            "Batches read for the destination before this node's fdatasync completed "
                                            "(journal.send_before_durable, sync destinations)",
                                            dest));
  f.dest_bytes_sent = must(r.add_counter("tandem_destination_sent_bytes_total", "Bytes sent to the destination", dest));
  f.dest_resends = must(r.add_counter("tandem_destination_resends_total", "Records sent again after a reconnect", dest));
  add_compression_families(r, f, dest);
  f.dest_connects = must(r.add_counter("tandem_destination_connects_total", "Times the link came up", dest));
  f.dest_disconnects = must(r.add_counter("tandem_destination_disconnects_total", "Times the link went down", dest));
  f.dest_unsendable = must(r.add_counter(
    "tandem_destination_unsendable_records_total",
    "Records routing admits that do not fit one record_batch frame (the link stops before the first; never acked)", dest));
  f.dest_protocol_violations = must(r.add_counter(
    "tandem_destination_protocol_violations_total",
    "Connections closed because the destination claimed to hold more than this node wrote or sent, by kind",
    {"destination", "group", "kind"}));
  f.dest_resumes = must(r.add_counter(
    "tandem_destination_resumes_total",
    "Resume decisions on the destination's connections, by reason (actors/logic/resume_decision.hpp)",
    {"destination", "group", "reason"}));
  f.dest_backoff_seconds = must(
    r.add_gauge("tandem_destination_backoff_seconds", "Current reconnect backoff of the address cycler", dest));
  f.dest_failovers = must(r.add_counter("tandem_destination_failovers_total", "Moves to another address of the destination", dest));
  f.dest_failed_passes = must(
    r.add_counter("tandem_destination_failed_passes_total", "Passes over all addresses that found none reachable", dest));

  f.dest_resumes_below_retention = must(r.add_counter(
    "tandem_destination_resumes_below_retention_total",
    "Resumes of the destination below the oldest record held (retention removed what it lacked)", dest));
  f.dest_records_below_retention = must(r.add_counter(
    "tandem_destination_records_below_retention_total",
    "Records the destination lacked that retention had removed, so they were never sent", dest));
  f.subscription_gaps = must(r.add_counter(
    "tandem_subscription_gaps_total", "Ranges a subscription asked for that retention had removed (gap notices)"));
  f.subscription_gap_records = must(r.add_counter(
    "tandem_subscription_gap_records_total",
    "Records (journal seqs or origin_seqs) in those ranges: asked for by subscriptions, no longer held"));
}

void add_client_families(metrics::registry& r, node_metrics::families& f) {
  f.client_connections = must(r.add_gauge("tandem_client_connections", "Open client connections"));
  f.client_published = must(r.add_counter("tandem_client_published_total", "Messages clients published"));
  f.client_persisted = must(r.add_counter("tandem_client_persisted_total", "Publishes acked to clients as persisted"));
  f.client_rejected = must(r.add_counter("tandem_client_rejected_total", "Publishes rejected"));
  f.client_nacks = must(r.add_counter("tandem_client_negative_acks_total", "Negative acks sent, by reason", {"reason"}));
  f.client_publishers = must(r.add_gauge("tandem_client_publishers", "Client connections that have published"));
  f.client_subscribers = must(r.add_gauge("tandem_client_subscribers", "Client connections with a subscription"));
  f.client_logged_on = must(r.add_gauge("tandem_client_logged_on_publishers", "Publisher ids held by a live connection"));
  f.client_logons = must(r.add_counter("tandem_client_publisher_logons_total", "publisher_logon requests answered"));
  f.client_logons_refused = must(r.add_counter("tandem_client_publisher_logons_refused_total",
                                               "publisher_logon refused: the id is in use on another connection"));
  f.replication_connections = must(r.add_gauge("tandem_replication_connections", "Replication connections in use"));
  f.duplicate_connections_closed = must(r.add_counter(
    "tandem_replication_duplicate_connections_closed_total", "Second connections with a peer closed by the tie-break"));
  f.identity_conflicts = must(r.add_counter("tandem_replication_identity_conflicts_total",
                                            "Peers refused: another node with their name and another instance id is connected"));
  f.refused_for_identity = must(r.add_counter("tandem_replication_refused_for_identity_total",
                                              "Times a peer refused this node: another node with this node's name is connected there"));
  f.tls_refusals = must(r.add_counter("tandem_replication_tls_refusals_total",
                                      "Replication connections refused for TLS: a failed handshake or the wrong "
                                      "protocol (handshake), a certificate naming another instance (identity)",
                                      {"reason"}));
  f.tls_expiry = must(r.add_gauge("tandem_tls_certificate_expiry_seconds",
                                  "Seconds until the node's TLS certificate expires (negative: expired)"));
  f.tls_rotations = must(r.add_counter("tandem_tls_rotations_total",
                                       "TLS file reloads on SIGHUP: new certificate in use (rotated), same files "
                                       "(unchanged), new files refused and the running certificate kept (refused)",
                                       {"result"}));
  f.client_partial_acks = must(r.add_counter(
    "tandem_client_partial_acks_total", "persisted_partial acks sent: a downgraded sync destination lacked the message"));
  f.client_replicated_notes = must(r.add_counter(
    "tandem_client_replicated_notes_total", "replicated notes sent: partially acked messages now on every sync destination"));
  f.client_waiting_notices = must(r.add_counter(
    "tandem_client_waiting_notices_total", "waiting notices sent: which sync destinations a publisher's acks wait for"));
  f.auth_failures = must(r.add_counter("tandem_auth_failures_total", "Failed client logins, by reason", {"reason"}));
  f.client_tls_refusals = must(r.add_counter("tandem_client_tls_refusals_total",
                                             "Client connections refused for TLS: a failed handshake (another CA, expired "
                                             "or missing certificate) or the wrong protocol (plaintext on a TLS port or "
                                             "TLS on a plaintext one)",
                                             {"reason"}));
  f.auth_subscriptions_refused = must(r.add_counter(
    "tandem_auth_subscriptions_refused_total", "Subscriptions outside the user's subscribe patterns (closed)"));
  f.admin_refused = must(r.add_counter("tandem_admin_refused_total", "Admin requests refused, by HTTP status",
                                       {"status"}));
}

// Per origin (/status "inbound"). Origins are outside names: the families hold as many label
// values as the inbound view tracks origins (its bound, logic/inbound_view.hpp, plus the node's own).
void add_inbound_families(metrics::registry& r, node_metrics::families& f) {
  const std::vector<std::string> origin{"origin"};
  const metrics::family_options bound{logic::inbound_view::default_max_origins + 1};
  f.inbound_records = must(r.add_counter("tandem_inbound_records_total",
    "Records of the origin this node holds: found at startup plus stored since", origin, bound));
  f.inbound_received = must(r.add_counter("tandem_inbound_received_records_total",
    "Records of the origin stored since startup (published here, or received by replication)", origin, bound));
  f.inbound_highest_origin_seq = must(r.add_gauge("tandem_inbound_highest_origin_seq",
    "Highest origin seq of the origin this node holds", origin, bound));
  f.inbound_age_seconds = must(r.add_gauge("tandem_inbound_last_received_age_seconds",
    "Seconds since the latest record of the origin was stored (absent: none since startup)", origin, bound));
  f.inbound_origins = must(r.add_gauge("tandem_inbound_origins", "Origins the inbound view tracks, this node's own included"));
  f.inbound_untracked_records = must(r.add_counter("tandem_inbound_untracked_records_total",
    "Records of origins beyond the inbound view's bound (counted only in the totals)"));
}

void expose_inbound(node_metrics::families& f, const nlohmann::json& status) {
  auto it = status.find("inbound");
  if (it == status.end() || !it->is_object())
    return;
  if (auto os = it->find("origins"); os != it->end() && os->is_array())
    for (const auto& o : *os) {
      const auto origin = text(o, "origin");
      set(f.inbound_records->labels({origin}), o, "records");
      set(f.inbound_received->labels({origin}), o, "received");
      set(f.inbound_highest_origin_seq->labels({origin}), o, "highest_origin_seq");
      if (number(o, "last_received_age_s")) // a series only once something arrived
        set(f.inbound_age_seconds->labels({origin}), o, "last_received_age_s");
    }
  if (auto t = it->find("totals"); t != it->end() && t->is_object()) {
    set(f.inbound_origins->get(), *t, "origins");
    set(f.inbound_untracked_records->get(), *t, "untracked_records");
  }
}

void expose_journal(node_metrics::families& f, const nlohmann::json& status) {
  if (auto it = status.find("journal"); it != status.end() && it->is_object()) {
    const auto& j = *it;
    set(f.journal_first_seq->get(), j, "first_seq");
    set(f.journal_durable_seq->get(), j, "durable_seq");
    set(f.journal_segments->get(), j, "segments");
    set(f.journal_bytes->get(), j, "bytes");
    set(f.segment_read_bytes->get(), j, "segment_read_bytes");
    if (auto tw = j.find("tail_window"); tw != j.end() && tw->is_object()) {
      set(f.tail_window_bytes->get(), *tw, "bytes");
      set(f.tail_window_readers->get(), *tw, "readers");
    }
    set(f.journal_removed_segments->get(), j, "removed_segments");
    if (auto rp = j.find("repair"); rp != j.end() && rp->is_object()) {
      set(f.repair_stored->get(), *rp, "stored_records");
      set(f.repair_held->get(), *rp, "held_records");
    }
    set(f.journal_waiting_publishes->get(), j, "publishes_waiting_for_sync_destinations");
    if (auto c = j.find("committer"); c != j.end()) {
      set(f.commit_syncs->get(), *c, "syncs");
      set(f.commit_batches->get(), *c, "batches");
      set(f.commit_records->get(), *c, "records");
      set(f.commit_bytes->get(), *c, "bytes");
      set(f.commit_failed_batches->get(), *c, "rejected");
    }
    if (auto p = j.find("publishers"); p != j.end() && p->is_object()) {
      set(f.publishers_known->get(), *p, "known");
      set(f.publishers_evicted->get(), *p, "evicted");
      set(f.duplicates->labels({"published"}), *p, "duplicates_published");
      set(f.duplicates->labels({"replicated"}), *p, "duplicates_replicated");
    }
    if (auto rec = j.find("recovery"); rec != j.end()) {
      set(f.recovery_seconds->get(), *rec, "elapsed_ms", 1e-3);
      set(f.recovery_segments->get(), *rec, "segments");
      set(f.recovery_truncated_bytes->get(), *rec, "truncated_bytes");
    }
    if (auto h = j.find("held_back"); h != j.end() && h->is_array())
      for (const auto& d : *h) {
        auto name = text(d, "destination");
        set(f.held_back_bytes->labels({name}), d, "bytes");
        set(f.held_back_segments->labels({name}), d, "segments");
        set(f.dest_released->labels({name}), d, "released");
      }
    set(f.released_destinations->get(), j, "released_destinations_total");
    set(f.held_bytes->get(), j, "held_bytes");
    set(f.max_held_bytes->get(), j, "max_held_bytes");
  }
}

void expose_destinations(node_metrics::families& f, const nlohmann::json& status) {
  if (auto it = status.find("destinations"); it != status.end() && it->is_array())
    for (const auto& d : *it) {
      std::string name = text(d, "name"), group = text(d, "group");
      auto l = [&](auto* fam) -> auto& { return fam->labels({name, group}); };
      set(l(f.dest_connected), d, "connected");
      set(l(f.dest_acked_seq), d, "acked");
      set(l(f.dest_lag_records), d, "lag_records");
      set(l(f.dest_in_flight_bytes), d, "in_flight_bytes");
      if (auto w = d.find("window"); w != d.end() && w->is_object()) {
        set(l(f.dest_window_bytes), *w, "bytes");
        set(l(f.dest_rtt_seconds), *w, "rtt_ms", 1e-3);
      }
      set(l(f.dest_lag_bytes), d, "lag_bytes");
      set(l(f.dest_lag_seconds), d, "lag_seconds");
      set(l(f.dest_stalled), d, "stalled");
      if (auto ae = d.find("anti_entropy"); ae != d.end() && ae->is_object()) {
        set(l(f.dest_divergent), *ae, "divergent_records");
        set(l(f.dest_held_elsewhere), *ae, "held_elsewhere_records");
        if (auto rp = ae->find("repair"); rp != ae->end() && rp->is_object())
          set(l(f.dest_repaired), *rp, "records_sent");
      }
      l(f.dest_sync).set(text(d, "sync_type") == "sync" ? 1 : 0);
      l(f.dest_downgraded).set(d.contains("downgraded_since") && !d["downgraded_since"].is_null() ? 1 : 0);
      set(l(f.dest_downgrades), d, "downgrades");
      set(l(f.dest_upgrades), d, "upgrades");
      set(l(f.dest_downgraded_seconds), d, "downgraded_seconds_total");
      set(l(f.dest_batches_sent), d, "batches_sent");
      set(l(f.dest_records_sent), d, "records_sent");
      set(l(f.dest_early_batches), d, "early_batches");
      set(l(f.dest_bytes_sent), d, "bytes_sent");
      set(l(f.dest_resends), d, "resends");
      if (auto c = d.find("compression"); c != d.end() && c->is_object()) {
        set(l(f.dest_compress_bytes_before), *c, "bytes_before");
        set(l(f.dest_compress_bytes_after), *c, "bytes_after");
        set(l(f.dest_compress_ratio), *c, "ratio");
        set(l(f.dest_compress_seconds), *c, "compress_seconds");
        set(f.dest_compressions->labels({name, group, "performed"}), *c, "compressions");
        set(f.dest_compressions->labels({name, group, "shared"}), *c, "shared_compressions");
      }
      set(l(f.dest_connects), d, "connects");
      set(l(f.dest_disconnects), d, "disconnects");
      set(l(f.dest_unsendable), d, "unsendable_records");
      if (auto pv = d.find("protocol_violations"); pv != d.end() && pv->is_object())
        for (const auto& [kind, n] : pv->items())
          set(f.dest_protocol_violations->labels({name, group, kind}), *pv, kind);
      if (auto rs = d.find("resumes"); rs != d.end() && rs->is_object())
        for (const auto& [reason, n] : rs->items())
          set(f.dest_resumes->labels({name, group, reason}), *rs, reason);
      set(l(f.dest_disk_read_bytes), d, "disk_read_bytes");
      set(l(f.dest_resumes_below_retention), d, "resumes_below_retention");
      set(l(f.dest_records_below_retention), d, "records_below_retention");
      if (auto c = d.find("cycler"); c != d.end() && c->is_object()) {
        set(l(f.dest_backoff_seconds), *c, "backoff_ms", 1e-3);
        set(l(f.dest_failovers), *c, "failovers");
        set(l(f.dest_failed_passes), *c, "passes_failed");
      }
    }

  if (auto it = status.find("destinations_summary"); it != status.end() && it->is_object()) {
    set(f.dests_by_state->labels({"configured"}), *it, "count");
    for (const char* k : {"connected", "not_connected", "stalled", "sync", "sync_connected"})
      set(f.dests_by_state->labels({k}), *it, k);
    set(f.dests_max_lag_records->get(), *it, "max_lag_records");
    set(f.dests_max_lag_seconds->get(), *it, "max_lag_seconds");
  }
}

// Per destination and check (config::validation_checks): the problems its latest validation
// found (/status destinations[i].validation.problems), 0 for every check it did not.
void expose_validation(node_metrics::families& f, const nlohmann::json& status) {
  auto it = status.find("destinations");
  if (it == status.end() || !it->is_array())
    return;
  for (const auto& d : *it) {
    std::map<std::string, double> found;
    if (auto v = d.find("validation"); v != d.end() && v->is_object() && v->contains("problems"))
      for (const auto& p : (*v)["problems"])
        found[text(p, "check")] += 1;
    for (auto check : config::validation_checks)
      f.dest_validation_problems->labels({text(d, "name"), std::string{check}}).set(found[std::string{check}]);
  }
}

void expose_clients(node_metrics::families& f, const nlohmann::json& status) {
  if (auto it = status.find("client_listener"); it != status.end() && it->is_object()) {
    set(f.client_connections->get(), *it, "connections");
    set(f.client_published->get(), *it, "published");
    set(f.client_persisted->get(), *it, "persisted");
    set(f.client_rejected->get(), *it, "rejected");
    set(f.client_publishers->get(), *it, "publishers");
    set(f.client_subscribers->get(), *it, "subscribers");
    set(f.client_logged_on->get(), *it, "logged_on_publishers");
    set(f.client_logons->get(), *it, "publisher_logons");
    set(f.client_logons_refused->get(), *it, "publisher_logons_refused");
    set(f.subscription_gaps->get(), *it, "subscription_gaps");
    set(f.subscription_gap_records->get(), *it, "subscription_gap_records");
    set(f.client_partial_acks->get(), *it, "persisted_partial");
    set(f.client_replicated_notes->get(), *it, "replicated_notes");
    set(f.client_waiting_notices->get(), *it, "waiting_notices");
    if (auto a = it->find("auth"); a != it->end() && a->is_object()) { // issue 18
      if (auto r = a->find("login_failures_by_reason"); r != a->end() && r->is_object())
        for (const auto& [reason, n] : r->items())
          set(f.auth_failures->labels({reason}), *r, reason);
      set(f.auth_subscriptions_refused->get(), *a, "subscriptions_not_entitled");
      set(f.admin_refused->labels({"401"}), *a, "admin_unauthorized");
      set(f.admin_refused->labels({"403"}), *a, "admin_forbidden");
    }
    if (auto r = it->find("rejected_by_reason"); r != it->end() && r->is_object())
      for (const auto& [reason, n] : r->items())
        set(f.client_nacks->labels({reason}), *r, reason);
    if (auto t = it->find("tls"); t != it->end() && t->is_object()) { // a plaintext port refuses TLS clients too
      set(f.client_tls_refusals->labels({"handshake"}), *t, "handshake_failures");
      set(f.client_tls_refusals->labels({"wrong_protocol"}), *t, "wrong_protocol");
    }
  }
}

// A destination a live reload removed (issue 21) is gone from /status: its series go from
// /metrics too, as Prometheus expects of a label set that no longer exists, instead of showing its
// last lag and connection state forever. Counters included: a destination added again later
// starts its counters at 0, which Prometheus' rate() reads as a counter reset. Series of a
// destination whose group changed go as well (their {destination, group} pair is gone). Only when
// the document lists the destinations: a document without them (the supervisor could not build
// it) changes nothing, as for every other figure.
void forget_removed_destinations(metrics::registry& r, const nlohmann::json& status) {
  auto it = status.find("destinations");
  if (it == status.end() || !it->is_array())
    return;
  std::set<std::string> names;
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& d : *it) {
    names.insert(text(d, "name"));
    pairs.emplace(text(d, "name"), text(d, "group"));
  }
  r.remove_series([&](const metrics::family_base& fam, const std::vector<std::string>& values) {
    const auto& labels = fam.label_names();
    const auto dest = std::find(labels.begin(), labels.end(), "destination");
    if (dest == labels.end())
      return false;
    const auto& name = values[static_cast<std::size_t>(dest - labels.begin())];
    const auto group = std::find(labels.begin(), labels.end(), "group");
    if (group == labels.end())
      return names.count(name) == 0;
    return pairs.count({name, values[static_cast<std::size_t>(group - labels.begin())]}) == 0;
  });
}

} // namespace

node_metrics::node_metrics() : f_(std::make_shared<families>()) {
  auto& r = registry_;
  auto& f = *f_;
  f.node_info = must(r.add_gauge("tandem_node_info", "Always 1; labels name this node", {"name", "group", "version"}));
  f.running_actors = must(r.add_gauge("caf_system_running_actors", "Actors running in the CAF actor system"));
  f.scheduler_threads = must(r.add_gauge("caf_scheduler_threads", "Worker threads of the CAF scheduler"));

  add_journal_families(r, f);
  add_destination_families(r, f);
  f.dest_validation_problems = must(r.add_gauge(
    "tandem_destination_validation_problems",
    "Problems the latest replication validation with the destination found, per check", {"destination", "check"}));
  add_client_families(r, f);
  add_inbound_families(r, f);

  if (auto err = metrics::add_process_metrics(r))
    throw std::logic_error("node metrics: " + err->message);
}

std::string node_metrics::expose(const nlohmann::json& status) {
  auto& f = *f_;
  f.node_info->labels({text(status, "name"), text(status, "group"), text(status, "version")}).set(1);
  if (status.contains("actors")) {
    set(f.running_actors->get(), status["actors"], "running");
    set(f.scheduler_threads->get(), status["actors"], "scheduler_threads");
  }

  expose_journal(f, status);
  expose_destinations(f, status);
  expose_validation(f, status);
  expose_clients(f, status);
  expose_inbound(f, status);
  forget_removed_destinations(registry_, status); // last: journal.held_back may still name one
  if (auto it = status.find("replication_connections"); it != status.end() && it->is_array())
    f.replication_connections->get().set(static_cast<double>(it->size()));
  set(f.duplicate_connections_closed->get(), status, "duplicate_connections_closed");
  if (auto it = status.find("identity_conflicts"); it != status.end()) {
    set(f.identity_conflicts->get(), *it, "refused_total");
    set(f.refused_for_identity->get(), *it, "refused_by_peers_total");
  }
  if (auto it = status.find("tls"); it != status.end() && it->is_object()) { // issue 18
    set(f.tls_expiry->get(), *it, "seconds_until_expiry");
    if (auto r = it->find("refusals"); r != it->end())
      for (const char* reason : {"handshake", "identity"})
        set(f.tls_refusals->labels({reason}), *r, reason);
    if (auto r = it->find("rotations"); r != it->end())
      for (const char* result : {"rotated", "unchanged", "refused"})
        set(f.tls_rotations->labels({result}), *r, result);
  }
  auto text = registry_.expose();
  if (auto& live = metrics::live_metrics::instance(); live.enabled())
    text += live.expose();
  return text;
}

} // namespace tandem
