// Env: the only door Strata uses to reach the file system.
//
// Every file, directory, rename, sync and lock of the SSD tier goes through an Env, so that tests
// can run the same code on in-memory files (NewMemEnv) or inject faults (src/env/fault_env.h)
// instead of touching a disk.
//
// Ownership: Env::Posix() is a process-wide singleton that is never destroyed. NewMemEnv()
// returns an Env owned by the caller; files created by an Env must be destroyed before it.
// Thread safety: every Env is thread-safe. A WritableFile is externally synchronized (one writer
// at a time). A RandomAccessFile is thread-safe: concurrent Read calls need no locking.
//
// Error mapping (every message names the path and, for POSIX, strerror(errno)):
//   NotFound           ENOENT: the file or directory does not exist.
//   ResourceExhausted  ENOSPC / EDQUOT: the device (or the fault env's budget) is full.
//   FailedPrecondition the file is already locked (LockFile), or a write to a closed file.
//   DataLoss           EIO from read, write or sync: the data on the device may be lost.
//   Internal           any other errno (EACCES, EBADF, EEXIST, ...).
// No exception leaves an Env.
#ifndef STRATA_ENV_H_
#define STRATA_ENV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strata {

// A file written sequentially by appending. Externally synchronized. Destroying an open file
// closes it (errors are then dropped: call Close to see them).
class WritableFile {
 public:
  WritableFile() = default;
  WritableFile(const WritableFile&) = delete;
  WritableFile& operator=(const WritableFile&) = delete;
  virtual ~WritableFile() = default;

  // Appends `data` at the end of the file. On error a prefix of `data` may have been written;
  // size() counts only what was written.
  [[nodiscard]] virtual absl::Status Append(absl::string_view data) = 0;
  // Hands buffered data to the OS (survives a process crash, not a power loss). Strata's POSIX
  // files do not buffer in user space, so this is cheap.
  [[nodiscard]] virtual absl::Status Flush() = 0;
  // Makes the data appended so far durable (fdatasync). Blocks on the device.
  [[nodiscard]] virtual absl::Status Sync() = 0;
  // Closes the file; later calls fail with FailedPrecondition. Does not sync.
  [[nodiscard]] virtual absl::Status Close() = 0;
  // Bytes in the file, including what existed before it was opened for append.
  virtual uint64_t size() const = 0;
};

// A file read at arbitrary offsets. Thread-safe: Read may be called concurrently.
class RandomAccessFile {
 public:
  RandomAccessFile() = default;
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;
  virtual ~RandomAccessFile() = default;

  // Reads up to `n` bytes at `offset` into `dst` (which must hold `n` bytes) and sets
  // `*bytes_read`. Fewer than `n` bytes (possibly 0) means end of file; that is not an error.
  [[nodiscard]] virtual absl::Status Read(uint64_t offset, size_t n, char* dst,
                                          size_t* bytes_read) const = 0;
  // File size when it was opened (appends made later through another handle are not seen).
  virtual uint64_t size() const = 0;
  // True when reads bypass the OS page cache (Env::NewDirectRandomAccessFile on POSIX): offsets,
  // lengths and destination buffers must then be multiples of kDirectIoAlignment.
  virtual bool direct_io() const { return false; }
  // The OS file descriptor for asynchronous I/O, or -1 when the file is not an OS file
  // (in-memory, fault-injecting). Owned by the file: valid until it is destroyed; never close it.
  // Readers that get -1 must go through Read, which is how injected faults reach them.
  virtual int native_handle() const { return -1; }
};

// An advisory lock held on a file; releasing is destroying it.
class FileLock {
 public:
  FileLock() = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  virtual ~FileLock() = default;
};

// Alignment of offsets, lengths and buffers for reads from a direct_io() file.
inline constexpr size_t kDirectIoAlignment = 4096;

class Env {
 public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env() = default;

  // The POSIX file system. Never null, never destroyed.
  static Env* Posix();

  // Opens `path` for appending, creating it if missing. `append` false truncates an existing
  // file; true keeps its contents and appends after them. NotFound if the directory is missing.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, bool append) = 0;
  // Opens an existing file for reading. NotFound if it does not exist.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  // As NewRandomAccessFile, with reads that bypass the page cache where the Env and the file
  // system allow it (POSIX: O_DIRECT; the result's direct_io() says). Otherwise a plain file.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewDirectRandomAccessFile(
      const std::string& path) {
    return NewRandomAccessFile(path);
  }

  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries in `dir`, without "." and "..", in no particular order.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> GetChildren(
      const std::string& dir) = 0;
  // NotFound if the file does not exist.
  [[nodiscard]] virtual absl::Status DeleteFile(const std::string& path) = 0;
  // Creates one directory level; OK if it already exists.
  [[nodiscard]] virtual absl::Status CreateDirIfMissing(const std::string& dir) = 0;
  // Atomically replaces `dst` (if any) with `src`: a reader sees either the old or the new file.
  // Durable only after SyncDir on the parent directory.
  [[nodiscard]] virtual absl::Status RenameFile(const std::string& src, const std::string& dst) = 0;
  // Makes creations, deletions and renames in `dir` durable (fsync on the directory).
  [[nodiscard]] virtual absl::Status SyncDir(const std::string& dir) = 0;
  [[nodiscard]] virtual absl::StatusOr<uint64_t> GetFileSize(const std::string& path) = 0;
  // Takes an exclusive lock on `path` (created if missing), held until the FileLock is destroyed.
  // FailedPrecondition naming the file if this process or another one already holds it.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& path) = 0;
};

// A thread-safe Env whose files live in memory. Sync is a no-op. Directories are implicit
// (CreateDirIfMissing records the name; files may be created in any directory).
std::unique_ptr<Env> NewMemEnv();

}  // namespace strata

#endif  // STRATA_ENV_H_
