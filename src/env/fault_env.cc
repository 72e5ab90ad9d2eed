#include "env/fault_env.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "strata/status.h"

namespace strata::internal {

// Prefixes an injected status with the operation and the file, so errors always name the file.
static absl::Status Named(const absl::Status& s, const char* op, const std::string& path) {
  return absl::Status(s.code(), absl::StrCat(op, " ", path, ": ", std::string(s.message())));
}

// True (and disarms the trigger) when the op counter reaches `*at`.
static bool Fires(uint64_t count, uint64_t* at) {
  if (*at == 0 || *at != count) return false;
  *at = 0;
  return true;
}

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base,
                    std::shared_ptr<FaultInjectionEnv::FileState> state, uint64_t epoch)
      : env_(env),
        path_(std::move(path)),
        base_(std::move(base)),
        state_(std::move(state)),
        epoch_(epoch) {}

  absl::Status Append(absl::string_view data) override {
    size_t allowed = 0;
    absl::Status fault = env_->BeginAppend(epoch_, path_, data.size(), &allowed);
    if (allowed > 0) {
      const uint64_t before = base_->size();
      absl::Status s = base_->Append(data.substr(0, allowed));
      env_->EndAppend(state_, base_->size() - before);  // a failing write may leave a prefix
      RETURN_IF_ERROR(s);
    }
    return fault;
  }
  absl::Status Flush() override { return base_->Flush(); }
  absl::Status Sync() override {
    RETURN_IF_ERROR(env_->BeginSync(epoch_, path_));
    RETURN_IF_ERROR(base_->Sync());
    env_->EndSync(state_);
    return absl::OkStatus();
  }
  absl::Status Close() override { return base_->Close(); }
  uint64_t size() const override { return base_->size(); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  const std::unique_ptr<WritableFile> base_;
  const std::shared_ptr<FaultInjectionEnv::FileState> state_;
  const uint64_t epoch_;
};

class FaultRandomAccessFile final : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultInjectionEnv* env, std::string path,
                        std::unique_ptr<RandomAccessFile> base, uint64_t epoch)
      : env_(env), path_(std::move(path)), base_(std::move(base)), epoch_(epoch) {}

  absl::Status Read(uint64_t offset, size_t n, char* dst, size_t* bytes_read) const override {
    *bytes_read = 0;
    absl::Duration latency;
    absl::Status fault = env_->BeginRead(epoch_, path_, &latency);
    if (latency > absl::ZeroDuration()) absl::SleepFor(latency);  // unlocked: reads overlap
    RETURN_IF_ERROR(fault);
    return base_->Read(offset, n, dst, bytes_read);
  }
  uint64_t size() const override { return base_->size(); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  const std::unique_ptr<RandomAccessFile> base_;
  const uint64_t epoch_;
};

void FaultInjectionEnv::FailNth(Op op, uint64_t n, absl::Status status) {
  MutexLock l(&mu_);
  Fault* f = op == Op::kWrite ? &fail_write_ : op == Op::kRead ? &fail_read_ : &fail_sync_;
  const uint64_t count = op == Op::kWrite ? writes_ : op == Op::kRead ? reads_ : syncs_;
  f->at = count + n;
  f->status = std::move(status);
}

void FaultInjectionEnv::ShortWrite(uint64_t n, uint64_t bytes) {
  MutexLock l(&mu_);
  short_write_at_ = writes_ + n;
  short_write_bytes_ = bytes;
}

void FaultInjectionEnv::NoSpaceAfter(uint64_t bytes) {
  MutexLock l(&mu_);
  space_limited_ = true;
  space_left_ = bytes;
}

void FaultInjectionEnv::SetReadLatency(absl::Duration latency) {
  MutexLock l(&mu_);
  read_latency_ = std::max(latency, absl::ZeroDuration());
}

absl::Duration FaultInjectionEnv::read_latency() const {
  MutexLock l(&mu_);
  return read_latency_;
}

void FaultInjectionEnv::ClearFaults() {
  MutexLock l(&mu_);
  fail_write_ = fail_read_ = fail_sync_ = Fault();
  short_write_at_ = 0;
  space_limited_ = false;
}

uint64_t FaultInjectionEnv::writes() const {
  MutexLock l(&mu_);
  return writes_;
}
uint64_t FaultInjectionEnv::reads() const {
  MutexLock l(&mu_);
  return reads_;
}
uint64_t FaultInjectionEnv::syncs() const {
  MutexLock l(&mu_);
  return syncs_;
}
uint64_t FaultInjectionEnv::epoch() const {
  MutexLock l(&mu_);
  return epoch_;
}

int64_t FaultInjectionEnv::synced_size(const std::string& path) const {
  MutexLock l(&mu_);
  auto it = files_.find(path);
  return it == files_.end() ? -1 : static_cast<int64_t>(it->second->synced);
}

absl::Status FaultInjectionEnv::CheckEpoch(uint64_t epoch, const std::string& path) const {
  if (epoch == epoch_) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(path, ": handle opened before a simulated crash"));
}

absl::Status FaultInjectionEnv::BeginAppend(uint64_t epoch, const std::string& path, size_t n,
                                            size_t* allowed) {
  MutexLock l(&mu_);
  *allowed = 0;
  RETURN_IF_ERROR(CheckEpoch(epoch, path));
  ++writes_;
  if (Fires(writes_, &fail_write_.at)) return Named(fail_write_.status, "write", path);
  absl::Status fault;
  size_t len = n;
  if (Fires(writes_, &short_write_at_)) {
    len = std::min<uint64_t>(len, short_write_bytes_);
    fault = absl::DataLossError(
        absl::StrCat("write ", path, ": short write (injected), ", len, " of ", n, " bytes"));
  }
  if (space_limited_ && len > space_left_) {
    len = space_left_;
    fault = absl::ResourceExhaustedError(
        absl::StrCat("write ", path, ": No space left on device (injected)"));
  }
  if (space_limited_) space_left_ -= len;
  *allowed = len;
  return fault;
}

void FaultInjectionEnv::EndAppend(const std::shared_ptr<FileState>& f, size_t written) {
  MutexLock l(&mu_);
  f->last_append_offset = f->size;
  f->size += written;
  last_append_file_ = f;
}

absl::Status FaultInjectionEnv::BeginSync(uint64_t epoch, const std::string& path) {
  MutexLock l(&mu_);
  RETURN_IF_ERROR(CheckEpoch(epoch, path));
  ++syncs_;
  if (Fires(syncs_, &fail_sync_.at)) return Named(fail_sync_.status, "sync", path);
  return absl::OkStatus();
}

void FaultInjectionEnv::EndSync(const std::shared_ptr<FileState>& f) {
  MutexLock l(&mu_);
  f->synced = f->size;
  f->ever_synced = true;
}

absl::Status FaultInjectionEnv::BeginRead(uint64_t epoch, const std::string& path,
                                          absl::Duration* latency) {
  MutexLock l(&mu_);
  *latency = absl::ZeroDuration();
  RETURN_IF_ERROR(CheckEpoch(epoch, path));
  *latency = read_latency_;
  ++reads_;
  if (Fires(reads_, &fail_read_.at)) return Named(fail_read_.status, "read", path);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& path, bool append) {
  const bool existed = append && base_->FileExists(path);
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base_->NewWritableFile(path, append));
  MutexLock l(&mu_);
  std::shared_ptr<FileState>& state = files_[path];
  if (state == nullptr || !append) {
    state = std::make_shared<FileState>();
    if (existed) {  // contents written before we tracked it count as durable
      state->synced = state->size = file->size();
      state->ever_synced = true;
    }
  }
  state->size = file->size();
  return std::make_unique<FaultWritableFile>(this, path, std::move(file), state, epoch_);
}

absl::StatusOr<std::unique_ptr<RandomAccessFile>> FaultInjectionEnv::NewRandomAccessFile(
    const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, base_->NewRandomAccessFile(path));
  return std::make_unique<FaultRandomAccessFile>(this, path, std::move(file), epoch());
}

absl::Status FaultInjectionEnv::DeleteFile(const std::string& path) {
  RETURN_IF_ERROR(base_->DeleteFile(path));
  MutexLock l(&mu_);
  files_.erase(path);
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::RenameFile(const std::string& src, const std::string& dst) {
  RETURN_IF_ERROR(base_->RenameFile(src, dst));
  MutexLock l(&mu_);
  auto it = files_.find(src);
  if (it == files_.end()) {
    files_.erase(dst);  // replaced by an untracked file
  } else {
    std::shared_ptr<FileState> state = std::move(it->second);
    files_.erase(it);
    files_[dst] = std::move(state);
  }
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  {
    MutexLock l(&mu_);
    ++syncs_;
    if (Fires(syncs_, &fail_sync_.at)) return Named(fail_sync_.status, "sync", dir);
  }
  return base_->SyncDir(dir);
}

absl::Status FaultInjectionEnv::Truncate(const std::string& path, uint64_t size) {
  std::string data(size, '\0');
  size_t got = 0;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> in, base_->NewRandomAccessFile(path));
    RETURN_IF_ERROR(in->Read(0, size, data.data(), &got));
  }
  data.resize(got);
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> out, base_->NewWritableFile(path, false));
  RETURN_IF_ERROR(out->Append(data));
  RETURN_IF_ERROR(out->Sync());
  return out->Close();
}

absl::Status FaultInjectionEnv::Crash(CrashMode mode, uint64_t seed) {
  // Decide under the lock; rewrite files through the base Env (which never calls back here).
  struct Action {
    std::string path;
    bool remove;
    uint64_t keep;
  };
  std::vector<Action> actions;
  {
    MutexLock l(&mu_);
    ++epoch_;
    Rng rng(seed);
    for (auto it = files_.begin(); it != files_.end();) {
      FileState& f = *it->second;
      uint64_t keep = f.synced;
      if (mode == CrashMode::kTornLastAppend && it->second == last_append_file_ &&
          f.last_append_offset >= f.synced) {
        keep = f.last_append_offset + rng.UniformInt(f.size - f.last_append_offset + 1);
      }
      if (keep == 0 && !f.ever_synced) {
        actions.push_back({it->first, true, 0});
        it = files_.erase(it);
        continue;
      }
      if (keep < f.size) actions.push_back({it->first, false, keep});
      f.size = f.synced = keep;
      ++it;
    }
    last_append_file_ = nullptr;
  }
  absl::Status first;
  for (const Action& a : actions) {
    absl::Status s = a.remove ? base_->DeleteFile(a.path) : Truncate(a.path, a.keep);
    if (first.ok() && !s.ok() && !absl::IsNotFound(s)) first = s;
  }
  return first;
}

}  // namespace strata::internal
