#include "strata/log.h"

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace strata {
namespace {

struct Record {
  LogSeverity severity;
  std::string component;
  std::string message;
};

struct Recorder {
  std::mutex mu;
  std::vector<Record> records;

  static void Sink(void* arg, LogSeverity severity, std::string_view component,
                   std::string_view message) {
    auto* r = static_cast<Recorder*>(arg);
    std::lock_guard<std::mutex> l(r->mu);
    r->records.push_back(Record{severity, std::string(component), std::string(message)});
  }
};

TEST(LogTest, SinkReceivesRecordsAndNullptrRestoresTheDefault) {
  Recorder r;
  SetLogSink(&Recorder::Sink, &r);
  internal::Log(LogSeverity::kInfo, "storage", "hello");
  internal::Log(LogSeverity::kError, "recovery", std::string("broken ") + "file");
  SetLogSink(nullptr);
  internal::Log(LogSeverity::kInfo, "storage", "not recorded");  // the default drops info
  testing::internal::CaptureStderr();
  internal::Log(LogSeverity::kWarning, "repair", "to stderr");
  internal::Log(LogSeverity::kInfo, "repair", "dropped");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "strata [W] repair: to stderr\n");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].severity, LogSeverity::kInfo);
  EXPECT_EQ(r.records[0].component, "storage");
  EXPECT_EQ(r.records[0].message, "hello");
  EXPECT_EQ(r.records[1].severity, LogSeverity::kError);
  EXPECT_EQ(r.records[1].component, "recovery");
  EXPECT_EQ(r.records[1].message, "broken file");
}

TEST(LogTest, SeverityNames) {
  EXPECT_STREQ(LogSeverityName(LogSeverity::kInfo), "info");
  EXPECT_STREQ(LogSeverityName(LogSeverity::kWarning), "warning");
  EXPECT_STREQ(LogSeverityName(LogSeverity::kError), "error");
}

TEST(LogTest, ConcurrentLoggersAndSinkChanges) {
  Recorder a;
  Recorder b;
  constexpr int kThreads = 8;
  constexpr int kRecords = 2000;
  SetLogSink(&Recorder::Sink, &a);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kRecords; ++i) {
        internal::Log(LogSeverity::kInfo, "storage", std::to_string(t) + ":" + std::to_string(i));
      }
    });
  }
  // Swap sinks meanwhile: every record reaches exactly one of them.
  for (int i = 0; i < 100; ++i) SetLogSink(&Recorder::Sink, i % 2 ? &a : &b);
  for (std::thread& t : threads) t.join();
  SetLogSink(nullptr);
  EXPECT_EQ(a.records.size() + b.records.size(), size_t{kThreads} * kRecords);
  // Per thread, each sink sees its records in order.
  for (Recorder* r : {&a, &b}) {
    std::vector<int> last(kThreads, -1);
    for (const Record& rec : r->records) {
      const size_t colon = rec.message.find(':');
      const int t = std::stoi(rec.message.substr(0, colon));
      const int i = std::stoi(rec.message.substr(colon + 1));
      EXPECT_GT(i, last[t]);
      last[t] = i;
    }
  }
}

}  // namespace
}  // namespace strata
