// The admin listener: a CAF broker serving read-only HTTP endpoints to operators and scrapers.
//
//   GET /status   JSON snapshot of the node (asked of the supervisor)
//   GET /healthz  "ok" while the node runs
//   POST /destinations/NAME/downgrade   an operator downgrades sync destination NAME (issue 16,
//   POST /destinations/NAME/upgrade     logic/sync_downgrade.hpp): asked of the journal; answers
//                 JSON with the destination's new state (200), or {"error": ...} with 404 for an
//                 unknown destination, 409 for an async one; other methods on these paths: 405
//   GET /digest?origin=A&from=..&to=..&buckets=N   the anti-entropy digest of origin A's records
//                 (logic/anti_entropy.hpp parse_digest_query; asked of the digest scanner, which
//                 scans the journal on its own thread): 200 with the digest JSON, 400 naming the
//                 bad parameter, 503 when the scan failed or took longer than the request timeout
//
// With admin.tls the bytes go through a tls::session (tls/session.hpp) first; the HTTP above is
// the same. One request per connection, answered and closed. Bounded: at most `max_connections` open
// connections (more are closed on accept), a request head of at most 8 KiB, and a deadline per
// connection, so a slow or stuck HTTP client costs one slot for a while and never stalls an actor.
//
// Untyped on purpose: no actor sends it anything (it only asks the supervisor, through the typed
// supervisor_actor, and the journal, through journal_actor, and stops with them), so its handle
// is only for linking.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/journal_actor.hpp"
#include "actors/logic/access_control.hpp"
#include "actors/replication_messages.hpp"
#include "tls/context.hpp"

namespace tandem {

struct admin_limits {
  std::uint32_t max_connections = 16;
  std::chrono::milliseconds request_timeout{5000}; // whole request, from accept to response
  caf::actor timers;                                // timer_relay.hpp
  caf::actor digest_scanner;                        // digest_scanner.hpp; none: /digest answers 503
  std::shared_ptr<logic::access_control> access;    // the bearer token rule (issue 18); none: open
  // admin.tls (issue 18, docs/security.md): every connection speaks TLS with the holder's current
  // context, taken at accept (a SIGHUP rotation reaches the next connection; established ones keep
  // theirs). A plaintext client is answered one plaintext 400 and closed at its first bytes, with
  // a log line. None: plaintext HTTP.
  std::shared_ptr<tls::context_holder> tls;
};

// Adopts `listen_fd` (a bound, listening socket; CAF owns it from here on).
caf::actor spawn_admin_server(caf::actor_system& sys, int listen_fd, supervisor_actor supervisor,
                              journal_actor journal, admin_limits limits);

} // namespace tandem
