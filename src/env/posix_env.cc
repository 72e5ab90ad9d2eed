// Env::Posix(): files through open/write/pread/fdatasync, locks through flock(2).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "strata/env.h"
#include "strata/status.h"

namespace strata {
namespace {

// Maps errno to the code documented in env.h; the message names the operation and the path.
absl::Status PosixError(const char* op, const std::string& path, int err) {
  std::string msg = absl::StrCat(op, " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EIO:
      return absl::DataLossError(msg);
    default:
      return absl::InternalError(msg);
  }
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Append(absl::string_view data) override {
    if (fd_ < 0) return Closed("append");
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError("write", path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
      size_ += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }
  absl::Status Flush() override { return fd_ < 0 ? Closed("flush") : absl::OkStatus(); }
  absl::Status Sync() override {
    if (fd_ < 0) return Closed("sync");
    if (::fdatasync(fd_) != 0) return PosixError("fdatasync", path_, errno);
    return absl::OkStatus();
  }
  absl::Status Close() override {
    if (fd_ < 0) return Closed("close");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return PosixError("close", path_, errno);
    return absl::OkStatus();
  }
  uint64_t size() const override { return size_; }

 private:
  absl::Status Closed(const char* op) const {
    return absl::FailedPreconditionError(absl::StrCat(op, " ", path_, ": file is closed"));
  }

  const std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size, bool direct = false)
      : path_(std::move(path)), fd_(fd), size_(size), direct_(direct) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  absl::Status Read(uint64_t offset, size_t n, char* dst, size_t* bytes_read) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        *bytes_read = done;
        return PosixError("read", path_, errno);
      }
      if (r == 0) break;  // end of file
      done += static_cast<size_t>(r);
    }
    *bytes_read = done;
    return absl::OkStatus();
  }
  uint64_t size() const override { return size_; }
  int native_handle() const override { return fd_; }
  bool direct_io() const override { return direct_; }

 private:
  const std::string path_;
  const int fd_;
  const uint64_t size_;
  const bool direct_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  const int fd_;
};

// Opens `path` and returns the descriptor with the file's current size.
absl::StatusOr<std::pair<int, uint64_t>> OpenWithSize(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return PosixError("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = PosixError("fstat", path, errno);
    ::close(fd);
    return s;
  }
  return std::make_pair(fd, static_cast<uint64_t>(st.st_size));
}

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                bool append) override {
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? 0 : O_TRUNC);
    auto opened = OpenWithSize(path, flags);
    if (!opened.ok()) return opened.status();
    return std::make_unique<PosixWritableFile>(path, opened->first, opened->second);
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    auto opened = OpenWithSize(path, O_RDONLY | O_CLOEXEC);
    if (!opened.ok()) return opened.status();
    return std::make_unique<PosixRandomAccessFile>(path, opened->first, opened->second);
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewDirectRandomAccessFile(
      const std::string& path) override {
    auto opened = OpenWithSize(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
    // File systems without O_DIRECT (tmpfs) refuse it with EINVAL: read through the cache there.
    if (!opened.ok() && opened.status().code() != absl::StatusCode::kNotFound) {
      return NewRandomAccessFile(path);
    }
    if (!opened.ok()) return opened.status();
    return std::make_unique<PosixRandomAccessFile>(path, opened->first, opened->second,
                                                   /*direct=*/true);
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError("opendir", dir, errno);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
    ::closedir(d);
    return names;
  }

  absl::Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError("unlink", path, errno);
    return absl::OkStatus();
  }

  absl::Status CreateDirIfMissing(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return PosixError("mkdir", dir, errno);
    return absl::OkStatus();
  }

  absl::Status RenameFile(const std::string& src, const std::string& dst) override {
    if (::rename(src.c_str(), dst.c_str()) != 0) {
      return PosixError("rename", absl::StrCat(src, " -> ", dst), errno);
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", dir, errno);
    absl::Status s;
    if (::fsync(fd) != 0) s = PosixError("fsync", dir, errno);
    ::close(fd);
    return s;
  }

  absl::StatusOr<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  // flock locks belong to the open file description, so a second open() + flock() conflicts
  // with the first even inside one process (unlike fcntl locks, which a process shares).
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError("open", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return absl::FailedPreconditionError(
            absl::StrCat("lock ", path, ": already locked by another handle or process"));
      }
      return PosixError("flock", path, err);
    }
    return std::make_unique<PosixFileLock>(fd);
  }
};

}  // namespace

Env* Env::Posix() {
  static Env* const env = new PosixEnv();
  return env;
}

}  // namespace strata
