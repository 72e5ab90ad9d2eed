#include "tier/checkpoint.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::internal {
namespace {

using ::testing::HasSubstr;

// Slots 0..4: 1 and 3 hold stored items, the others are free.
CheckpointData Sample() {
  CheckpointData d;
  d.score_columns = 2;
  d.next_seq = 77;
  d.arrivals = 80;
  d.max_priority = 3.5;
  for (size_t i = 0; i < d.counters.size(); ++i) d.counters[i] = 100 + i;
  d.limiter_inserts = 12;
  d.limiter_samples = -3;
  d.rng = {1, 2, 3, 4};
  d.generations = {2, 5, 0, 9, 4};
  d.items.push_back({.slot = 1,
                     .times_sampled = 4,
                     .group = 7,
                     .task = 2,
                     .priority = 0.25,
                     .seq = 10,
                     .segment = 3,
                     .offset = 4096,
                     .checksum = 0xabcd,
                     .length = 72});
  d.items.push_back({.slot = 3,
                     .times_sampled = 0,
                     .group = -1,
                     .task = 0,
                     .priority = 2,
                     .seq = 11,
                     .segment = 4,
                     .offset = 0,
                     .checksum = 0x1234,
                     .length = 72});
  d.scores = {0.5f, 1.5f, -2.0f, 3.0f};
  d.resume_items = 2;
  d.free_slots = {4, 0, 2};  // reuse order, not slot order
  d.sampler_state = std::string("\x07uniform\0\0\0\0", 12);
  d.remover_state = "fifo state";
  return d;
}

absl::StatusOr<CheckpointData> Decode(const std::string& body) {
  return DecodeCheckpoint(body, "/t/meta-000009.ckpt");
}

// Offset of item k's slot field in Sample()'s body.
size_t ItemOffset(size_t k) {
  const size_t header = 4 + 4 + 4 + 8 + 8 + 8 + 9 * 8 + 2 * 8 + 4 * 8;
  return header + 5 * 4 + 8 + k * (48 + 2 * 4);
}

void PutU32(std::string* body, size_t at, uint32_t v) { std::memcpy(body->data() + at, &v, 4); }

TEST(CheckpointTest, RoundTripsEveryField) {
  const CheckpointData d = Sample();
  auto got = Decode(EncodeCheckpoint(d));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->score_columns, 2u);
  EXPECT_EQ(got->next_seq, 77u);
  EXPECT_EQ(got->arrivals, 80u);
  EXPECT_EQ(got->max_priority, 3.5);
  EXPECT_EQ(got->counters, d.counters);
  EXPECT_EQ(got->limiter_inserts, 12);
  EXPECT_EQ(got->limiter_samples, -3);
  EXPECT_EQ(got->rng, d.rng);
  EXPECT_EQ(got->generations, d.generations);
  ASSERT_EQ(got->items.size(), 2u);
  EXPECT_EQ(got->items[0].slot, 1u);
  EXPECT_EQ(got->items[0].times_sampled, 4u);
  EXPECT_EQ(got->items[0].group, 7);
  EXPECT_EQ(got->items[0].task, 2);
  EXPECT_EQ(got->items[0].priority, 0.25);
  EXPECT_EQ(got->items[0].seq, 10u);
  EXPECT_EQ(got->items[0].segment, 3u);
  EXPECT_EQ(got->items[0].offset, 4096u);
  EXPECT_EQ(got->items[0].checksum, 0xabcdu);
  EXPECT_EQ(got->items[0].length, 72u);
  EXPECT_EQ(got->items[1].group, -1);
  EXPECT_EQ(got->scores, d.scores);
  EXPECT_EQ(got->version, kCheckpointVersion);
  EXPECT_TRUE(got->resumable());
  EXPECT_EQ(got->resume_items, 2u);
  EXPECT_EQ(got->free_slots, d.free_slots);
  EXPECT_EQ(got->sampler_state, d.sampler_state);
  EXPECT_EQ(got->remover_state, d.remover_state);
  EXPECT_EQ(EncodeCheckpoint(*got), EncodeCheckpoint(d));
}

// Bodies written before the free list and selector states still read, as not resumable (the
// table then rebuilds them), and are written back in their own version.
TEST(CheckpointTest, Version1BodiesDecodeWithoutResumeState) {
  CheckpointData d = Sample();
  d.version = 1;
  const std::string v1 = EncodeCheckpoint(d);
  EXPECT_EQ(v1.size() + 8 + 4 + 3 * 4 + 8 + 12 + 8 + 10, EncodeCheckpoint(Sample()).size());
  auto got = Decode(v1);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version, 1u);
  EXPECT_FALSE(got->resumable());
  EXPECT_TRUE(got->free_slots.empty());
  EXPECT_TRUE(got->sampler_state.empty());
  EXPECT_TRUE(got->remover_state.empty());
  EXPECT_EQ(got->items.size(), 2u);
  EXPECT_EQ(got->generations, d.generations);
  EXPECT_EQ(EncodeCheckpoint(*got), v1);
}

TEST(CheckpointTest, FreeListMustBeExactlyTheFreeSlots) {
  struct Case {
    std::vector<uint32_t> free_slots;
    const char* message;
  };
  const Case cases[] = {
      {{4, 0}, "free list has 2 slots, its generation table 3 free ones"},
      {{4, 0, 2, 2}, "free list has 4 slots"},
      {{4, 1, 2}, "free list entry 1 (slot 1): the slot is live"},
      {{4, 4, 2}, "free list entry 1 (slot 4): the slot appears twice"},
      {{4, 0, 5}, "free list entry 2 (slot 5): slot out of range (5 slots)"},
  };
  for (const Case& c : cases) {
    CheckpointData d = Sample();
    d.free_slots = c.free_slots;
    auto got = Decode(EncodeCheckpoint(d));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << c.message;
    EXPECT_THAT(got.status().message(), HasSubstr(c.message));
    EXPECT_THAT(got.status().message(), HasSubstr("meta-000009.ckpt"));
  }
}

// Repair drops items and leaves the rest of the body as it was: the free list and states then
// describe other items, so they are kept (the body re-encodes as read) but not used or checked.
TEST(CheckpointTest, ResumeStateOfOtherItemsIsIgnoredNotRefused) {
  CheckpointData d = Sample();
  d.resume_items = 3;
  d.free_slots = {1, 1, 99};
  const std::string body = EncodeCheckpoint(d);
  auto got = Decode(body);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->resumable());
  EXPECT_EQ(EncodeCheckpoint(*got), body);
}

TEST(CheckpointTest, ItemPrioritiesMustBeFiniteAndNonNegative) {
  for (double p :
       {-1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    CheckpointData d = Sample();
    d.items[1].priority = p;
    EXPECT_THAT(Decode(EncodeCheckpoint(d)).status().message(),
                HasSubstr("entry 1 (slot 3): priority"))
        << p;
  }
}

TEST(CheckpointTest, EmptyTableRoundTrips) {
  CheckpointData d;
  auto got = Decode(EncodeCheckpoint(d));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->items.empty());
  EXPECT_TRUE(got->generations.empty());
}

TEST(CheckpointTest, EveryTruncationIsDataLossNamingTheFile) {
  const std::string body = EncodeCheckpoint(Sample());
  for (size_t n = 0; n < body.size(); ++n) {
    auto got = Decode(body.substr(0, n));
    ASSERT_FALSE(got.ok()) << n;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << n;
    EXPECT_THAT(got.status().message(), HasSubstr("meta-000009.ckpt")) << n;
  }
  auto padded = Decode(body + "x");
  EXPECT_THAT(padded.status().message(), HasSubstr("1 bytes after its end"));
  CheckpointData v1 = Sample();
  v1.version = 1;
  auto padded_v1 = Decode(EncodeCheckpoint(v1) + "x");
  EXPECT_THAT(padded_v1.status().message(), HasSubstr("1 bytes after its end"));
}

TEST(CheckpointTest, UnknownVersionIsFailedPrecondition) {
  for (uint32_t version : {0u, kCheckpointVersion + 1}) {
    std::string body = EncodeCheckpoint(Sample());
    PutU32(&body, 0, version);
    auto got = Decode(body);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(got.status().message(), HasSubstr(absl::StrCat("version ", version, ";")));
  }
}

TEST(CheckpointTest, AbsurdCountsAreRefusedBeforeAllocating) {
  std::string body = EncodeCheckpoint(Sample());
  std::string huge_slots = body;
  PutU32(&huge_slots, 4, 0xFFFFFFFFu);  // 16 GiB of generations
  EXPECT_THAT(Decode(huge_slots).status().message(), HasSubstr("4294967295 slots"));
  std::string huge_columns = body;
  PutU32(&huge_columns, 8, 1u << 30);
  EXPECT_THAT(Decode(huge_columns).status().message(), HasSubstr("score columns"));
  std::string huge_items = body;
  const uint64_t count = uint64_t{1} << 60;
  std::memcpy(huge_items.data() + ItemOffset(0) - 8, &count, 8);
  EXPECT_THAT(Decode(huge_items).status().message(), HasSubstr("items, more than"));
  // The version 2 tail: its free-list count and state lengths are checked the same way.
  const size_t tail = ItemOffset(2);
  std::string huge_free = body;
  PutU32(&huge_free, tail + 8, 0xFFFFFFFFu);
  EXPECT_THAT(Decode(huge_free).status().message(), HasSubstr("4294967295 free slots, more than"));
  std::string huge_state = body;
  std::memcpy(huge_state.data() + tail + 12 + 3 * 4, &count, 8);
  EXPECT_THAT(Decode(huge_state).status().message(),
              HasSubstr("selector state of 1152921504606846976 bytes, more than"));
}

TEST(CheckpointTest, BadItemsNameTheirEntryAndSlot) {
  const std::string body = EncodeCheckpoint(Sample());
  struct Case {
    size_t item;
    size_t field_offset;  // within the item
    uint32_t value;
    const char* message;
  };
  const Case cases[] = {
      {1, 0, 1, "entry 1 (slot 1): the slot appears twice"},
      {1, 0, 0, "entry 1 (slot 0): slots out of order"},
      {0, 0, 5, "entry 0 (slot 5): slot out of range (5 slots)"},
      {0, 0, 2, "entry 0 (slot 2): the slot is free in the generation table"},
      {0, 32, 0xFFFFFFFFu, "entry 0 (slot 1): no stored record"},  // segment
      {0, 44, 0, "entry 0 (slot 1): no stored record"},            // length
      {0, 36, 0xFFFFFFF0u, "passes the 4 GiB segment limit"},      // offset
  };
  for (const Case& c : cases) {
    std::string bad = body;
    PutU32(&bad, ItemOffset(c.item) + c.field_offset, c.value);
    auto got = Decode(bad);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << c.message;
    EXPECT_THAT(got.status().message(), HasSubstr(c.message));
  }
}

TEST(CheckpointTest, LiveGenerationWithoutItemIsRefused) {
  CheckpointData d = Sample();
  d.generations[4] = 11;  // odd: live, but no item names slot 4
  EXPECT_THAT(Decode(EncodeCheckpoint(d)).status().message(),
              HasSubstr("3 live slots but it lists 2 items"));
}

}  // namespace
}  // namespace strata::internal
