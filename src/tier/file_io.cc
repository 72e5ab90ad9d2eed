#include "tier/file_io.h"

#include <memory>

#include "strata/status.h"

namespace strata::internal {

absl::Status ReadWholeFile(Env* env, const std::string& path, std::string* out) {
  ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> f, env->NewRandomAccessFile(path));
  out->resize(f->size());
  size_t done = 0;
  while (done < out->size()) {
    size_t got = 0;
    RETURN_IF_ERROR(f->Read(done, out->size() - done, out->data() + done, &got));
    if (got == 0) break;
    done += got;
  }
  out->resize(done);
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(Env* env, const std::string& dir, const std::string& name,
                                 std::string_view contents) {
  const std::string tmp = dir + "/" + name + ".tmp";
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, env->NewWritableFile(tmp, /*append=*/false));
  RETURN_IF_ERROR(f->Append(absl::string_view(contents.data(), contents.size())));
  RETURN_IF_ERROR(f->Sync());
  RETURN_IF_ERROR(f->Close());
  RETURN_IF_ERROR(env->RenameFile(tmp, dir + "/" + name));
  return env->SyncDir(dir);
}

}  // namespace strata::internal
