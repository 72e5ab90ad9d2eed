// One suite run against both AsyncReader backends (io_uring, thread pool), over POSIX files in a
// fresh temp dir, MemEnv files and FaultInjectionEnv files; then the factory's backend choice
// (including io_uring blocked by seccomp) and the latency histogram.
#include "io/async_reader.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "env/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "io/latency_histogram.h"
#include "util/random.h"

namespace strata::internal {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

enum class Backend { kUring, kThreads };

constexpr int kQueueDepth = 16;  // small, so that most tests keep the queue full and refill it

std::string RandomBytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng.Next() >> 56);
  return s;
}

// A set of reads, each into its own buffer, and what they must return.
struct Plan {
  std::vector<ReadOp> ops;
  std::vector<std::string> bufs;
  std::vector<std::string> want;

  // `n` reads of 1..max_len bytes at random offsets inside `content` (the data of `file`).
  void AddRandom(const RandomAccessFile* file, const std::string& content, size_t n, size_t max_len,
                 uint64_t seed) {
    Rng rng(seed);
    for (size_t i = 0; i < n; ++i) {
      const size_t len = 1 + rng.UniformInt(std::min(max_len, content.size()));
      const uint64_t off = rng.UniformInt(content.size() - len + 1);
      Add(file, off, len, content.substr(off, len));
    }
  }
  void Add(const RandomAccessFile* file, uint64_t off, size_t len, std::string expected) {
    ops.push_back(ReadOp{file, off, len, nullptr, absl::InternalError("not run")});
    bufs.emplace_back(len, '\xAA');
    want.push_back(std::move(expected));
  }
  // Points every op at its buffer (after the last Add: the vectors no longer move).
  absl::Span<ReadOp> Span() {
    for (size_t i = 0; i < ops.size(); ++i) ops[i].dst = bufs[i].data();
    return absl::MakeSpan(ops);
  }
  // Number of ops that are OK and hold exactly the expected bytes.
  size_t CountExact() const {
    size_t n = 0;
    for (size_t i = 0; i < ops.size(); ++i) n += ops[i].status.ok() && bufs[i] == want[i];
    return n;
  }
  uint64_t Bytes() const {
    uint64_t n = 0;
    for (const ReadOp& op : ops) n += op.length;
    return n;
  }
};

class AsyncReaderTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kUring) {
      auto r = NewUringReader(kQueueDepth);
      if (!r.ok()) GTEST_SKIP() << "io_uring unavailable here: " << r.status();
      reader_ = *std::move(r);
    } else {
      reader_ = NewThreadPoolReader(4);
    }
    std::string tmpl = ::testing::TempDir() + "/strata_io_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    mem_ = NewMemEnv();
    ASSERT_TRUE(mem_->CreateDirIfMissing("/mem").ok());
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Writes `data` to `path` through `env` and opens it for reading.
  static std::unique_ptr<RandomAccessFile> MakeFile(Env* env, const std::string& path,
                                                    const std::string& data) {
    auto w = env->NewWritableFile(path, /*append=*/false);
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) return nullptr;
    EXPECT_TRUE((*w)->Append(data).ok());
    EXPECT_TRUE((*w)->Close().ok());
    auto r = env->NewRandomAccessFile(path);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : nullptr;
  }
  std::unique_ptr<RandomAccessFile> PosixFile(const std::string& name, const std::string& data) {
    return MakeFile(Env::Posix(), dir_ + "/" + name, data);
  }
  std::unique_ptr<RandomAccessFile> MemFile(const std::string& name, const std::string& data) {
    return MakeFile(mem_.get(), "/mem/" + name, data);
  }

  std::unique_ptr<AsyncReader> reader_;
  std::string dir_;
  std::unique_ptr<Env> mem_;
};

TEST_P(AsyncReaderTest, PosixFileHasDescriptorMemFileDoesNot) {
  const std::string data = RandomBytes(100, 1);
  EXPECT_GE(PosixFile("f", data)->native_handle(), 0);
  EXPECT_EQ(MemFile("f", data)->native_handle(), -1);
}

TEST_P(AsyncReaderTest, RandomReadsFromPosixFileAreExact) {
  const std::string data = RandomBytes(1 << 20, 2);
  auto file = PosixFile("f", data);
  ASSERT_NE(file, nullptr);
  Plan plan;
  plan.AddRandom(file.get(), data, 2000, 64 << 10, 3);
  reader_->ReadAll(plan.Span());
  EXPECT_EQ(plan.CountExact(), plan.ops.size());
}

TEST_P(AsyncReaderTest, RandomReadsFromMemFileAreExact) {
  const std::string data = RandomBytes(1 << 20, 4);
  auto file = MemFile("f", data);
  ASSERT_NE(file, nullptr);
  Plan plan;
  plan.AddRandom(file.get(), data, 2000, 64 << 10, 5);
  reader_->ReadAll(plan.Span());
  EXPECT_EQ(plan.CountExact(), plan.ops.size());
}

// io_uring serves the POSIX ops through the ring and the MemEnv ops on the calling thread in
// the same call.
TEST_P(AsyncReaderTest, MixedFilesInOneCall) {
  const std::string a = RandomBytes(300000, 6), b = RandomBytes(200000, 7);
  auto fa = PosixFile("a", a);
  auto fb = MemFile("b", b);
  auto fc = PosixFile("c", b);
  Plan plan;
  Rng rng(8);
  for (int i = 0; i < 3000; ++i) {
    const size_t len = 1 + rng.UniformInt(8192);
    const uint64_t k = rng.UniformInt(3);
    const std::string& data = k == 0 ? a : b;
    const RandomAccessFile* f = k == 0 ? fa.get() : k == 1 ? fb.get() : fc.get();
    const uint64_t off = rng.UniformInt(data.size() - len + 1);
    plan.Add(f, off, len, data.substr(off, len));
  }
  reader_->ReadAll(plan.Span());
  EXPECT_EQ(plan.CountExact(), plan.ops.size());
}

TEST_P(AsyncReaderTest, TenThousandOpsInOneCall) {
  const std::string data = RandomBytes(4 << 20, 9);
  auto file = PosixFile("f", data);
  Plan plan;
  plan.AddRandom(file.get(), data, 10000, 4096, 10);
  reader_->ReadAll(plan.Span());
  EXPECT_EQ(plan.CountExact(), 10000u);
  const ReaderStats s = reader_->stats();
  EXPECT_EQ(s.submitted, 10000u);
  EXPECT_EQ(s.completed, 10000u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.bytes, plan.Bytes());
  EXPECT_GE(s.max_in_flight, 1u);
  if (GetParam() == Backend::kUring) {
    EXPECT_LE(s.max_in_flight, static_cast<uint64_t>(kQueueDepth));
    EXPECT_GT(s.max_in_flight, 1u);  // one call keeps more than one read in the kernel
  } else {
    EXPECT_LE(s.max_in_flight, 5u);  // 4 workers + the caller
  }
}

// Reads of several megabytes in one op (the ring reads them as one SQE each).
TEST_P(AsyncReaderTest, LargeReads) {
  const std::string data = RandomBytes(24 << 20, 11);
  auto file = PosixFile("f", data);
  Plan plan;
  plan.Add(file.get(), 0, data.size(), data);
  plan.Add(file.get(), 12345, 8 << 20, data.substr(12345, 8 << 20));
  reader_->ReadAll(plan.Span());
  EXPECT_EQ(plan.CountExact(), 2u);
}

TEST_P(AsyncReaderTest, ZeroOps) {
  reader_->ReadAll({});
  const ReaderStats s = reader_->stats();
  EXPECT_EQ(s.submitted, 0u);
  EXPECT_EQ(s.completed, 0u);
  EXPECT_EQ(s.latency_p50_us, 0);
}

TEST_P(AsyncReaderTest, EmptyAndInvalidOps) {
  const std::string data = RandomBytes(1000, 12);
  auto file = PosixFile("f", data);
  Plan plan;
  plan.Add(file.get(), 10, 0, "");
  plan.Add(nullptr, 0, 10, "");
  plan.Add(file.get(), 0, 1000, data);
  absl::Span<ReadOp> ops = plan.Span();
  ops[0].dst = nullptr;  // allowed for an empty read
  reader_->ReadAll(ops);
  EXPECT_TRUE(plan.ops[0].status.ok()) << plan.ops[0].status;
  EXPECT_EQ(plan.ops[1].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(plan.ops[2].status.ok()) << plan.ops[2].status;
  EXPECT_EQ(plan.bufs[2], data);
  EXPECT_EQ(reader_->stats().failed, 1u);
}

// A read that runs past the end of the file is DataLoss naming the op; the others still succeed.
void ExpectShortReads(AsyncReader* reader, const RandomAccessFile* file, const std::string& data) {
  Plan plan;
  plan.AddRandom(file, data, 50, 512, 13);
  plan.Add(file, 9000, 2000, "");  // 1000 bytes, then end of file
  plan.Add(file, 20000, 100, "");  // entirely past the end
  plan.Add(file, 10000, 1, "");    // starts exactly at the end
  plan.AddRandom(file, data, 50, 512, 14);
  reader->ReadAll(plan.Span());
  EXPECT_EQ(plan.CountExact(), 100u);
  const ReadOp& partial = plan.ops[50];
  EXPECT_EQ(partial.status.code(), absl::StatusCode::kDataLoss) << partial.status;
  EXPECT_THAT(partial.status.message(), HasSubstr("short read at offset 9000 length 2000"));
  EXPECT_THAT(partial.status.message(), HasSubstr("after 1000 bytes"));
  // Short reads say so (the bytes are not there: retrying cannot help); other ops do not.
  for (size_t i : {50, 51, 52}) EXPECT_TRUE(IsEndOfFile(plan.ops[i].status)) << i;
  EXPECT_FALSE(IsEndOfFile(plan.ops[0].status));
  EXPECT_FALSE(IsEndOfFile(absl::DataLossError("EIO")));
  EXPECT_EQ(plan.ops[51].status.code(), absl::StatusCode::kDataLoss) << plan.ops[51].status;
  EXPECT_THAT(plan.ops[51].status.message(), HasSubstr("offset 20000 length 100"));
  EXPECT_EQ(plan.ops[52].status.code(), absl::StatusCode::kDataLoss) << plan.ops[52].status;
  const ReaderStats s = reader->stats();
  EXPECT_EQ(s.failed, 3u);
  EXPECT_EQ(s.completed, 103u);
}

TEST_P(AsyncReaderTest, ShortReadAtEndOfPosixFileIsDataLoss) {
  const std::string data = RandomBytes(10000, 15);
  auto file = PosixFile("f", data);
  ExpectShortReads(reader_.get(), file.get(), data);
}

TEST_P(AsyncReaderTest, ShortReadAtEndOfMemFileIsDataLoss) {
  const std::string data = RandomBytes(10000, 16);
  auto file = MemFile("f", data);
  ExpectShortReads(reader_.get(), file.get(), data);
}

// A file whose descriptor is a directory: the kernel (ring) and pread (threads) both fail with
// EISDIR, which must come back as the op's status, naming the op.
class DirectoryFile final : public RandomAccessFile {
 public:
  explicit DirectoryFile(const std::string& dir)
      : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}
  ~DirectoryFile() override { ::close(fd_); }
  absl::Status Read(uint64_t offset, size_t n, char* dst, size_t* bytes_read) const override {
    *bytes_read = 0;
    if (::pread(fd_, dst, n, static_cast<off_t>(offset)) < 0) {
      return absl::InternalError(std::strerror(errno));
    }
    return absl::OkStatus();
  }
  uint64_t size() const override { return 0; }
  int native_handle() const override { return fd_; }

 private:
  const int fd_;
};

TEST_P(AsyncReaderTest, ErrnoFromTheKernelIsTheOpsStatus) {
  const std::string data = RandomBytes(5000, 17);
  auto good = PosixFile("f", data);
  DirectoryFile bad(dir_);
  ASSERT_GE(bad.native_handle(), 0);
  Plan plan;
  plan.AddRandom(good.get(), data, 20, 100, 18);
  plan.Add(&bad, 100, 10, "");
  plan.AddRandom(good.get(), data, 20, 100, 19);
  reader_->ReadAll(plan.Span());
  EXPECT_EQ(plan.CountExact(), 40u);
  const absl::Status& s = plan.ops[20].status;
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_THAT(s.message(), HasSubstr(std::strerror(EISDIR)));
  if (GetParam() == Backend::kUring) {
    EXPECT_THAT(s.message(), HasSubstr("read at offset 100 length 10"));
  }
}

// FaultInjectionEnv files have no descriptor, so every read goes through Read, where the fault
// is injected; exactly one op gets the injected status (which FaultInjectionEnv prefixes with
// the file name).
TEST_P(AsyncReaderTest, InjectedReadFaultReachesOneOp) {
  FaultInjectionEnv fault(Env::Posix());
  const std::string data = RandomBytes(1 << 18, 20);
  auto file = MakeFile(&fault, dir_ + "/f", data);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->native_handle(), -1);
  const absl::Status injected = absl::DataLossError("injected EIO");
  fault.FailNth(FaultInjectionEnv::Op::kRead, 7, injected);
  Plan plan;
  plan.AddRandom(file.get(), data, 200, 4096, 21);
  reader_->ReadAll(plan.Span());
  EXPECT_EQ(plan.CountExact(), 199u);
  int failed = 0;
  for (const ReadOp& op : plan.ops) {
    if (op.status.ok()) continue;
    ++failed;
    EXPECT_EQ(op.status.code(), injected.code()) << op.status;
    EXPECT_THAT(op.status.message(), HasSubstr("injected EIO"));
  }
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(fault.reads(), 200u);  // one Read per op: a fault cannot be skipped or doubled
  if (GetParam() == Backend::kUring) {
    // Served in order on the calling thread.
    EXPECT_FALSE(plan.ops[6].status.ok());
  }
}

TEST_P(AsyncReaderTest, ConcurrentCallersShareOneReader) {
  const std::string data = RandomBytes(2 << 20, 22);
  auto pfile = PosixFile("f", data);
  auto mfile = MemFile("f", data);
  constexpr int kThreads = 4;
  constexpr int kRounds = 5;
  std::vector<size_t> exact(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        Plan plan;
        plan.AddRandom(pfile.get(), data, 1000, 16384, 100 * t + round);
        plan.AddRandom(mfile.get(), data, 100, 16384, 1000 + 100 * t + round);
        reader_->ReadAll(plan.Span());
        exact[t] += plan.CountExact();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(exact[t], 1100u * kRounds) << "thread " << t;
  const ReaderStats s = reader_->stats();
  EXPECT_EQ(s.submitted, 1100u * kRounds * kThreads);
  EXPECT_EQ(s.completed, s.submitted);
  EXPECT_EQ(s.in_flight, 0u);
}

// More concurrent callers than rings: they take turns on the rings (io_uring) or share the
// pool (threads), and each still gets exactly its own data.
TEST_P(AsyncReaderTest, MoreCallersThanRings) {
  if (GetParam() == Backend::kUring) {
    auto r = NewUringReader(kQueueDepth, /*max_rings=*/2);
    ASSERT_TRUE(r.ok()) << r.status();
    reader_ = *std::move(r);
  }
  const std::string data = RandomBytes(1 << 20, 26);
  auto file = PosixFile("f", data);
  constexpr int kThreads = 6;
  std::vector<size_t> exact(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        Plan plan;
        plan.AddRandom(file.get(), data, 200, 8192, 10 * t + round + 5000);
        reader_->ReadAll(plan.Span());
        exact[t] += plan.CountExact();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(exact[t], 2000u) << "thread " << t;
  if (GetParam() == Backend::kUring) {
    EXPECT_LE(reader_->stats().max_in_flight, 2u * kQueueDepth);  // two rings at most
  }
}

TEST_P(AsyncReaderTest, StatsCountOpsBytesAndLatency) {
  const std::string data = RandomBytes(1 << 20, 23);
  auto file = PosixFile("f", data);
  Plan plan;
  plan.AddRandom(file.get(), data, 500, 8192, 24);
  plan.Add(file.get(), data.size() - 10, 20, "");  // fails: short read
  reader_->ReadAll(plan.Span());
  ASSERT_EQ(plan.CountExact(), 500u);
  const ReaderStats s = reader_->stats();
  EXPECT_EQ(s.submitted, 501u);
  EXPECT_EQ(s.completed, 501u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.bytes, plan.Bytes() - 20);
  EXPECT_GT(s.latency_p99_us, 0);
  EXPECT_LE(s.latency_p50_us, s.latency_p99_us);
  EXPECT_EQ(s.backend, GetParam() == Backend::kUring ? "io_uring" : "threads");
}

INSTANTIATE_TEST_SUITE_P(Backends, AsyncReaderTest,
                         ::testing::Values(Backend::kUring, Backend::kThreads),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kUring ? "Uring" : "Threads";
                         });

// ---- Factory -----------------------------------------------------------------------------

TEST(NewAsyncReaderTest, PrefersUringWhenAvailable) {
  auto reader = NewAsyncReader(AsyncReaderOptions{});
  ASSERT_NE(reader, nullptr);
  const bool uring = NewUringReader(64).ok();
  if (uring) {
    EXPECT_EQ(reader->stats().backend, "io_uring");
  } else {
    EXPECT_THAT(reader->stats().backend, StartsWith("threads (io_uring unavailable: "));
  }
}

TEST(NewAsyncReaderTest, ThreadsWhenUringNotPreferred) {
  AsyncReaderOptions options;
  options.prefer_uring = false;
  options.threads = 0;  // clamped to 1
  auto reader = NewAsyncReader(options);
  EXPECT_EQ(reader->stats().backend, "threads");
  std::string buf(10, 'x');
  auto mem = NewMemEnv();
  ASSERT_TRUE(mem->NewWritableFile("/f", false).value()->Append("0123456789").ok());
  auto file = mem->NewRandomAccessFile("/f").value();
  ReadOp op{file.get(), 2, 5, buf.data()};
  reader->ReadAll(absl::MakeSpan(&op, 1));
  EXPECT_TRUE(op.status.ok()) << op.status;
  EXPECT_EQ(buf.substr(0, 5), "23456");
}

TEST(NewAsyncReaderTest, UringRejectsBadQueueDepth) {
  EXPECT_EQ(NewUringReader(0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewUringReader(5000).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewUringReader(8, -1).status().code(), absl::StatusCode::kInvalidArgument);
}

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#endif

#if defined(__x86_64__) || defined(__aarch64__)
// In a child process: makes io_uring_setup fail with EPERM (as a container's seccomp profile
// does), then checks that the factory falls back to threads, says why, and still reads.
void FallBackUnderSeccomp(const std::string& path, const std::string& data) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof(filter) / sizeof(filter[0]), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(2);
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(3);
  auto reader = NewAsyncReader(AsyncReaderOptions{});
  const std::string want =
      std::string("threads (io_uring unavailable: ") + std::strerror(EPERM) + ")";
  if (reader->stats().backend != want) _exit(4);
  auto file = Env::Posix()->NewRandomAccessFile(path);
  if (!file.ok()) _exit(5);
  std::string buf(100, '\0');
  ReadOp op{file->get(), 50, 100, buf.data()};
  reader->ReadAll(absl::MakeSpan(&op, 1));
  if (!op.status.ok() || buf != data.substr(50, 100)) _exit(6);
  _exit(0);
}

TEST(NewAsyncReaderDeathTest, FallsBackToThreadsWhenSeccompBlocksUring) {
  std::string tmpl = ::testing::TempDir() + "/strata_io_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/f";
  const std::string data = RandomBytes(1000, 25);
  {
    auto w = Env::Posix()->NewWritableFile(path, false);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(data).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  // Re-executes the test binary for the child instead of forking this (maybe multi-threaded)
  // process, which ThreadSanitizer does not support.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(FallBackUnderSeccomp(path, data), ::testing::ExitedWithCode(0), "");
  std::filesystem::remove_all(tmpl);
}
#endif

// ---- LatencyHistogram --------------------------------------------------------------------

double BucketWidthAt(double micros) {
  const int b = LatencyHistogram::BucketFor(micros);
  return LatencyHistogram::BucketUpper(b) - LatencyHistogram::BucketLower(b);
}

TEST(LatencyHistogramTest, BucketsTileTheRange) {
  EXPECT_EQ(LatencyHistogram::BucketFor(0), 0);
  EXPECT_EQ(LatencyHistogram::BucketFor(-5), 0);
  EXPECT_EQ(LatencyHistogram::BucketFor(std::nan("")), 0);
  EXPECT_EQ(LatencyHistogram::BucketFor(0.999), 0);
  EXPECT_EQ(LatencyHistogram::BucketFor(1.0), 1);
  EXPECT_EQ(LatencyHistogram::BucketFor(1e12), LatencyHistogram::kNumBuckets - 1);
  for (int b = 0; b + 1 < LatencyHistogram::kNumBuckets; ++b) {
    EXPECT_EQ(LatencyHistogram::BucketUpper(b), LatencyHistogram::BucketLower(b + 1));
    EXPECT_EQ(LatencyHistogram::BucketFor(LatencyHistogram::BucketLower(b)), b) << b;
    EXPECT_EQ(LatencyHistogram::BucketFor(std::nextafter(LatencyHistogram::BucketUpper(b), 0)), b)
        << b;
  }
  // 4 sub-buckets per power of two: [1024, 1280) is one bucket; 100 s is still resolved.
  EXPECT_EQ(BucketWidthAt(1024), 256);
  EXPECT_LT(LatencyHistogram::BucketFor(100e6), LatencyHistogram::kNumBuckets - 1);
}

TEST(LatencyHistogramTest, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(50), 0);
}

TEST(LatencyHistogramTest, ConstantValue) {
  LatencyHistogram h;
  for (int i = 0; i < 1000; ++i) h.Record(300);
  EXPECT_EQ(h.count(), 1000u);
  for (double p : {0.0, 1.0, 50.0, 99.0, 100.0}) {
    EXPECT_NEAR(h.Percentile(p), 300, BucketWidthAt(300)) << p;
  }
}

TEST(LatencyHistogramTest, UniformDistribution) {
  LatencyHistogram h;
  for (int v = 1; v <= 100000; ++v) h.Record(v);
  for (double p : {1.0, 10.0, 25.0, 50.0, 90.0, 99.0, 99.9}) {
    const double want = p / 100 * 100000;
    EXPECT_NEAR(h.Percentile(p), want, BucketWidthAt(want)) << p;
  }
  EXPECT_LE(h.Percentile(50), h.Percentile(99));
}

TEST(LatencyHistogramTest, ExponentialDistribution) {
  // Deterministic quantiles of an exponential with mean 200 us: x_i = -200 ln(1 - u_i).
  LatencyHistogram h;
  constexpr int kN = 200000;
  for (int i = 0; i < kN; ++i) h.Record(-200.0 * std::log(1.0 - (i + 0.5) / kN));
  for (double p : {50.0, 90.0, 99.0}) {
    const double want = -200.0 * std::log(1.0 - p / 100);
    EXPECT_NEAR(h.Percentile(p), want, BucketWidthAt(want)) << p;
  }
}

TEST(LatencyHistogramTest, BimodalTail) {
  // 98% at ~10 us and 2% at ~5000 us: p50 is the fast mode, p99 the slow one.
  LatencyHistogram h;
  for (int i = 0; i < 9800; ++i) h.Record(10);
  for (int i = 0; i < 200; ++i) h.Record(5000);
  EXPECT_NEAR(h.Percentile(50), 10, BucketWidthAt(10));
  EXPECT_NEAR(h.Percentile(99), 5000, BucketWidthAt(5000));
  h.Clear();
  EXPECT_EQ(h.count(), 0u);
}

TEST(LatencyHistogramTest, ConcurrentRecords) {
  LatencyHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 25000; ++i) h.Record(1 + (i + t) % 1000);
      (void)h.Percentile(50);  // reading while others record is allowed
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_NEAR(h.Percentile(50), 500, BucketWidthAt(500));
}

}  // namespace
}  // namespace strata::internal
