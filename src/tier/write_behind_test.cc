#include "tier/write_behind.h"

#include <vector>

#include "gtest/gtest.h"

namespace strata::internal {
namespace {

std::vector<WriteBehind::Pending> TakeAll(WriteBehind* wb) {
  std::vector<WriteBehind::Pending> taken;
  WriteBehind::Pending p;
  while (wb->TakeFront(&p)) taken.push_back(p);
  return taken;
}

TEST(WriteBehindTest, TicketsIncreaseAndBecomeDurableWhenTheirGroupIsWritten) {
  WriteBehind wb;
  EXPECT_TRUE(wb.durable(0));
  const uint64_t a = wb.Enqueue(10, false);
  const uint64_t b = wb.Enqueue(11, true);
  EXPECT_LT(a, b);
  EXPECT_EQ(wb.last_ticket(), b);
  EXPECT_FALSE(wb.durable(a));
  WriteBehind::Pending p;
  ASSERT_TRUE(wb.TakeFront(&p));
  EXPECT_EQ(p.key, 10u);
  EXPECT_FALSE(p.tombstone);
  wb.Written({p});
  EXPECT_TRUE(wb.durable(a));
  EXPECT_FALSE(wb.durable(b));  // still queued
  EXPECT_EQ(wb.size(), 1u);
  ASSERT_TRUE(wb.TakeFront(&p));
  EXPECT_TRUE(p.tombstone);
  wb.Written({p});
  EXPECT_TRUE(wb.durable(b));
  EXPECT_TRUE(wb.empty());
  EXPECT_FALSE(wb.TakeFront(&p));
}

TEST(WriteBehindTest, AFailedGroupGoesBackInOrderAndTheErrorLastsUntilAWriteSucceeds) {
  WriteBehind wb;
  for (Key k = 1; k <= 3; ++k) wb.Enqueue(k, false);
  std::vector<WriteBehind::Pending> group = TakeAll(&wb);
  wb.Enqueue(4, false);  // queued while the group was being written
  wb.Failed(group, absl::ResourceExhaustedError("disk full"));
  EXPECT_EQ(wb.error().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(wb.durable(1));
  group = TakeAll(&wb);
  ASSERT_EQ(group.size(), 4u);
  for (size_t i = 0; i < group.size(); ++i) EXPECT_EQ(group[i].key, i + 1);  // order kept
  for (size_t i = 1; i < group.size(); ++i) EXPECT_LT(group[i - 1].ticket, group[i].ticket);
  wb.Written(group);
  EXPECT_TRUE(wb.error().ok());
  EXPECT_TRUE(wb.durable(wb.last_ticket()));
}

}  // namespace
}  // namespace strata::internal
