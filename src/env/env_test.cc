// One suite run against every Env (POSIX in a fresh temp dir, MemEnv), then the fault-injection
// tests, which run over both bases too.
#include "strata/env.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "env/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/random.h"

namespace strata {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using FaultEnv = internal::FaultInjectionEnv;

enum class Kind { kPosix, kMem };

class EnvTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kPosix) {
      env_ = Env::Posix();
      std::string tmpl = ::testing::TempDir() + "/strata_env_XXXXXX";
      ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
    } else {
      mem_ = NewMemEnv();
      env_ = mem_.get();
      dir_ = "/mem/env_test";
      ASSERT_TRUE(env_->CreateDirIfMissing(dir_).ok());
    }
  }
  void TearDown() override {
    if (GetParam() == Kind::kPosix && !dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static void Write(Env* env, const std::string& path, const std::string& data) {
    auto f = env->NewWritableFile(path, /*append=*/false);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  // The whole file, or "<error>" if it cannot be read.
  static std::string Read(Env* env, const std::string& path) {
    auto f = env->NewRandomAccessFile(path);
    if (!f.ok()) return "<error>";
    std::string data((*f)->size(), '\0');
    size_t got = 0;
    if (!(*f)->Read(0, data.size(), data.data(), &got).ok()) return "<error>";
    data.resize(got);
    return data;
  }

  Env* env_ = nullptr;
  std::unique_ptr<Env> mem_;
  std::string dir_;
};

TEST_P(EnvTest, WriteReadRoundTrip) {
  auto w = env_->NewWritableFile(Path("f"), false);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Append("hello").ok());
  ASSERT_TRUE((*w)->Append(" world").ok());
  EXPECT_EQ((*w)->size(), 11u);
  ASSERT_TRUE((*w)->Flush().ok());
  ASSERT_TRUE((*w)->Sync().ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ((*w)->Append("x").code(), absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(*env_->GetFileSize(Path("f")), 11u);
  auto r = env_->NewRandomAccessFile(Path("f"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->size(), 11u);
  char buf[100];
  size_t got = 0;
  ASSERT_TRUE((*r)->Read(6, sizeof(buf), buf, &got).ok());
  EXPECT_EQ(std::string(buf, got), "world");
  ASSERT_TRUE((*r)->Read(0, 5, buf, &got).ok());
  EXPECT_EQ(std::string(buf, got), "hello");
  ASSERT_TRUE((*r)->Read(11, 10, buf, &got).ok());  // at EOF: not an error, nothing read
  EXPECT_EQ(got, 0u);
  ASSERT_TRUE((*r)->Read(500, 10, buf, &got).ok());
  EXPECT_EQ(got, 0u);
}

TEST_P(EnvTest, AppendReopenKeepsOrTruncates) {
  Write(env_, Path("f"), "abc");
  auto w = env_->NewWritableFile(Path("f"), /*append=*/true);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->size(), 3u);
  ASSERT_TRUE((*w)->Append("def").ok());
  EXPECT_EQ((*w)->size(), 6u);
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(Read(env_, Path("f")), "abcdef");

  auto t = env_->NewWritableFile(Path("f"), /*append=*/false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->size(), 0u);
  ASSERT_TRUE((*t)->Close().ok());
  EXPECT_EQ(*env_->GetFileSize(Path("f")), 0u);
}

TEST_P(EnvTest, RenameAtomicallyReplaces) {
  Write(env_, Path("CURRENT"), "old");
  auto old_reader = env_->NewRandomAccessFile(Path("CURRENT"));
  ASSERT_TRUE(old_reader.ok());
  Write(env_, Path("CURRENT.tmp"), "newer");
  ASSERT_TRUE(env_->RenameFile(Path("CURRENT.tmp"), Path("CURRENT")).ok());
  ASSERT_TRUE(env_->SyncDir(dir_).ok());
  EXPECT_EQ(Read(env_, Path("CURRENT")), "newer");
  EXPECT_FALSE(env_->FileExists(Path("CURRENT.tmp")));
  // A reader opened before the rename still sees the file it opened.
  char buf[8];
  size_t got = 0;
  ASSERT_TRUE((*old_reader)->Read(0, sizeof(buf), buf, &got).ok());
  EXPECT_EQ(std::string(buf, got), "old");
}

TEST_P(EnvTest, ChildrenAndDelete) {
  Write(env_, Path("a"), "1");
  Write(env_, Path("b"), "2");
  Write(env_, Path("c"), "3");
  ASSERT_TRUE(env_->CreateDirIfMissing(Path("sub")).ok());
  ASSERT_TRUE(env_->CreateDirIfMissing(Path("sub")).ok());  // idempotent
  Write(env_, Path("sub") + "/x", "4");
  auto kids = env_->GetChildren(dir_);
  ASSERT_TRUE(kids.ok()) << kids.status();
  std::vector<std::string> files;
  for (const auto& k : *kids) {
    if (k != "sub") files.push_back(k);
  }
  EXPECT_THAT(files, UnorderedElementsAre("a", "b", "c"));
  EXPECT_THAT(*env_->GetChildren(Path("sub")), UnorderedElementsAre("x"));

  ASSERT_TRUE(env_->DeleteFile(Path("b")).ok());
  EXPECT_FALSE(env_->FileExists(Path("b")));
  EXPECT_TRUE(env_->FileExists(Path("a")));
  absl::Status again = env_->DeleteFile(Path("b"));
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(again.message(), HasSubstr(Path("b")));
}

TEST_P(EnvTest, MissingFilesAreNotFoundNamingThePath) {
  const std::string p = Path("missing");
  auto r = env_->NewRandomAccessFile(p);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr(p));
  auto sz = env_->GetFileSize(p);
  EXPECT_EQ(sz.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(sz.status().message(), HasSubstr(p));
  absl::Status mv = env_->RenameFile(p, Path("other"));
  EXPECT_EQ(mv.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(mv.message(), HasSubstr(p));
  auto kids = env_->GetChildren(Path("nodir"));
  EXPECT_EQ(kids.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(kids.status().message(), HasSubstr(Path("nodir")));
  EXPECT_FALSE(env_->FileExists(p));
}

TEST_P(EnvTest, ConcurrentReaders) {
  constexpr size_t kSize = 1 << 20;
  std::string data(kSize, '\0');
  for (size_t i = 0; i < kSize; ++i) data[i] = static_cast<char>((i * 131) >> 3);
  Write(env_, Path("big"), data);
  auto r = env_->NewRandomAccessFile(Path("big"));
  ASSERT_TRUE(r.ok());
  const RandomAccessFile* file = r->get();
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      internal::Rng rng(t + 1);
      std::vector<char> buf(4096);
      for (int i = 0; i < 500; ++i) {
        const uint64_t off = rng.UniformInt(kSize);
        const size_t n = 1 + rng.UniformInt(buf.size());
        size_t got = 0;
        if (!file->Read(off, n, buf.data(), &got).ok() ||
            got != std::min<uint64_t>(n, kSize - off) ||
            std::string(buf.data(), got) != data.substr(off, got)) {
          bad.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_P(EnvTest, LockIsExclusiveUntilReleased) {
  const std::string p = Path("LOCK");
  auto l1 = env_->LockFile(p);
  ASSERT_TRUE(l1.ok()) << l1.status();
  auto l2 = env_->LockFile(p);
  EXPECT_EQ(l2.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(l2.status().message(), HasSubstr(p));
  if (GetParam() == Kind::kPosix) {  // another process cannot take it either
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto l = Env::Posix()->LockFile(p);
      ::_exit(l.status().code() == absl::StatusCode::kFailedPrecondition ? 0 : 1);
    }
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  }
  l1->reset();
  auto l3 = env_->LockFile(p);
  EXPECT_TRUE(l3.ok()) << l3.status();
}

// Only a POSIX file exposes a descriptor for asynchronous I/O; it reads the file's bytes.
TEST_P(EnvTest, NativeHandleOnlyForOsFiles) {
  Write(env_, Path("f"), "abcdef");
  auto r = env_->NewRandomAccessFile(Path("f"));
  ASSERT_TRUE(r.ok()) << r.status();
  const int fd = (*r)->native_handle();
  if (GetParam() == Kind::kPosix) {
    ASSERT_GE(fd, 0);
    char buf[4];
    ASSERT_EQ(::pread(fd, buf, 4, 2), 4);
    EXPECT_EQ(std::string(buf, 4), "cdef");
  } else {
    EXPECT_EQ(fd, -1);
  }
}

INSTANTIATE_TEST_SUITE_P(All, EnvTest, ::testing::Values(Kind::kPosix, Kind::kMem),
                         [](const auto& info) {
                           return info.param == Kind::kPosix ? "Posix" : "Mem";
                         });

TEST(PosixEnvTest, NoSpaceIsResourceExhausted) {
  if (!Env::Posix()->FileExists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto f = Env::Posix()->NewWritableFile("/dev/full", /*append=*/true);
  ASSERT_TRUE(f.ok()) << f.status();
  absl::Status s = (*f)->Append("x");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("/dev/full"));
}

// ---- FaultInjectionEnv, over both bases ----

class FaultEnvTest : public EnvTest {
 protected:
  void SetUp() override {
    EnvTest::SetUp();
    fault_ = std::make_unique<FaultEnv>(env_);
  }
  std::unique_ptr<WritableFile> Open(const std::string& name, bool append = false) {
    auto f = fault_->NewWritableFile(Path(name), append);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? std::move(*f) : nullptr;
  }
  std::unique_ptr<FaultEnv> fault_;
};

TEST_P(FaultEnvTest, FailNthWriteSurfacesAndLaterWritesWork) {
  auto f = Open("data");
  fault_->FailNth(FaultEnv::Op::kWrite, 2, absl::DataLossError("injected EIO"));
  ASSERT_TRUE(f->Append("one").ok());
  absl::Status s = f->Append("two");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(Path("data")));
  ASSERT_TRUE(f->Append("three").ok());
  EXPECT_EQ(fault_->writes(), 3u);
  EXPECT_EQ(f->size(), 8u);
  EXPECT_EQ(Read(fault_.get(), Path("data")), "onethree");
}

TEST_P(FaultEnvTest, FailNthSyncLeavesDataUnsynced) {
  auto f = Open("data");
  ASSERT_TRUE(f->Append("abc").ok());
  fault_->FailNth(FaultEnv::Op::kSync, 1, absl::DataLossError("injected EIO"));
  absl::Status s = f->Sync();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(Path("data")));
  EXPECT_EQ(fault_->synced_size(Path("data")), 0);
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ(fault_->synced_size(Path("data")), 3);
  EXPECT_EQ(fault_->syncs(), 2u);
  fault_->FailNth(FaultEnv::Op::kSync, 1, absl::InternalError("injected"));
  EXPECT_EQ(fault_->SyncDir(dir_).code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(fault_->SyncDir(dir_).ok());
}

// Reads must go through Read, where faults are injected, even when the base file has a descriptor.
TEST_P(FaultEnvTest, HidesTheBaseDescriptor) {
  Write(fault_.get(), Path("data"), "payload");
  auto r = fault_->NewRandomAccessFile(Path("data"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->native_handle(), -1);
}

TEST_P(FaultEnvTest, FailNthReadSurfacesAndLaterReadsWork) {
  Write(fault_.get(), Path("data"), "payload");
  auto r = fault_->NewRandomAccessFile(Path("data"));
  ASSERT_TRUE(r.ok());
  fault_->FailNth(FaultEnv::Op::kRead, 1, absl::DataLossError("injected EIO"));
  char buf[16];
  size_t got = 99;
  absl::Status s = (*r)->Read(0, sizeof(buf), buf, &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(Path("data")));
  EXPECT_EQ(got, 0u);
  ASSERT_TRUE((*r)->Read(0, sizeof(buf), buf, &got).ok());
  EXPECT_EQ(std::string(buf, got), "payload");
  EXPECT_EQ(fault_->reads(), 2u);
}

TEST_P(FaultEnvTest, ReadLatencyDelaysEachReadAndReadsOverlap) {
  Write(fault_.get(), Path("data"), "payload");
  auto r = fault_->NewRandomAccessFile(Path("data"));
  ASSERT_TRUE(r.ok());
  const RandomAccessFile& file = **r;
  auto read_once = [&file] {
    char buf[16];
    size_t got = 0;
    EXPECT_TRUE(file.Read(0, sizeof(buf), buf, &got).ok());
    EXPECT_EQ(std::string(buf, got), "payload");
  };
  constexpr absl::Duration kLatency = absl::Milliseconds(20);
  fault_->SetReadLatency(kLatency);
  EXPECT_EQ(fault_->read_latency(), kLatency);
  absl::Time start = absl::Now();
  read_once();
  EXPECT_GE(absl::Now() - start, kLatency);

  // 8 concurrent reads sleep side by side, not one after another under the Env's mutex.
  constexpr int kReaders = 8;
  start = absl::Now();
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) readers.emplace_back(read_once);
  for (std::thread& t : readers) t.join();
  const absl::Duration concurrent = absl::Now() - start;
  EXPECT_GE(concurrent, kLatency);
  EXPECT_LT(concurrent, kReaders * kLatency / 2) << "reads were serialized";

  // Zero turns it off: 8 reads one after another take less than one latency each.
  fault_->SetReadLatency(absl::ZeroDuration());
  start = absl::Now();
  for (int i = 0; i < kReaders; ++i) read_once();
  EXPECT_LT(absl::Now() - start, kReaders * kLatency);
  EXPECT_EQ(fault_->reads(), 1u + 2 * kReaders);
}

TEST_P(FaultEnvTest, ShortWriteLeavesExactlyThePrefix) {
  auto f = Open("data");
  fault_->ShortWrite(1, 3);
  absl::Status s = f->Append("abcdef");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(Path("data")));
  EXPECT_EQ(f->size(), 3u);
  ASSERT_TRUE(f->Append("XY").ok());
  EXPECT_EQ(Read(fault_.get(), Path("data")), "abcXY");
}

TEST_P(FaultEnvTest, NoSpaceAfterBytes) {
  auto f = Open("data");
  fault_->NoSpaceAfter(10);
  ASSERT_TRUE(f->Append("123456").ok());
  absl::Status s = f->Append("789abc");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr(Path("data")));
  EXPECT_EQ(f->Append("z").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Read(fault_.get(), Path("data")), "123456789a");
  fault_->ClearFaults();
  ASSERT_TRUE(f->Append("!").ok());
  EXPECT_EQ(Read(fault_.get(), Path("data")), "123456789a!");
}

TEST_P(FaultEnvTest, CrashDropsUnsyncedKeepsSynced) {
  auto a = Open("a");
  ASSERT_TRUE(a->Append("synced").ok());
  ASSERT_TRUE(a->Sync().ok());
  ASSERT_TRUE(a->Append("lost").ok());
  auto b = Open("b");
  ASSERT_TRUE(b->Append("never synced").ok());
  auto c = Open("c.tmp");
  ASSERT_TRUE(c->Append("manifest").ok());
  ASSERT_TRUE(c->Sync().ok());
  ASSERT_TRUE(fault_->RenameFile(Path("c.tmp"), Path("c")).ok());
  Write(env_, Path("untracked"), "base");  // written around the fault env: untouched

  ASSERT_TRUE(fault_->Crash().ok());
  EXPECT_EQ(Read(env_, Path("a")), "synced");
  EXPECT_FALSE(env_->FileExists(Path("b")));
  EXPECT_EQ(Read(env_, Path("c")), "manifest");
  EXPECT_EQ(Read(env_, Path("untracked")), "base");
  // Old handles are dead; new ones work and append after the synced data.
  EXPECT_EQ(a->Append("x").code(), absl::StatusCode::kFailedPrecondition);
  auto a2 = Open("a", /*append=*/true);
  ASSERT_TRUE(a2->Append("+more").ok());
  EXPECT_EQ(Read(fault_.get(), Path("a")), "synced+more");
}

TEST_P(FaultEnvTest, TornWriteKeepsAPrefixOfTheLastAppend) {
  const std::string full = "AAAABBBBCCCCCCCC";
  bool saw_torn = false;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto f = Open("log");
    ASSERT_TRUE(f->Append("AAAA").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->Append("BBBB").ok());
    ASSERT_TRUE(f->Append("CCCCCCCC").ok());
    ASSERT_TRUE(fault_->Crash(FaultEnv::CrashMode::kTornLastAppend, seed).ok());
    const std::string got = Read(env_, Path("log"));
    ASSERT_GE(got.size(), 8u);
    ASSERT_LE(got.size(), full.size());
    EXPECT_EQ(got, full.substr(0, got.size()));
    saw_torn |= got.size() > 8 && got.size() < full.size();
  }
  EXPECT_TRUE(saw_torn);
}

INSTANTIATE_TEST_SUITE_P(All, FaultEnvTest, ::testing::Values(Kind::kPosix, Kind::kMem),
                         [](const auto& info) {
                           return info.param == Kind::kPosix ? "Posix" : "Mem";
                         });

}  // namespace
}  // namespace strata
