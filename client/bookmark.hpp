// A subscriber's portable position: per origin instance, the highest origin_seq delivered
// (docs/protocol.md, bookmark subscriptions). Nodes store each origin's records in that origin's
// order, so "origin O up to n" names the same records on every replicated node.
//
// Bookmark file (text, one entry per line, written atomically: temp file, fsync, rename, fsync
// of the directory; a reader sees the old file or the new one, never a mix):
//
//   tandem-bookmark 1
//   <origin_seq> <origin>            origin bytes outside '!'..'~', and '%', as %XX (hex)
//   p <publisher_seq> <publisher>    per publisher, the highest publisher_seq delivered (escaped
//   ...                              alike); files written before these lines existed still load
//   crc <8 lowercase hex digits>     masked CRC32C of every byte before this line
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "journal/file_io.hpp"
#include "protocol/messages.hpp"

namespace tandem::client {

class bookmark {
public:
  // True when a record of `origin` with `origin_seq` was already delivered.
  bool covers(const std::string& origin, std::uint64_t origin_seq) const;
  // Records a delivery; never moves an origin backwards.
  void advance(const std::string& origin, std::uint64_t origin_seq);

  // The wire form, one entry per origin (at most protocol::max_bookmark_entries: a longer
  // bookmark cannot be sent and subscribe fails with that reason).
  std::vector<protocol::bookmark_entry> entries() const;
  const std::map<std::string, std::uint64_t>& origins() const { return seen_; }
  bool empty() const { return seen_.empty(); }

  // Per publisher: one message can be stored under two origins (its publisher failed over
  // before the first node replicated it), and a publisher's messages arrive in seq order, so a
  // record at or below the highest publisher_seq delivered is a copy. Kept for at most
  // max_publishers ids (beyond that, new ids are not tracked). publisher_seq 0 is never covered.
  static constexpr std::size_t max_publishers = 100'000;
  bool covers_publisher(const std::string& publisher, std::uint64_t publisher_seq) const;
  void advance_publisher(const std::string& publisher, std::uint64_t publisher_seq);
  const std::map<std::string, std::uint64_t>& publishers() const { return publishers_; }

  bool operator==(const bookmark&) const = default;

private:
  std::map<std::string, std::uint64_t> seen_;
  std::map<std::string, std::uint64_t> publishers_;
};

std::string format_bookmark_file(const bookmark& b);
struct parsed_bookmark {
  std::optional<bookmark> value; // nullopt on error
  std::string error;             // names the line
};
parsed_bookmark parse_bookmark_file(const std::string& text);

// Writes `b` to `path` atomically. "" on success, else why (naming the file).
std::string save_bookmark(const std::string& path, const bookmark& b,
                          journal::file_system& fs = journal::posix_file_system());
// Reads `path`: an absent file is an empty bookmark (first start); a damaged one is an error
// naming the file, never silently an empty bookmark (that would replay everything).
parsed_bookmark load_bookmark(const std::string& path, journal::file_system& fs = journal::posix_file_system());

} // namespace tandem::client
