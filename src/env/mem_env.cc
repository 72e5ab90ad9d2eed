// NewMemEnv(): files are strings in a map, for fast tests.
//
//   MemEnv ──mu_──> files_: path -> shared_ptr<MemFile> <──shared── open
//   WritableFile/RandomAccessFile
//
// A handle keeps its MemFile alive, so deleting or renaming an open file behaves like POSIX
// (the handle still works; the name now refers to something else or nothing).
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "strata/env.h"
#include "util/mutex.h"

namespace strata {
namespace {

using internal::Mutex;
using internal::MutexLock;

struct MemFile {
  Mutex mu;
  std::string data ABSL_GUARDED_BY(mu);
};

absl::Status NotFound(const char* op, const std::string& path) {
  return absl::NotFoundError(absl::StrCat(op, " ", path, ": No such file or directory"));
}

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<MemFile> file)
      : path_(std::move(path)), file_(std::move(file)) {
    MutexLock l(&file_->mu);
    size_ = file_->data.size();
  }

  absl::Status Append(absl::string_view data) override {
    if (closed_) return Closed("append");
    MutexLock l(&file_->mu);
    file_->data.append(data.data(), data.size());
    size_ += data.size();
    return absl::OkStatus();
  }
  absl::Status Flush() override { return closed_ ? Closed("flush") : absl::OkStatus(); }
  absl::Status Sync() override { return closed_ ? Closed("sync") : absl::OkStatus(); }
  absl::Status Close() override {
    if (closed_) return Closed("close");
    closed_ = true;
    return absl::OkStatus();
  }
  uint64_t size() const override { return size_; }

 private:
  absl::Status Closed(const char* op) const {
    return absl::FailedPreconditionError(absl::StrCat(op, " ", path_, ": file is closed"));
  }

  const std::string path_;
  const std::shared_ptr<MemFile> file_;
  uint64_t size_ = 0;
  bool closed_ = false;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<MemFile> file) : file_(std::move(file)) {
    MutexLock l(&file_->mu);
    size_ = file_->data.size();
  }

  absl::Status Read(uint64_t offset, size_t n, char* dst, size_t* bytes_read) const override {
    MutexLock l(&file_->mu);
    *bytes_read = 0;
    if (offset >= file_->data.size()) return absl::OkStatus();
    *bytes_read = std::min<uint64_t>(n, file_->data.size() - offset);
    file_->data.copy(dst, *bytes_read, offset);
    return absl::OkStatus();
  }
  uint64_t size() const override { return size_; }

 private:
  const std::shared_ptr<MemFile> file_;
  uint64_t size_;
};

class MemEnv;

class MemFileLock final : public FileLock {
 public:
  MemFileLock(MemEnv* env, std::string path) : env_(env), path_(std::move(path)) {}
  ~MemFileLock() override;

 private:
  MemEnv* const env_;
  const std::string path_;
};

class MemEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                bool append) override {
    MutexLock l(&mu_);
    std::shared_ptr<MemFile>& f = files_[path];
    if (f == nullptr || !append) f = std::make_shared<MemFile>();
    return std::make_unique<MemWritableFile>(path, f);
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    MutexLock l(&mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return NotFound("open", path);
    return std::make_unique<MemRandomAccessFile>(it->second);
  }

  bool FileExists(const std::string& path) override {
    MutexLock l(&mu_);
    return files_.count(path) > 0 || dirs_.count(path) > 0;
  }

  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    MutexLock l(&mu_);
    const std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
    std::vector<std::string> names;
    bool any = dirs_.count(dir) > 0;
    for (const auto& [path, file] : files_) {
      if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
          path.find('/', prefix.size()) == std::string::npos) {
        names.push_back(path.substr(prefix.size()));
        any = true;
      }
    }
    if (!any) return NotFound("opendir", dir);
    return names;
  }

  absl::Status DeleteFile(const std::string& path) override {
    MutexLock l(&mu_);
    if (files_.erase(path) == 0) return NotFound("unlink", path);
    return absl::OkStatus();
  }

  absl::Status CreateDirIfMissing(const std::string& dir) override {
    MutexLock l(&mu_);
    dirs_.insert(dir);
    return absl::OkStatus();
  }

  absl::Status RenameFile(const std::string& src, const std::string& dst) override {
    MutexLock l(&mu_);
    auto it = files_.find(src);
    if (it == files_.end()) return NotFound("rename", absl::StrCat(src, " -> ", dst));
    std::shared_ptr<MemFile> f = std::move(it->second);
    files_.erase(it);
    files_[dst] = std::move(f);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override { return absl::OkStatus(); }

  absl::StatusOr<uint64_t> GetFileSize(const std::string& path) override {
    std::shared_ptr<MemFile> f;
    {
      MutexLock l(&mu_);
      auto it = files_.find(path);
      if (it == files_.end()) return NotFound("stat", path);
      f = it->second;
    }
    MutexLock l(&f->mu);
    return f->data.size();
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    MutexLock l(&mu_);
    if (!locked_.insert(path).second) {
      return absl::FailedPreconditionError(
          absl::StrCat("lock ", path, ": already locked by another handle or process"));
    }
    std::shared_ptr<MemFile>& f = files_[path];
    if (f == nullptr) f = std::make_shared<MemFile>();
    return std::make_unique<MemFileLock>(this, path);
  }

  void Unlock(const std::string& path) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock l(&mu_);
    locked_.erase(path);
  }

 private:
  Mutex mu_;
  // Protected by mu_.
  std::map<std::string, std::shared_ptr<MemFile>> files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> locked_ ABSL_GUARDED_BY(mu_);
};

MemFileLock::~MemFileLock() { env_->Unlock(path_); }

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

}  // namespace strata
