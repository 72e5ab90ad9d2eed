// RepairReport's summary line (the repairs themselves are exercised end to end, through
// Table::Repair and Table::Create, in tests/recovery_test.cc).
#include "strata/repair.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata {
namespace {

using ::testing::HasSubstr;

TEST(RepairReportTest, SummaryNamesWhatWasDone) {
  RepairReport r;
  r.manifest_rebuilt = true;
  r.segments = 3;
  r.checkpoint = "meta-000007.ckpt";
  r.checkpoint_items_dropped = 2;
  r.set_aside = {"seg-000004.data", "notes.txt"};
  r.deleted = {"MANIFEST.tmp"};
  EXPECT_EQ(r.ToString(),
            "rebuilt the MANIFEST: 3 segments, checkpoint meta-000007.ckpt (2 items in missing "
            "segments dropped); set aside in lost/: seg-000004.data, notes.txt; deleted: "
            "MANIFEST.tmp");
  RepairReport plain;
  EXPECT_THAT(plain.ToString(), HasSubstr("no checkpoint (every segment is replayed)"));
}

}  // namespace
}  // namespace strata
