#include "journal/file_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace tandem::journal {

namespace {

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class fd_holder {
public:
  explicit fd_holder(int fd) : fd_(fd) {}
  fd_holder(const fd_holder&) = delete;
  fd_holder& operator=(const fd_holder&) = delete;
  ~fd_holder() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

private:
  int fd_;
};

class posix_writable final : public writable_file {
public:
  posix_writable(int fd, std::string path, std::uint64_t size)
    : fd_(fd), path_(std::move(path)), size_(size), allocated_(size) {}

  status append(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::pwrite(fd_.get(), data.data(), data.size(), static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return status::from_errno(errno, "write " + path_ + " offset " + std::to_string(size_));
      }
      size_ += static_cast<std::uint64_t>(n);
      allocated_ = std::max(allocated_, size_);
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }
  status sync() override {
    if (::fdatasync(fd_.get()) != 0) return status::from_errno(errno, "fdatasync " + path_);
    return {};
  }
  status truncate(std::uint64_t size) override {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
      return status::from_errno(errno, "truncate " + path_ + " to offset " + std::to_string(size));
    size_ = size;
    allocated_ = size;
    return {};
  }
  std::uint64_t size() const override { return size_; }
  const std::string& path() const override { return path_; }
  status preallocate(std::uint64_t ahead) override {
    if (allocated_ >= size_ + ahead / 2) return {};
    static const std::string zeros(64u << 10, '\0');
    const std::uint64_t from = allocated_, until = size_ + ahead;
    while (allocated_ < until) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), until - allocated_));
      const ssize_t w = ::pwrite(fd_.get(), zeros.data(), n, static_cast<off_t>(allocated_));
      if (w < 0) {
        if (errno == EINTR) continue;
        return status::from_errno(errno, "preallocate " + path_ + " offset " + std::to_string(allocated_));
      }
      allocated_ += static_cast<std::uint64_t>(w);
    }
    // Start writing the zeros back now, so that the next fdatasync finds little of them left.
    (void)::sync_file_range(fd_.get(), static_cast<off_t>(from), static_cast<off_t>(until - from),
                            SYNC_FILE_RANGE_WRITE);
    return {};
  }

private:
  fd_holder fd_;
  std::string path_;
  std::uint64_t size_;
  std::uint64_t allocated_; // the file's end on disk: size_ plus the zeros ahead of it
};

class posix_readable final : public readable_file {
public:
  posix_readable(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) const override {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_.get(), buf + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return status::from_errno(errno, "read " + path_ + " offset " + std::to_string(offset + done));
      }
      if (r == 0) break;
      done += static_cast<std::size_t>(r);
    }
    return done;
  }
  result<std::uint64_t> size() const override {
    struct stat st{};
    if (::fstat(fd_.get(), &st) != 0) return status::from_errno(errno, "stat " + path_);
    return static_cast<std::uint64_t>(st.st_size);
  }
  const std::string& path() const override { return path_; }

private:
  fd_holder fd_;
  std::string path_;
};

class posix_lock final : public dir_lock {
public:
  explicit posix_lock(int fd) : fd_(fd) {}
  ~posix_lock() override { ::flock(fd_.get(), LOCK_UN); }

private:
  fd_holder fd_;
};

class posix_fs final : public file_system {
public:
  result<std::unique_ptr<writable_file>> open_writable(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return status::from_errno(errno, "open " + path);
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return status::from_errno(err, "stat " + path);
    }
    return std::unique_ptr<writable_file>(new posix_writable(fd, path, static_cast<std::uint64_t>(st.st_size)));
  }

  result<std::unique_ptr<readable_file>> open_readable(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return status::from_errno(errno, "open " + path);
    return std::unique_ptr<readable_file>(new posix_readable(fd, path));
  }

  status write_file_atomic(const std::string& path, std::string_view data) override {
    const std::string tmp = path + ".tmp";
    {
      const int raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (raw < 0) return status::from_errno(errno, "open " + tmp);
      fd_holder fd(raw);
      while (!data.empty()) {
        const ssize_t n = ::write(fd.get(), data.data(), data.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return status::from_errno(errno, "write " + tmp);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
      }
      if (::fsync(fd.get()) != 0) return status::from_errno(errno, "fsync " + tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) return status::from_errno(errno, "rename " + tmp + " to " + path);
    return sync_dir(parent_dir(path));
  }

  result<std::string> read_file(const std::string& path) override {
    auto f = open_readable(path);
    if (!f) return f.error();
    auto size = (*f)->size();
    if (!size) return size.error();
    std::string out(static_cast<std::size_t>(*size), '\0');
    auto n = (*f)->read_at(0, out.data(), out.size());
    if (!n) return n.error();
    out.resize(*n);
    return out;
  }

  result<std::vector<std::string>> list_dir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return status::from_errno(errno, "opendir " + dir);
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    return names;
  }

  status create_dir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return status::from_errno(errno, "mkdir " + dir);
    return {};
  }

  status remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return status::from_errno(errno, "unlink " + path);
    return {};
  }

  status sync_dir(const std::string& dir) override {
    const int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (raw < 0) return status::from_errno(errno, "open dir " + dir);
    fd_holder fd(raw);
    if (::fsync(fd.get()) != 0) return status::from_errno(errno, "fsync dir " + dir);
    return {};
  }

  result<std::unique_ptr<dir_lock>> lock_dir(const std::string& dir) override {
    const std::string path = dir + "/LOCK";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return status::from_errno(errno, "open " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return status{errc::locked, path + " is held by another process", err};
      return status::from_errno(err, "flock " + path);
    }
    return std::unique_ptr<dir_lock>(new posix_lock(fd));
  }

  bool exists(const std::string& path) override {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
  }
};

} // namespace

file_system& posix_file_system() {
  static posix_fs fs;
  return fs;
}

} // namespace tandem::journal
