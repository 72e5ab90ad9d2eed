// FaultInjectionEnv: an Env that forwards to a base Env and injects the failures the SSD tier
// must survive: a failing Nth write/read/sync, short writes, a full device, and power loss.
//
// Ownership: the base Env is not owned and must outlive this one; files opened through this Env
// must be destroyed before it. Thread-safe (one mutex guards counters, faults and file state).
//
// What "durable" means here. For every file written through this Env it tracks the size and
// the synced size (the size at its last successful Sync). Crash() simulates power loss:
//   * a file whose data was synced at least once is truncated back to its synced size;
//   * a file created (or truncated, append = false) through this Env and never synced is deleted;
//   * a file opened with append = true that already existed counts its old contents as synced;
//   * files never opened for writing through this Env are untouched.
// Directory entries are not modelled separately: a rename or a deletion is durable at once
// (SyncDir only counts as a sync op). Handles opened before Crash() fail afterwards with
// FailedPrecondition; open new ones.
//
// Op counters count calls since construction: Append calls (kWrite), RandomAccessFile::Read
// calls (kRead), WritableFile::Sync and SyncDir calls (kSync). An injected failure still counts.
//
// Slow device. SetReadLatency(d) makes every RandomAccessFile::Read through this Env sleep `d`
// before it reads (a read failed by FailNth sleeps too, as a slow device's EIO would), so tests
// can provoke I/O contention (e.g. the swap-ratio controller backing off). The sleep runs without
// the Env's mutex: concurrent reads overlap their latencies, as on a device with a deep queue.
// Reads already sleeping keep the latency they started with.
#ifndef STRATA_ENV_FAULT_ENV_H_
#define STRATA_ENV_FAULT_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "strata/env.h"
#include "util/mutex.h"
#include "util/random.h"

namespace strata::internal {

class FaultInjectionEnv final : public Env {
 public:
  enum class Op { kWrite, kRead, kSync };
  enum class CrashMode {
    kDropUnsynced,    // every tracked file loses what was appended after its last Sync
    kTornLastAppend,  // as above, except the file of the most recent successful Append keeps its
                      // unsynced appends before that one, and a random prefix (possibly empty
                      // or all) of the last one, as if the device wrote back all but its tail
  };

  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  // The n-th op of kind `op` from now (n = 1: the next one) fails with `status` (not OK) and has
  // no effect: a failing Append writes nothing, a failing Sync syncs nothing.
  void FailNth(Op op, uint64_t n, absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  // The n-th Append from now writes only the first min(bytes, size) bytes and fails with
  // DataLoss ("short write", as an EIO after a partial write).
  void ShortWrite(uint64_t n, uint64_t bytes) ABSL_LOCKS_EXCLUDED(mu_);
  // From now on, Appends may write `bytes` more bytes in total; the Append that crosses the
  // limit writes the prefix that fits and fails with ResourceExhausted (ENOSPC), later ones
  // write nothing and fail the same way. Deleting files does not free space; ClearFaults does.
  void NoSpaceAfter(uint64_t bytes) ABSL_LOCKS_EXCLUDED(mu_);
  // Cancels every pending fault (FailNth, ShortWrite, NoSpaceAfter). The read latency stays.
  void ClearFaults() ABSL_LOCKS_EXCLUDED(mu_);
  // From now on every RandomAccessFile::Read sleeps `latency` before reading; zero (or
  // negative) turns it off. See "Slow device" above.
  void SetReadLatency(absl::Duration latency) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration read_latency() const ABSL_LOCKS_EXCLUDED(mu_);
  // Simulates power loss as described above; `seed` picks the torn prefix. Call it with no I/O
  // in flight. Returns the first error of the base Env while rewriting files.
  [[nodiscard]] absl::Status Crash(CrashMode mode = CrashMode::kDropUnsynced, uint64_t seed = 0)
      ABSL_LOCKS_EXCLUDED(mu_);

  uint64_t writes() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t reads() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t syncs() const ABSL_LOCKS_EXCLUDED(mu_);
  // Synced size of a tracked file, or -1 if it is not tracked.
  int64_t synced_size(const std::string& path) const ABSL_LOCKS_EXCLUDED(mu_);

  // Env.
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                bool append) override;
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override;
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    return base_->GetChildren(dir);
  }
  absl::Status DeleteFile(const std::string& path) override;
  absl::Status CreateDirIfMissing(const std::string& dir) override {
    return base_->CreateDirIfMissing(dir);
  }
  absl::Status RenameFile(const std::string& src, const std::string& dst) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::StatusOr<uint64_t> GetFileSize(const std::string& path) override {
    return base_->GetFileSize(path);
  }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }

 private:
  friend class FaultWritableFile;
  friend class FaultRandomAccessFile;

  // Durability state of one file written through this Env. Guarded by mu_.
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
    bool ever_synced = false;
    uint64_t last_append_offset = 0;  // start of the most recent successful Append
  };
  struct Fault {
    uint64_t at = 0;  // op counter value that triggers it; 0 = none
    absl::Status status;
  };

  // Called by the handles. Decide, account and record under mu_; the I/O itself runs unlocked.
  absl::Status BeginAppend(uint64_t epoch, const std::string& path, size_t n, size_t* allowed)
      ABSL_LOCKS_EXCLUDED(mu_);
  void EndAppend(const std::shared_ptr<FileState>& f, size_t written) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status BeginSync(uint64_t epoch, const std::string& path) ABSL_LOCKS_EXCLUDED(mu_);
  void EndSync(const std::shared_ptr<FileState>& f) ABSL_LOCKS_EXCLUDED(mu_);
  // Also returns the latency the read must sleep (without the lock) in `*latency`.
  absl::Status BeginRead(uint64_t epoch, const std::string& path, absl::Duration* latency)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CheckEpoch(uint64_t epoch, const std::string& path) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rewrites `path` in the base Env to its first `size` bytes.
  absl::Status Truncate(const std::string& path, uint64_t size);
  uint64_t epoch() const ABSL_LOCKS_EXCLUDED(mu_);

  Env* const base_;

  mutable Mutex mu_;
  // Protected by mu_.
  std::map<std::string, std::shared_ptr<FileState>> files_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<FileState> last_append_file_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;  // incremented by Crash
  uint64_t writes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t reads_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
  Fault fail_write_ ABSL_GUARDED_BY(mu_);
  Fault fail_read_ ABSL_GUARDED_BY(mu_);
  Fault fail_sync_ ABSL_GUARDED_BY(mu_);
  uint64_t short_write_at_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t short_write_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool space_limited_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t space_left_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration read_latency_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
};

}  // namespace strata::internal

#endif  // STRATA_ENV_FAULT_ENV_H_
