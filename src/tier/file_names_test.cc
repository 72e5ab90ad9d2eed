#include "tier/file_names.h"

#include "gtest/gtest.h"
#include "tier/format.h"

namespace strata::internal {
namespace {

TEST(FileNamesTest, ParsesEveryNameStrataCreates) {
  EXPECT_EQ(ParseFileName("LOCK").kind, FileName::kLock);
  EXPECT_EQ(ParseFileName("MANIFEST").kind, FileName::kManifest);
  EXPECT_EQ(ParseFileName("MANIFEST.tmp").kind, FileName::kTemp);
  EXPECT_EQ(ParseFileName("lost").kind, FileName::kLost);
  const FileName data = ParseFileName(SegmentDataName(12));
  EXPECT_EQ(data.kind, FileName::kSegmentData);
  EXPECT_EQ(data.number, 12u);
  const FileName index = ParseFileName(SegmentIndexName(4000000000u));
  EXPECT_EQ(index.kind, FileName::kSegmentIndex);
  EXPECT_EQ(index.number, 4000000000u);
  const FileName ckpt = ParseFileName(CheckpointName(5));
  EXPECT_EQ(ckpt.kind, FileName::kCheckpoint);
  EXPECT_EQ(ckpt.number, 5u);
  EXPECT_EQ(ParseFileName(CheckpointName(5) + ".tmp").kind, FileName::kTemp);
}

TEST(FileNamesTest, AnythingElseIsForeign) {
  for (const char* name : {"thesis.tex", "seg-.data", "seg-12.dat", "seg-1x.data", "seg-12.data~",
                           "meta-5.ckpt.bak", "seg-99999999999.data", "seg-4294967296.index",
                           "seg-12.data.tmp", "MANIFEST2", "lock", ".tmp", "lost2"}) {
    EXPECT_EQ(ParseFileName(name).kind, FileName::kForeign) << name;
  }
}

}  // namespace
}  // namespace strata::internal
