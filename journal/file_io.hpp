// The journal's only door to the file system, injectable like LevelDB's Env so tests can fail a
// write or an fdatasync with ENOSPC/EIO/EDQUOT at a chosen moment (tests/journal/fault_fs.hpp).
//
// Contract: every call returns a status whose message names the path (and offset where one
// applies); implementations never throw. Objects returned by a file_system may be used from any
// one thread at a time; a file_system itself must be safe to call from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "journal/errc.hpp"

namespace tandem::journal {

// A file the writer appends to. Writes go at size() (tracked in memory, not O_APPEND), so after a
// truncate() the next append lands exactly at the truncation point.
class writable_file {
public:
  virtual ~writable_file() = default;
  // Writes all of `data` at size(). On error, some prefix may have been written; size() then
  // reports the bytes actually written so the caller can truncate() them away.
  virtual status append(std::string_view data) = 0;
  virtual status sync() = 0; // fdatasync
  virtual status truncate(std::uint64_t size) = 0;
  virtual std::uint64_t size() const = 0;
  virtual const std::string& path() const = 0;
  // Keeps zeros on disk ahead of size() (docs/journal-format.md, "Preallocated tail"): when fewer
  // than ahead / 2 bytes past size() are already allocated, writes zeros up to size() + ahead.
  // size() does not move; the next append overwrites them. Then an fdatasync after an append
  // finds the file's size unchanged and flushes data only, with no file-system journal commit
  // (on ext4 a 1 KiB append + fdatasync: ~130 us, the same into zeros: ~100 us; two processes
  // side by side: ~190 against ~130 us). truncate() drops what lies past its size. A file system
  // without the distinction (an in-memory test file) may do nothing.
  virtual status preallocate(std::uint64_t ahead) {
    (void)ahead;
    return {};
  }
};

class readable_file {
public:
  virtual ~readable_file() = default;
  // Reads up to n bytes at offset into buf; returns the count (short only at end of file).
  virtual result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) const = 0;
  virtual result<std::uint64_t> size() const = 0;
  virtual const std::string& path() const = 0;
};

// Held for the lifetime of an open journal: a second writer on the same directory is refused.
class dir_lock {
public:
  virtual ~dir_lock() = default;
};

class file_system {
public:
  virtual ~file_system() = default;
  // Opens (creating if absent) for appending at the current end of the file.
  virtual result<std::unique_ptr<writable_file>> open_writable(const std::string& path) = 0;
  virtual result<std::unique_ptr<readable_file>> open_readable(const std::string& path) = 0;
  // Writes temp file, fsyncs it, renames over `path`, fsyncs the directory: readers see the old
  // content or the new, never a mix, and the new content survives a crash once this returns ok.
  virtual status write_file_atomic(const std::string& path, std::string_view data) = 0;
  virtual result<std::string> read_file(const std::string& path) = 0; // errc::invalid_argument + ENOENT if absent
  virtual result<std::vector<std::string>> list_dir(const std::string& dir) = 0; // names, not paths
  virtual status create_dir(const std::string& dir) = 0; // ok if it exists
  virtual status remove_file(const std::string& path) = 0;
  virtual status sync_dir(const std::string& dir) = 0;
  virtual result<std::unique_ptr<dir_lock>> lock_dir(const std::string& dir) = 0; // errc::locked if held
  virtual bool exists(const std::string& path) = 0;
};

// The POSIX implementation; a process-wide singleton.
file_system& posix_file_system();

// Forwards every call to a target file system (LevelDB's EnvWrapper): a fault injector derives
// from it and overrides only what it breaks.
class forwarding_file_system : public file_system {
public:
  explicit forwarding_file_system(file_system& target = posix_file_system()) : target_(target) {}
  result<std::unique_ptr<writable_file>> open_writable(const std::string& path) override {
    return target_.open_writable(path);
  }
  result<std::unique_ptr<readable_file>> open_readable(const std::string& path) override {
    return target_.open_readable(path);
  }
  status write_file_atomic(const std::string& path, std::string_view data) override {
    return target_.write_file_atomic(path, data);
  }
  result<std::string> read_file(const std::string& path) override { return target_.read_file(path); }
  result<std::vector<std::string>> list_dir(const std::string& dir) override { return target_.list_dir(dir); }
  status create_dir(const std::string& dir) override { return target_.create_dir(dir); }
  status remove_file(const std::string& path) override { return target_.remove_file(path); }
  status sync_dir(const std::string& dir) override { return target_.sync_dir(dir); }
  result<std::unique_ptr<dir_lock>> lock_dir(const std::string& dir) override { return target_.lock_dir(dir); }
  bool exists(const std::string& path) override { return target_.exists(path); }

protected:
  file_system& target() { return target_; }

private:
  file_system& target_;
};

// The same for one open file: owns the file it forwards to.
class forwarding_writable_file : public writable_file {
public:
  explicit forwarding_writable_file(std::unique_ptr<writable_file> target) : target_(std::move(target)) {}
  status append(std::string_view data) override { return target_->append(data); }
  status sync() override { return target_->sync(); }
  status truncate(std::uint64_t size) override { return target_->truncate(size); }
  std::uint64_t size() const override { return target_->size(); }
  const std::string& path() const override { return target_->path(); }
  status preallocate(std::uint64_t ahead) override { return target_->preallocate(ahead); }

protected:
  writable_file& target() { return *target_; }

private:
  std::unique_ptr<writable_file> target_;
};

} // namespace tandem::journal
