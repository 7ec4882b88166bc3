// The journal's retention pass, on a thread of its own (issue 19, the sync pair's p99).
//
//   (retention, version, inbound_text) -> (segments_removed, inbound_written)
//       runs journal::enforce_retention() (the hold rule, the "positions" and "extent" files'
//       atomic writes, the removals), logs what it removed, released or restored, then writes the
//       inbound positions file from `inbound_text` when `version` is not 0 (ordered_file_writer
//       below). `inbound_written` is false when that write failed (logged here); the journal
//       actor then keeps its positions dirty for the next pass.
//
// Each pass writes up to three small files with write-temp + fsync + rename + fsync-dir: 1-7 ms
// on this project's test host. The journal actor sits on every publish's path (it decides each
// append and, when idle, commits it on its own thread: group_committer::flush(true)), so a pass
// run there held the next publish for that long once a second on each node; a sync pair's
// slowest 1% of messages (its p99) were made of such stalls. Here the pass blocks only this
// detached actor, which the journal actor asks once per retention interval and re-arms from the
// answer, so passes never pile up. The journal's own locks keep the pass apart from appends,
// acks and readers (journal/journal.hpp, concurrency contract).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/journal_runtime.hpp"

namespace tandem {

// A small file rewritten whole (write_file_atomic) from more than one thread, newest text last:
// each write carries a version taken in order from next_version() by the one thread that makes
// the texts; a write whose version is not above the last one written is skipped (a newer text is
// on disk already). The journal actor makes the inbound positions' texts; the retention worker
// writes them each pass, and the journal actor itself writes the last one at exit.
class ordered_file_writer {
public:
  explicit ordered_file_writer(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // The version of the next text; from one thread (the journal actor's).
  std::uint64_t next_version() { return ++issued_; }
  // Writes `text` unless a later version was written already (then ok, nothing written). A failed
  // write leaves the last written version as it was.
  journal::status write(std::uint64_t version, const std::string& text);
  std::uint64_t written_version() const;

private:
  std::string path_;
  std::uint64_t issued_ = 0;
  mutable std::mutex mu_;
  std::uint64_t written_ = 0;
};

using retention_worker_actor = caf::typed_actor<
  caf::replies_to<atoms::retention, std::uint64_t, std::string>::with<std::uint64_t, bool>>;

// Spawned detached by the journal actor, linked to it (it ends with the journal actor, after the
// pass in progress). `inbound` may be null (no inbound positions file configured).
retention_worker_actor spawn_retention_worker(caf::actor_system& sys, std::shared_ptr<journal_runtime> rt,
                                              std::shared_ptr<ordered_file_writer> inbound);

} // namespace tandem
