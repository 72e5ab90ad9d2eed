// Logging from a table with storage (include/strata/log.h): recovery at open, and a storage
// write error reported once, then its recovery once writes succeed again.
#include "strata/log.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "env/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "strata/table.h"

namespace strata {
namespace {

using ::testing::HasSubstr;

struct Record {
  LogSeverity severity;
  std::string component;
  std::string message;
};

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewMemEnv();
    SetLogSink(&LogTest::Sink, this);
  }
  void TearDown() override { SetLogSink(nullptr); }

  static void Sink(void* arg, LogSeverity severity, std::string_view component,
                   std::string_view message) {
    auto* t = static_cast<LogTest*>(arg);
    std::lock_guard<std::mutex> l(t->mu_);
    t->records_.push_back(Record{severity, std::string(component), std::string(message)});
  }

  std::vector<Record> Take(std::string_view component) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<Record> out;
    for (const Record& r : records_) {
      if (r.component == component) out.push_back(r);
    }
    return out;
  }

  TableOptions Options(Env* env) {
    TableOptions o;
    o.name = "logged";
    o.schema = *Schema::Builder().Fixed("obs", DType::kF32, {8}).Build();
    o.max_items = 1000;
    o.storage_dir = "/log";
    o.env = env;
    o.durability = Durability::kFlush;
    o.segment_bytes = 4 << 10;
    o.dram_budget_bytes = 10 * o.schema.fixed_row_bytes();
    return o;
  }

  static absl::Status Insert(Table& t, int n) {
    std::vector<float> obs(static_cast<size_t>(n) * 8, 1.0f);
    ItemBatch b;
    b.Add("obs", DType::kF32, {n, 8}, obs.data());
    std::vector<Key> keys;
    return t.Insert(b, &keys);
  }

  std::unique_ptr<Env> env_;
  std::mutex mu_;
  std::vector<Record> records_;
};

TEST_F(LogTest, ReopenLogsARecoveryRecordNamingTheTable) {
  {
    auto t = Table::Create(Options(env_.get()));
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE(Insert(**t, 30).ok());
    ASSERT_TRUE((*t)->Checkpoint().ok());
    ASSERT_TRUE(Insert(**t, 5).ok());
    (*t)->Close();
  }
  EXPECT_TRUE(Take("recovery").empty());  // a fresh directory: nothing recovered
  auto t = Table::Create(Options(env_.get()));
  ASSERT_TRUE(t.ok()) << t.status();
  const std::vector<Record> rec = Take("recovery");
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].severity, LogSeverity::kInfo);
  EXPECT_THAT(rec[0].message, HasSubstr("table 'logged': recovered 35 items from /log"));
  EXPECT_THAT(rec[0].message, HasSubstr("checkpoint meta-"));
  EXPECT_THAT(rec[0].message, HasSubstr("0 bad entries skipped"));
}

TEST_F(LogTest, WriteErrorIsLoggedOnceThenItsRecovery) {
  internal::FaultInjectionEnv fault(env_.get());
  auto t = Table::Create(Options(&fault));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_TRUE(Insert(**t, 10).ok());
  fault.NoSpaceAfter(0);
  EXPECT_FALSE(Insert(**t, 5).ok());
  absl::SleepFor(absl::Milliseconds(100));  // the writer retries meanwhile
  EXPECT_FALSE(Insert(**t, 1).ok());
  {
    const std::vector<Record> storage = Take("storage");
    ASSERT_EQ(storage.size(), 1u);  // once per transition, not per retry
    EXPECT_EQ(storage[0].severity, LogSeverity::kError);
    EXPECT_THAT(storage[0].message, HasSubstr("table 'logged': writing to /log failed"));
    EXPECT_THAT(storage[0].message, HasSubstr("seg-"));
  }
  fault.ClearFaults();
  absl::Status again;
  for (int i = 0; i < 200; ++i) {
    again = Insert(**t, 1);
    if (again.ok()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(again.ok()) << again;
  const std::vector<Record> storage = Take("storage");
  ASSERT_EQ(storage.size(), 2u);
  EXPECT_EQ(storage[1].severity, LogSeverity::kWarning);
  EXPECT_THAT(storage[1].message, HasSubstr("recovered (writes succeed again)"));
  (*t)->Close();
}

}  // namespace
}  // namespace strata
