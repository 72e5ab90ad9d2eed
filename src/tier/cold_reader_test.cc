// ColdReader over both read backends: verified records, lost ones (checksum mismatch, end of
// file) and failed ones (I/O errors that may pass) are told apart, each record on its own.
#include "tier/cold_reader.h"

#include <string>
#include <vector>

#include "env/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tier/format.h"

namespace strata::internal {
namespace {

using ::testing::HasSubstr;

class ColdReaderTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    mem_ = NewMemEnv();
    fault_ = std::make_unique<FaultInjectionEnv>(mem_.get());
    // 64 records of 100 bytes: record i is 100 copies of byte i.
    auto w = fault_->NewWritableFile("/seg-000001.data", false);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < kRecords; ++i) {
      const std::string r(100, static_cast<char>(i));
      checksums_.push_back(RecordChecksum(r.data(), r.size()));
      ASSERT_TRUE((*w)->Append(r).ok());
    }
    ASSERT_TRUE((*w)->Close().ok());
    auto seg = std::make_shared<Segment>();
    seg->id = 1;
    seg->path = "/seg-000001.data";
    seg->data = fault_->NewRandomAccessFile(seg->path).value();
    segment_ = seg;
    if (GetParam()) {
      auto uring = NewUringReader(8);
      reader_ = uring.ok() ? *std::move(uring) : NewThreadPoolReader(4);
    } else {
      reader_ = NewThreadPoolReader(4);
    }
  }
  std::vector<ColdRead> Plan(size_t n, std::vector<char>* buf) {
    buf->assign(n * 100, 0);
    std::vector<ColdRead> reads(n);
    for (size_t i = 0; i < n; ++i) {
      reads[i] = ColdRead{.segment = segment_,
                          .offset = static_cast<uint32_t>(i * 100),
                          .length = 100,
                          .checksum = checksums_[i],
                          .dst = buf->data() + i * 100};
    }
    return reads;
  }

  static constexpr int kRecords = 64;
  std::unique_ptr<Env> mem_;
  std::unique_ptr<FaultInjectionEnv> fault_;
  std::shared_ptr<const Segment> segment_;
  std::unique_ptr<AsyncReader> reader_;
  std::vector<uint32_t> checksums_;
};

TEST_P(ColdReaderTest, EveryRecordIsVerified) {
  std::vector<char> buf;
  std::vector<ColdRead> reads = Plan(kRecords, &buf);
  ReadRecords(reader_.get(), absl::MakeSpan(reads));
  for (int i = 0; i < kRecords; ++i) {
    EXPECT_EQ(reads[i].result, ColdRead::Result::kOk) << i << " " << reads[i].status;
    EXPECT_EQ(buf[i * 100 + 99], static_cast<char>(i));
  }
}

TEST_P(ColdReaderTest, MismatchEndOfFileAndMissingSegmentsAreToldApart) {
  std::vector<char> buf;
  std::vector<ColdRead> reads = Plan(5, &buf);
  reads[1].checksum ^= 1;      // lost: checksum mismatch
  reads[2].offset = 6350;      // lost: the file (6400 bytes) ends 50 bytes in
  reads[3].offset = 100000;    // lost: entirely past the end
  reads[4].segment = nullptr;  // failed: no segment
  ReadRecords(reader_.get(), absl::MakeSpan(reads));
  EXPECT_EQ(reads[0].result, ColdRead::Result::kOk);
  EXPECT_EQ(reads[1].result, ColdRead::Result::kLost);
  EXPECT_THAT(reads[1].Describe(), HasSubstr("/seg-000001.data offset 100, 100 bytes: checksum"));
  EXPECT_EQ(reads[2].result, ColdRead::Result::kLost);
  EXPECT_THAT(reads[2].status.message(), HasSubstr("end of file"));
  EXPECT_EQ(reads[3].result, ColdRead::Result::kLost);
  EXPECT_EQ(reads[4].result, ColdRead::Result::kFailed);
}

TEST_P(ColdReaderTest, AnIoErrorFailsOnlyItsRecord) {
  std::vector<char> buf;
  std::vector<ColdRead> reads = Plan(8, &buf);
  fault_->FailNth(FaultInjectionEnv::Op::kRead, fault_->reads() + 1,
                  absl::DataLossError("injected EIO"));
  ReadRecords(reader_.get(), absl::MakeSpan(reads));
  int failed = 0;
  for (const ColdRead& r : reads) {
    if (r.result == ColdRead::Result::kFailed) {
      ++failed;
      EXPECT_THAT(r.status.message(), HasSubstr("injected EIO"));
    } else {
      EXPECT_EQ(r.result, ColdRead::Result::kOk) << r.status;
    }
  }
  EXPECT_EQ(failed, 1);  // retrying may help: not reported as lost
}

TEST(ColdReaderReadLengthTest, WholePagesOnlyForDirectSegments) {
  EXPECT_EQ(ReadLength(nullptr, 100), 100u);
  auto mem = NewMemEnv();
  ASSERT_TRUE(mem->NewWritableFile("/f", false).value()->Append("x").ok());
  Segment s;
  s.data = mem->NewRandomAccessFile("/f").value();
  EXPECT_EQ(ReadLength(&s, 5000), 5000u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ColdReaderTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Uring" : "Threads"; });

}  // namespace
}  // namespace strata::internal
