// Fan-out without per-destination copies (docs/performance.md, "Fan-out"): every destination
// link of a node sends the same wire encoding of a record, so it is encoded once per journal
// chunk (wire_chunk, cached with the chunk: journal::record_chunk::derived) and each link only
// picks the records its routing admits, as runs of bytes inside those shared encodings. The
// link's batch (fanout_batch) holds reference-counted pieces, not copies; the one copy per
// destination is the write into that destination's connection.
//
// Plain C++: no CAF, sockets, threads or clocks (tests drive it directly).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/logic/memory_budget.hpp"
#include "journal/tail_window.hpp"
#include "protocol/batch.hpp"
#include "protocol/compression.hpp"

namespace tandem::logic {

struct compressed_batches; // the compressed forms of batches starting in one wire_chunk (below)

// The wire encoding (protocol record layout, the path extended by this node) of every record of
// one journal chunk, plus what routing needs to know of each.
struct wire_chunk {
  struct entry {
    std::string origin;
    std::uint64_t origin_seq = 0;
    std::string topic;
    std::vector<std::string> path; // as stored (without this node)
    std::uint32_t offset = 0, length = 0; // in bytes; length 0: not encodable (see error)
    std::string error;
  };
  std::vector<entry> records; // index = index in the chunk
  std::string bytes;
  // Batches whose first piece lies in this chunk, compressed (batch_compressor): shared by every
  // link sending the same batch with the same setting. Lives as long as the chunk.
  std::shared_ptr<compressed_batches> compressed;

  // Encodes every record of `chunk` as sent by instance `sender`.
  static wire_chunk build(const journal::record_chunk& chunk, std::string_view sender, std::size_t max_frame_bytes);
  // The chunk's cached encoding, building and caching it if no reader did yet. All callers must
  // pass the same sender and max_frame_bytes for a given chunk (one node, one configuration).
  static std::shared_ptr<const wire_chunk> of(const journal::record_chunk& chunk, std::string_view sender,
                                              std::size_t max_frame_bytes);
  std::string_view wire(std::size_t i) const { return std::string_view(bytes).substr(records[i].offset, records[i].length); }
};

// One record_batch frame as shared pieces: header() then every piece's bytes, in order.
class fanout_batch {
public:
  struct piece {
    std::shared_ptr<const wire_chunk> owner; // keeps `bytes` alive
    std::string_view bytes;
  };

  explicit fanout_batch(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // True when record i of `chunk` fits into this frame (it always fits an empty one when it was
  // encodable); false: send this batch first.
  bool fits(const wire_chunk& chunk, std::size_t i) const;
  // Adds record i of `chunk` (extends the last piece when it continues it).
  void add(const std::shared_ptr<const wire_chunk>& chunk, std::size_t i);

  std::uint32_t records() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  // Frame size: header plus records.
  std::size_t frame_bytes() const noexcept { return protocol::batch_header_bytes + body_; }
  std::string header() const; // precondition: !empty()
  const std::vector<piece>& pieces() const noexcept { return pieces_; }
  // The whole frame in one string (tests, and the input of compression; the links hand pieces
  // to the connection).
  std::string flatten() const;

  // When set, the connection writes this compressed_batch frame instead of header() and the
  // pieces (batch_compressor). Shared, never modified.
  std::shared_ptr<const std::string> compressed;
  // The highest seq in it, set by the link when it sends the batch: what a durable_ack on the
  // connection may cover before the connection hands it to the sync answers (forward_ack).
  std::uint64_t last_seq = 0;

private:
  std::size_t max_frame_bytes_;
  std::vector<piece> pieces_;
  std::uint32_t count_ = 0;
  std::size_t body_ = 0;
};

// ---- link compression (issue 20, protocol/compression.hpp) ----

// One link's setting on one connection: what negotiation chose, and the configured level.
struct compression_setting {
  protocol::compression_algorithm algorithm = protocol::compression_algorithm::none;
  int level = 0;
  bool operator==(const compression_setting&) const = default;
};

// Compresses a batch ONCE per (setting, batch) for all links: the links whose routing admits the
// same records read the same slices of the tail window and build identical batches (the same
// pieces of the same shared wire_chunks), so the first link to send one compresses it and the
// others take its result. A batch is identified by its pieces (owner and byte range) and count;
// the result is cached on the wire_chunk of its first piece, at most max_entries per chunk
// (oldest dropped first), and keeps the batch's other chunks alive as long as it is cached.
// A cached frame is charged to the node's memory budget (memory_budget.hpp) by its bytes for as
// long as the cache holds it, and only while the budget is at most half used (try_acquire_spare:
// a cache never crowds out admitted frames); otherwise the result is used by this link only, not
// cached (outcome::cached false: another link compresses the batch again).
// Thread-safe (links run on several scheduler threads); no lock is held while compressing, so two
// links racing on one batch may both compress it (both results are correct; one is kept).
class batch_compressor {
public:
  static constexpr std::size_t max_entries = 8;

  struct outcome {
    // The compressed_batch frame; null when the plain frame is to be sent (not smaller, or the
    // compressor failed: `error` says why).
    std::shared_ptr<const std::string> frame;
    bool compressed_here = false; // this call ran the compressor (false: another link's result)
    bool cached = false;          // compressed here and kept for the other links (charged to the budget)
    std::size_t plain_bytes = 0;  // the plain frame's size
    std::string error;
  };

  // Precondition: !batch.empty(), setting.algorithm != none, budget not null.
  static outcome compress(const fanout_batch& batch, const compression_setting& setting, std::size_t max_frame_bytes,
                          const std::shared_ptr<memory_budget>& budget);
};

} // namespace tandem::logic
