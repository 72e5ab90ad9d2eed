#include "strata/info_fields.h"

#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"

namespace strata {
namespace {

// What SetAll writes to the field `name` of S: its position in the table, plus one.
template <typename S>
size_t Position(std::string_view name) {
  for (size_t i = 0; i < InfoFields<S>::kAll.size(); ++i) {
    if (InfoFields<S>::kAll[i].name == name) return i + 1;
  }
  ADD_FAILURE() << "no field named " << name;
  return 0;
}

template <typename S>
void SetAll(S* s);

template <typename S, typename M>
void Set(std::string_view name, M* m) {
  if constexpr (std::is_same_v<M, bool>) {
    *m = true;
  } else if constexpr (std::is_arithmetic_v<M>) {
    *m = static_cast<M>(Position<S>(name));
  } else if constexpr (std::is_same_v<M, std::string>) {
    *m = std::string(name);
  } else if constexpr (std::is_same_v<M, std::vector<TierInfo::Group>>) {
    *m = {{.group = 7, .dram_items = 8, .items = 9}};
  } else {
    SetAll(m);
  }
}

// Sets every field of *s through InfoFields<S>.
template <typename S>
void SetAll(S* s) {
  for (const InfoField<S>& f : InfoFields<S>::kAll) {
    std::visit([&](auto member) { Set<S>(f.name, &(s->*member)); }, f.member);
  }
}

// The field spelled `field` in C++ holds what SetAll wrote to the entry of the same name.
#define EXPECT_FIELD(S, s, field) EXPECT_FIELD_NAMED(S, s, field, #field)
#define EXPECT_FIELD_NAMED(S, s, field, name) \
  EXPECT_EQ((s).field, static_cast<decltype((s).field)>(Position<S>(name))) << name

TEST(InfoFieldsTest, EveryEntryNamesItsOwnField) {
  TableInfo i;
  SetAll(&i);
  EXPECT_EQ(i.name, "name");
  EXPECT_EQ(i.schema, "schema");
  EXPECT_EQ(i.sampler, "sampler");
  EXPECT_EQ(i.remover, "remover");
  EXPECT_FIELD(TableInfo, i, size);
  EXPECT_FIELD(TableInfo, i, bytes);
  EXPECT_FIELD_NAMED(TableInfo, i, max_items, "capacity");  // the name Python has always used
  EXPECT_FIELD(TableInfo, i, max_bytes);
  EXPECT_FIELD(TableInfo, i, inserted);
  EXPECT_FIELD(TableInfo, i, dropped);
  EXPECT_FIELD(TableInfo, i, sampled);
  EXPECT_FIELD(TableInfo, i, evicted);
  EXPECT_FIELD(TableInfo, i, expired);
  EXPECT_FIELD(TableInfo, i, deleted);
  EXPECT_FIELD(TableInfo, i, priority_updates);
  EXPECT_FIELD(TableInfo, i, score_updates);
  EXPECT_FIELD(TableInfo, i, missing_keys);
  EXPECT_TRUE(i.closed);

  const RateLimiterInfo& r = i.rate_limiter;
  EXPECT_FIELD(RateLimiterOptions, r.options, samples_per_insert);
  EXPECT_FIELD(RateLimiterOptions, r.options, min_size_to_sample);
  EXPECT_FIELD(RateLimiterOptions, r.options, min_diff);
  EXPECT_FIELD(RateLimiterOptions, r.options, max_diff);
  EXPECT_FIELD(RateLimiterInfo, r, inserts);
  EXPECT_FIELD(RateLimiterInfo, r, samples);
  EXPECT_FIELD(RateLimiterInfo, r, diff);
  EXPECT_FIELD(RateLimiterInfo, r, waiting_inserts);
  EXPECT_FIELD(RateLimiterInfo, r, waiting_samples);
  EXPECT_FIELD(RateLimiterInfo, r, insert_waits);
  EXPECT_FIELD(RateLimiterInfo, r, sample_waits);
  EXPECT_FIELD(RateLimiterInfo, r, insert_wait_seconds);
  EXPECT_FIELD(RateLimiterInfo, r, sample_wait_seconds);

  const TierInfo& t = i.tier;
  EXPECT_TRUE(t.enabled);
  EXPECT_FIELD(TierInfo, t, dram_items);
  EXPECT_FIELD(TierInfo, t, dram_bytes);
  EXPECT_FIELD(TierInfo, t, stored_items);
  EXPECT_FIELD(TierInfo, t, stored_bytes);
  EXPECT_FIELD(TierInfo, t, disk_bytes);
  EXPECT_FIELD(TierInfo, t, pending_writes);
  EXPECT_FIELD(TierInfo, t, dram_hits);
  EXPECT_FIELD(TierInfo, t, dram_misses);
  EXPECT_FIELD(TierInfo, t, dram_hit_rate);
  EXPECT_FIELD(TierInfo, t, reads_issued);
  EXPECT_FIELD(TierInfo, t, reads_completed);
  EXPECT_FIELD(TierInfo, t, read_bytes);
  EXPECT_FIELD(TierInfo, t, reads_in_flight);
  EXPECT_FIELD(TierInfo, t, max_reads_in_flight);
  EXPECT_FIELD(TierInfo, t, read_p50_us);
  EXPECT_FIELD(TierInfo, t, read_p99_us);
  EXPECT_FIELD(TierInfo, t, read_latency_total_us);
  EXPECT_FIELD(TierInfo, t, writes_issued);
  EXPECT_FIELD(TierInfo, t, records_written);
  EXPECT_FIELD(TierInfo, t, bytes_written);
  EXPECT_FIELD(TierInfo, t, syncs);
  EXPECT_FIELD(TierInfo, t, demotions);
  EXPECT_FIELD(TierInfo, t, promotions);
  EXPECT_FIELD(TierInfo, t, swaps);
  EXPECT_FIELD(TierInfo, t, swaps_skipped);
  EXPECT_FIELD(TierInfo, t, swaps_requested);
  EXPECT_FIELD(TierInfo, t, swap_ratio);
  EXPECT_FIELD(TierInfo, t, swap_interval);
  EXPECT_FIELD(TierInfo, t, dram_budget_bytes);
  EXPECT_FIELD(TierInfo, t, swap_bytes);
  EXPECT_FIELD(TierInfo, t, segments);
  EXPECT_FIELD(TierInfo, t, segments_compacted);
  EXPECT_FIELD(TierInfo, t, compaction_bytes_moved);
  EXPECT_FIELD(TierInfo, t, compaction_bytes_freed);
  EXPECT_FIELD(TierInfo, t, compaction_progress);
  EXPECT_FIELD(TierInfo, t, corrupt_items);
  EXPECT_FIELD(TierInfo, t, recovered_items);
  EXPECT_FIELD(TierInfo, t, bad_index_entries);
  EXPECT_EQ(t.reader, "reader");
  EXPECT_EQ(t.storage_error, "storage_error");
  ASSERT_EQ(t.groups.size(), 1u);
  EXPECT_EQ(t.groups[0].group, 7);
}

template <typename S>
void ExpectNamesAndHelp() {
  std::set<std::string_view> names;
  for (const InfoField<S>& f : InfoFields<S>::kAll) {
    EXPECT_FALSE(f.name.empty());
    EXPECT_TRUE(names.insert(f.name).second) << "repeated: " << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
    EXPECT_EQ(f.help.find('\n'), std::string_view::npos) << f.name << ": help is one line";
  }
}

TEST(InfoFieldsTest, NamesAreUniqueAndEveryFieldHasHelp) {
  ExpectNamesAndHelp<TableInfo>();
  ExpectNamesAndHelp<RateLimiterInfo>();
  ExpectNamesAndHelp<RateLimiterOptions>();
  ExpectNamesAndHelp<TierInfo>();
}

template <typename S>
void ExpectNoneCheckpointed() {
  for (const InfoField<S>& f : InfoFields<S>::kAll) EXPECT_FALSE(f.checkpointed) << f.name;
}

// Existing checkpoint files hold these counters in this order (docs/format.md, "Checkpoint").
TEST(InfoFieldsTest, CheckpointedCountersKeepTheBodyOrder) {
  std::vector<std::string_view> kept;
  for (const InfoField<TableInfo>& f : InfoFields<TableInfo>::kAll) {
    if (!f.checkpointed) continue;
    EXPECT_TRUE(std::holds_alternative<uint64_t TableInfo::*>(f.member)) << f.name;
    kept.push_back(f.name);
  }
  const std::vector<std::string_view> expected = {
      "inserted", "dropped",          "sampled",       "evicted",     "expired",
      "deleted",  "priority_updates", "score_updates", "missing_keys"};
  EXPECT_EQ(kept, expected);
  ExpectNoneCheckpointed<RateLimiterInfo>();  // the checkpoint keeps the limiter's on its own
  ExpectNoneCheckpointed<TierInfo>();
}

// FieldCount counts members, a nested struct or a container as one.
struct Three {
  int a = 0;
  std::string b;
  std::vector<int> c;
};
struct Nested {
  Three three;
  double d = 0;
};
static_assert(internal::FieldCount<Three>() == 3);
static_assert(internal::FieldCount<Nested>() == 2);
static_assert(internal::FieldCount<TierInfo::Group>() == 3);

}  // namespace
}  // namespace strata
