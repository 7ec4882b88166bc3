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
//
// All integers little-endian. DIR/LOCK is flock'ed while the store is open: two live publishers
// on one store are refused (store_errc::locked).
//
// Durability: a message record is fdatasync'ed before append() returns (unless sync is off), so
// a message is on disk before it is ever sent, and a seq handed out is never handed out again
// after a crash. Refusals are synced too. Ack records are not: losing one to a power cut only
// makes the restarted publisher resend messages the node already holds, which the node
// acknowledges as duplicates without storing them again.
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
