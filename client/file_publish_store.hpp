// The durable publish store: one append-only file per publisher, so that a publisher restarted
// with the same name and directory resends what its node never acknowledged.
//
// DIR/messages.log:
//
//   file   := magic record*                 magic = "TNDPUB1\n" (8 bytes)
//   record := crc:u32 length:u32 type:u8 body
//             crc    = masked CRC32C (journal/crc32c.hpp) of length, type and body
//             length = size of body
//   type 1 message        body = seq:u64 topic_len:u16 topic payload_len:u32 payload
//   type 2 acked_through  body = seq:u64     the node holds every message <= seq
//   type 3 refused        body = seq:u64     the node refused seq; never resend it
//   type 4 state          body = last_seq:u64 acked_through:u64   (first record after compaction)
//   type 5 persisted      body = seq:u64     the node acked seq partially (persisted_partial):
//                                            keep it, marked, through later acked_through records
//   type 6 complete       body = first:u64 last:u64   every sync destination holds the marked
//                                            messages in [first, last]: drop them
//
// Types 5 and 6 were added with protocol 1.2 ("persisted but not complete"); a file without them
// reads as before, and an older build refuses a file with them (unknown record type: corruption)
// rather than dropping a marked message at its next acked_through.
//
// All integers little-endian. DIR/LOCK is flock'ed while the store is open: two live publishers
// on one store are refused (store_errc::locked).
//
// Durability: a message record is fdatasync'ed before append() returns (unless sync is off), so
// a message is on disk before it is ever sent, and a seq handed out is never handed out again
// after a crash. Refusals are synced too. Ack records are not: losing one to a power cut only
// makes the restarted publisher resend messages the node already holds, which the node
// acknowledges as duplicates without storing them again. Persisted marks are synced (losing one
// behind a later ack record would drop a message its partner may lack); complete records are
// not (losing one only makes the restarted publisher resend a message held everywhere).
// Compaction writes the state record with acked_through below the oldest held message, then each
// held message, each marked one followed by its type 5 record.
//
// Recovery at open, record by record from the start:
// - A record whose header or body runs past the end of the file is a torn tail: the crash hit
//   the last append. So is a bad checksum on the record that ends exactly at the end of the file,
//   and an all-zero rest of the file (a file extended but never written). The file is truncated
//   there and recovery() reports the bytes dropped; this is a clean end, not an error.
// - A bad checksum or an unknown type with valid bytes after it is corruption: open fails naming
//   the file and offset. Nothing is guessed, since dropping a middle record could lose an
//   unacknowledged message.
//
// Compaction: when the file exceeds compact_min_bytes and twice the bytes of what is still held,
// it is rewritten (state record + held messages) to a temp file, synced and renamed over the old
// one, so the file stays bounded by the store's limits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "client/publish_store.hpp"
#include "journal/file_io.hpp"

namespace tandem::client {

struct file_store_options {
  store_limits limits{};
  bool sync = true; // fdatasync message and refusal records (off: survives a process crash only)
  std::uint64_t compact_min_bytes = 4u << 20;
};

struct store_recovery {
  std::uint64_t records = 0;     // valid records read
  std::uint64_t torn_bytes = 0;  // bytes dropped from a torn tail
  std::uint64_t torn_offset = 0; // where the file was cut (when torn_bytes > 0)
};

class file_publish_store final : public publish_store {
public:
  static constexpr char magic[] = "TNDPUB1\n";
  static constexpr std::size_t magic_bytes = 8;
  static constexpr std::size_t header_bytes = 4 + 4 + 1;

  struct opened;
  // Creates DIR if needed, locks it, reads and recovers DIR/messages.log.
  static opened open(const std::string& dir, file_store_options options = {},
                     journal::file_system& fs = journal::posix_file_system());

  const store_recovery& recovery() const { return recovery_; }
  const std::string& path() const { return path_; }
  std::uint64_t file_bytes() const;
  std::uint64_t compactions() const { return compactions_; }

protected:
  store_status persist_append(std::uint64_t seq, const stored_message& m) override;
  store_status persist_ack(std::uint64_t seq) override;
  store_status persist_refuse(std::uint64_t seq) override;
  store_status persist_mark(std::uint64_t seq) override;
  store_status persist_complete(std::uint64_t first, std::uint64_t last) override;

private:
  file_publish_store(std::string path, file_store_options options, journal::file_system& fs)
    : publish_store(options.limits), path_(std::move(path)), options_(options), fs_(fs) {}
  store_status recover(const std::string& dir);
  store_status open_file(const std::string& dir, std::string& data);
  store_status apply_record(std::uint8_t type, std::string_view body, const std::string& where);
  store_status write_record(std::uint8_t type, const std::string& body, bool sync);
  store_status maybe_compact();

  std::string path_;
  file_store_options options_;
  journal::file_system& fs_;
  std::unique_ptr<journal::dir_lock> lock_;
  std::unique_ptr<journal::writable_file> file_;
  store_recovery recovery_;
  std::uint64_t compactions_ = 0;
};

struct file_publish_store::opened {
  std::unique_ptr<file_publish_store> store; // null on error
  store_status error;
};

} // namespace tandem::client
