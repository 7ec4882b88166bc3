#include "client/file_publish_store.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "journal/crc32c.hpp"

namespace tandem::client {

namespace {

constexpr std::uint8_t type_message = 1;
constexpr std::uint8_t type_acked_through = 2;
constexpr std::uint8_t type_refused = 3;
constexpr std::uint8_t type_state = 4;
constexpr std::uint8_t type_persisted = 5;
constexpr std::uint8_t type_complete = 6;

template <class U>
void put(std::string& out, U v) {
  for (std::size_t i = 0; i < sizeof(U); ++i)
    out.push_back(static_cast<char>(static_cast<unsigned char>(v >> (8 * i))));
}

template <class U>
U get(const char* p) {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i)
    v |= static_cast<U>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// crc, length, type, body.
std::string encode_record(std::uint8_t type, const std::string& body) {
  std::string r;
  r.reserve(file_publish_store::header_bytes + body.size());
  put<std::uint32_t>(r, 0);
  put<std::uint32_t>(r, static_cast<std::uint32_t>(body.size()));
  r.push_back(static_cast<char>(type));
  r += body;
  const auto crc = journal::crc32c::mask(journal::crc32c::value(r.data() + 4, r.size() - 4));
  for (std::size_t i = 0; i < 4; ++i)
    r[i] = static_cast<char>(static_cast<unsigned char>(crc >> (8 * i)));
  return r;
}

std::string seq_body(std::uint64_t seq) {
  std::string b;
  put(b, seq);
  return b;
}

std::string message_body(std::uint64_t seq, const stored_message& m) {
  std::string b;
  b.reserve(8 + 2 + 4 + m.bytes());
  put(b, seq);
  put(b, static_cast<std::uint16_t>(m.topic.size()));
  b += m.topic;
  put(b, static_cast<std::uint32_t>(m.payload.size()));
  b += m.payload;
  return b;
}

store_error io_error(const journal::status& s) { return {store_errc::io_error, s.to_string()}; }

bool all_zero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '\0'; });
}

} // namespace

file_publish_store::opened file_publish_store::open(const std::string& dir, file_store_options options,
                                                    journal::file_system& fs) {
  opened o;
  std::unique_ptr<file_publish_store> s{new file_publish_store(dir + "/messages.log", options, fs)};
  if (auto err = s->recover(dir)) {
    o.error = std::move(err);
    return o;
  }
  o.store = std::move(s);
  return o;
}

std::uint64_t file_publish_store::file_bytes() const { return file_ ? file_->size() : 0; }

// Creates and locks `dir`, reads the file's bytes into `data` (empty when there is none) and
// opens it for appending.
store_status file_publish_store::open_file(const std::string& dir, std::string& data) {
  if (auto st = fs_.create_dir(dir); !st)
    return io_error(st);
  auto lock = fs_.lock_dir(dir);
  if (!lock) {
    if (lock.error().code() == journal::errc::locked)
      return store_error{store_errc::locked, "publish store " + dir + " is open in another process (" +
                                               lock.error().message() + ")"};
    return io_error(lock.error());
  }
  lock_ = std::move(*lock);

  if (fs_.exists(path_)) {
    auto read = fs_.read_file(path_);
    if (!read)
      return io_error(read.error());
    data = std::move(*read);
  }
  auto file = fs_.open_writable(path_);
  if (!file)
    return io_error(file.error());
  file_ = std::move(*file);
  return std::nullopt;
}

// Replays one checksummed record of the file (`where`: its file and offset, for errors).
store_status file_publish_store::apply_record(std::uint8_t type, std::string_view body, const std::string& where) {
  const auto bad = [&](const char* what) {
    return store_error{store_errc::corruption, where + what};
  };
  switch (type) {
    case type_message: {
      if (body.size() < 8 + 2 + 4)
        return bad("message record too short");
      const auto seq = get<std::uint64_t>(body.data());
      const auto topic_len = get<std::uint16_t>(body.data() + 8);
      if (body.size() < 8 + 2 + std::size_t{topic_len} + 4)
        return bad("message record: topic runs past the record");
      const auto payload_len = get<std::uint32_t>(body.data() + 10 + topic_len);
      if (body.size() != 8 + 2 + std::size_t{topic_len} + 4 + payload_len)
        return bad("message record: payload length does not match the record");
      if (seq > acked_through())
        restore_message(seq, {std::string{body.substr(10, topic_len)},
                              std::string{body.substr(14 + topic_len, payload_len)}});
      restore_last_seq(seq);
      break;
    }
    case type_acked_through:
    case type_refused:
      if (body.size() != 8)
        return bad("ack record of the wrong size");
      if (type == type_acked_through)
        restore_ack(get<std::uint64_t>(body.data()));
      else
        restore_refuse(get<std::uint64_t>(body.data()));
      break;
    case type_state:
      if (body.size() != 16)
        return bad("state record of the wrong size");
      restore_last_seq(get<std::uint64_t>(body.data()));
      restore_ack(get<std::uint64_t>(body.data() + 8));
      break;
    case type_persisted:
      if (body.size() != 8)
        return bad("persisted record of the wrong size");
      restore_mark(get<std::uint64_t>(body.data()));
      break;
    case type_complete:
      if (body.size() != 16)
        return bad("complete record of the wrong size");
      restore_complete(get<std::uint64_t>(body.data()), get<std::uint64_t>(body.data() + 8));
      break;
    default: return bad(("unknown record type " + std::to_string(type)).c_str());
  }
  return std::nullopt;
}

store_status file_publish_store::recover(const std::string& dir) {
  std::string data;
  if (auto err = open_file(dir, data))
    return err;

  // A file shorter than the magic is a crash during creation: start it again.
  if (data.size() < magic_bytes) {
    if (!data.empty() && std::string_view{magic, data.size()} != data && !all_zero(data))
      return store_error{store_errc::corruption, path_ + " offset 0: not a publish store (bad magic)"};
    recovery_.torn_bytes = data.size();
    if (auto st = file_->truncate(0); !st)
      return io_error(st);
    if (auto st = file_->append(std::string_view{magic, magic_bytes}); !st)
      return io_error(st);
    if (auto st = file_->sync(); !st)
      return io_error(st);
    return std::nullopt;
  }
  if (std::string_view{data}.substr(0, magic_bytes) != std::string_view{magic, magic_bytes})
    return store_error{store_errc::corruption, path_ + " offset 0: not a publish store (bad magic)"};

  std::size_t at = magic_bytes;
  while (at < data.size()) {
    const std::string_view rest = std::string_view{data}.substr(at);
    const auto where = path_ + " offset " + std::to_string(at) + ": ";
    // Torn tail: the last append did not complete (header or body cut, or never written).
    if (rest.size() < header_bytes || all_zero(rest))
      break;
    const auto length = get<std::uint32_t>(rest.data() + 4);
    if (std::uint64_t{length} > rest.size() - header_bytes)
      break;
    const std::size_t size = header_bytes + length;
    const auto crc = journal::crc32c::value(rest.data() + 4, size - 4);
    const auto type = static_cast<std::uint8_t>(rest[8]);
    const std::string_view body = rest.substr(header_bytes, length);
    if (journal::crc32c::unmask(get<std::uint32_t>(rest.data())) != crc) {
      if (size == rest.size())
        break; // the last record, written only in part before the crash
      // The length cannot be trusted after a bad checksum, so neither can anything after it.
      return store_error{store_errc::corruption, where + "checksum mismatch with " +
                                                   std::to_string(rest.size() - size) + " bytes after the record"};
    }
    if (auto err = apply_record(type, body, where))
      return err;
    ++recovery_.records;
    at += size;
  }
  if (at < data.size()) {
    recovery_.torn_offset = at;
    recovery_.torn_bytes = data.size() - at;
    if (auto st = file_->truncate(at); !st)
      return io_error(st);
    if (auto st = file_->sync(); !st)
      return io_error(st);
  }
  return std::nullopt;
}

store_status file_publish_store::write_record(std::uint8_t type, const std::string& body, bool sync) {
  if (!file_)
    return store_error{store_errc::io_error, path_ + ": not open (reopening after a compaction failed)"};
  const std::uint64_t before = file_->size();
  if (auto st = file_->append(encode_record(type, body)); !st) {
    // Cut a partial record off so the next append does not land behind garbage.
    (void)file_->truncate(before);
    return io_error(st);
  }
  if (sync && options_.sync) {
    if (auto st = file_->sync(); !st)
      return io_error(st);
  }
  return std::nullopt;
}

store_status file_publish_store::persist_append(std::uint64_t seq, const stored_message& m) {
  return write_record(type_message, message_body(seq, m), true);
}

store_status file_publish_store::persist_ack(std::uint64_t seq) {
  if (auto err = write_record(type_acked_through, seq_body(seq), false))
    return err;
  return maybe_compact();
}

store_status file_publish_store::persist_refuse(std::uint64_t seq) {
  if (auto err = write_record(type_refused, seq_body(seq), true))
    return err;
  return maybe_compact();
}

store_status file_publish_store::persist_mark(std::uint64_t seq) {
  return write_record(type_persisted, seq_body(seq), true);
}

store_status file_publish_store::persist_complete(std::uint64_t first, std::uint64_t last) {
  std::string b;
  put(b, first);
  put(b, last);
  if (auto err = write_record(type_complete, b, false))
    return err;
  return maybe_compact();
}

store_status file_publish_store::maybe_compact() {
  const std::uint64_t held_bytes = bytes() + size() * (header_bytes + 8 + 2 + 4);
  if (file_->size() <= options_.compact_min_bytes || file_->size() <= 2 * held_bytes)
    return std::nullopt;
  std::string image{magic, magic_bytes};
  std::string state;
  put(state, last_seq());
  // Marked messages may sit below acked_through: recovery restores only messages above it.
  put(state, held().empty() ? acked_through() : std::min(acked_through(), held().begin()->first - 1));
  image += encode_record(type_state, state);
  for (const auto& [seq, m] : held()) {
    image += encode_record(type_message, message_body(seq, m));
    if (m.persisted)
      image += encode_record(type_persisted, seq_body(seq));
  }
  if (auto st = fs_.write_file_atomic(path_, image); !st)
    return io_error(st); // the old file is intact and still open: keep appending to it
  // The old handle now points at the replaced file: appending to it would lose records.
  file_.reset();
  auto file = fs_.open_writable(path_);
  if (!file)
    return io_error(file.error());
  file_ = std::move(*file);
  ++compactions_;
  return std::nullopt;
}

} // namespace tandem::client
