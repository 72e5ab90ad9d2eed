#include "strata/table.h"

#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/chi_square.h"

namespace strata {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Schema VecSchema(int dim = 4) {
  return *Schema::Builder().Fixed("x", DType::kF32, {dim}).Score("loss").Build();
}

std::unique_ptr<Table> MakeTable(TableOptions o) {
  auto t = Table::Create(std::move(o));
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(t).value();
}

TableOptions VecOptions(uint64_t capacity = 100) {
  TableOptions o;
  o.name = "t";
  o.schema = VecSchema();
  o.max_items = capacity;
  return o;
}

// Inserts items whose 4 floats are all `first + i`; returns their keys.
std::vector<Key> InsertValues(Table& t, int first, int n, std::vector<double> priorities = {}) {
  std::vector<float> data(static_cast<size_t>(n) * 4);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) data[i * 4 + j] = static_cast<float>(first + i);
  }
  ItemBatch b;
  b.Add("x", DType::kF32, {n, 4}, data.data());
  if (!priorities.empty()) b.set_priorities(priorities);
  std::vector<Key> keys;
  const absl::Status s = t.Insert(b, &keys);
  EXPECT_TRUE(s.ok()) << s;
  return keys;
}

float FirstValue(const SampleBatch& b, size_t i) { return b.field(0).values<float>()[i * 4]; }

TEST(TableTest, InsertGetRoundTripsEveryDtype) {
  auto schema = Schema::Builder()
                    .Fixed("b", DType::kBool, {3})
                    .Fixed("u8", DType::kU8, {2, 2})
                    .Fixed("i8", DType::kI8)
                    .Fixed("i16", DType::kI16, {2})
                    .Fixed("i32", DType::kI32)
                    .Fixed("i64", DType::kI64, {2})
                    .Fixed("f16", DType::kF16)
                    .Fixed("f32", DType::kF32, {5})
                    .Fixed("f64", DType::kF64)
                    .Build();
  ASSERT_TRUE(schema.ok());
  TableOptions o;
  o.schema = *schema;
  o.max_items = 10;
  auto t = MakeTable(o);
  constexpr int n = 3;
  std::vector<std::vector<uint8_t>> data;
  ItemBatch batch;
  for (const FieldSpec& f : schema->fields()) {
    std::vector<uint8_t> d(n * f.row_bytes());
    for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i * 7 + f.name.size());
    data.push_back(std::move(d));
    std::vector<int64_t> shape = {n};
    shape.insert(shape.end(), f.shape.begin(), f.shape.end());
    batch.Add(f.name, f.dtype, shape, data.back().data());
  }
  std::vector<Key> keys;
  ASSERT_TRUE(t->Insert(batch, &keys).ok());
  ASSERT_EQ(keys.size(), 3u);
  SampleBatch out;
  std::vector<Key> reversed = {keys[2], keys[1], keys[0]};
  ASSERT_EQ(*t->Get(reversed, &out), 3u);
  EXPECT_EQ(out.keys(), reversed);
  for (size_t f = 0; f < schema->num_fields(); ++f) {
    const size_t row = schema->field(f).row_bytes();
    ASSERT_EQ(out.field(f).data->size(), 3 * row);
    EXPECT_EQ(out.field(f).shape[0], 3);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(
          std::memcmp(out.field(f).data->data() + i * row, data[f].data() + (2 - i) * row, row), 0)
          << schema->field(f).name;
    }
  }
  EXPECT_TRUE(t->CheckInvariants().ok());
}

TEST(TableTest, VariableSizeFieldsOfDifferingSizes) {
  TableOptions o;
  o.schema = *Schema::Builder().Bytes("blob").Fixed("id", DType::kI32).Build();
  o.max_items = 8;
  auto t = MakeTable(o);
  // 10 KB .. 5 MB items, as the overview's replay-buffer users store.
  std::vector<std::string> blobs = {std::string(10 << 10, 'a'), std::string(),
                                    std::string(5 << 20, 'z'), std::string(123457, 'q')};
  blobs[2][12345] = '!';
  std::vector<std::string_view> views(blobs.begin(), blobs.end());
  std::vector<int32_t> ids = {0, 1, 2, 3};
  ItemBatch b;
  b.AddBytes("blob", views).Add("id", DType::kI32, {4}, ids.data());
  std::vector<Key> keys;
  ASSERT_TRUE(t->Insert(b, &keys).ok());
  EXPECT_EQ(t->info().bytes, 10240u + 0 + (5u << 20) + 123457 + 16);
  SampleBatch out;
  ASSERT_EQ(*t->Get(keys, &out), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out.field("blob")->bytes(i), blobs[i]);

  // Packed form.
  std::string packed = "helloworld!";
  std::vector<uint64_t> offsets = {0, 5, 10, 11};
  std::vector<int32_t> ids2 = {7, 8, 9};
  ItemBatch b2;
  b2.AddBytes("blob", packed.data(), offsets).Add("id", DType::kI32, {3}, ids2.data());
  keys.clear();
  ASSERT_TRUE(t->Insert(b2, &keys).ok());
  ASSERT_EQ(*t->Get(keys, &out), 3u);
  EXPECT_EQ(out.field("blob")->bytes(0), "hello");
  EXPECT_EQ(out.field("blob")->bytes(1), "world");
  EXPECT_EQ(out.field("blob")->bytes(2), "!");
  EXPECT_TRUE(t->CheckInvariants().ok());
}

TEST(TableTest, ItemBatchTailIsTheRestOfTheBatch) {
  TableOptions o;
  o.schema = *Schema::Builder()
                  .Fixed("v", DType::kF32, {2})
                  .Bytes("blob")
                  .Bytes("note")
                  .Fixed("id", DType::kI64)
                  .Score("loss")
                  .Build();
  o.max_items = 8;
  o.sampler = Prioritized(1.0, 1.0);
  auto t = MakeTable(o);
  const std::vector<float> v = {0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f};
  const std::string packed = "abbcccddddeeeee";
  const std::vector<uint64_t> offsets = {0, 1, 3, 6, 10, 15};
  const std::vector<std::string_view> notes = {"n0", "n1", "n2", "n3", "n4"};
  const std::vector<int64_t> ids = {10, 11, 12, 13, 14};
  const std::vector<double> priorities = {1, 2, 3, 4, 5};
  const std::vector<int32_t> groups = {0, 1, 2, 3, 4}, tasks = {5, 6, 7, 8, 9};
  const std::vector<float> loss = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  ItemBatch b;
  b.Add("v", DType::kF32, {5, 2}, v.data())
      .AddBytes("blob", packed.data(), offsets)
      .AddBytes("note", notes)
      .Add("id", DType::kI64, {5}, ids.data())
      .set_priorities(priorities)
      .set_groups(groups)
      .set_tasks(tasks)
      .AddScores("loss", loss);
  std::vector<Key> keys;
  ASSERT_TRUE(t->Insert(b.Tail(3), &keys).ok());
  ASSERT_EQ(keys.size(), 2u);
  SampleBatch out;
  ASSERT_EQ(*t->Get(keys, &out), 2u);
  EXPECT_THAT(out.field("v")->values<float>(), ElementsAre(3, 3.5f, 4, 4.5f));
  EXPECT_EQ(out.field("blob")->bytes(0), "dddd");
  EXPECT_EQ(out.field("blob")->bytes(1), "eeeee");
  EXPECT_EQ(out.field("note")->bytes(1), "n4");
  EXPECT_THAT(out.field("id")->values<int64_t>(), ElementsAre(13, 14));
  EXPECT_THAT(out.priorities(), ElementsAre(4, 5));
  EXPECT_THAT(out.groups(), ElementsAre(3, 4));
  EXPECT_THAT(out.tasks(), ElementsAre(8, 9));
  Table::ScanCursor cursor;
  ASSERT_EQ(*t->Scan(&cursor, 8, &out), 2u);
  EXPECT_THAT(out.scores(), ElementsAre(0.4f, 0.5f));
  // The tail past the last item holds none (its fields' first dimension is 0).
  const ItemBatch none = b.Tail(5);
  EXPECT_EQ(none.entries()[0].shape[0], 0);
  EXPECT_TRUE(none.entries()[1].offsets.size() == 1 && none.priorities().empty());
}

TEST(TableTest, ItemBatchIsReusableAfterClear) {
  TableOptions o;
  o.schema = *Schema::Builder().Fixed("id", DType::kI32).Bytes("blob").Build();
  o.max_items = 8;
  auto t = MakeTable(o);
  ItemBatch b;
  std::vector<Key> keys;
  std::string packed = "abcdef";
  std::vector<uint64_t> offsets = {0, 2, 6};
  std::vector<int32_t> ids = {1, 2};
  // First use: packed bytes; second: views, in the other order. Clear must forget every view.
  b.AddBytes("blob", packed.data(), offsets).Add("id", DType::kI32, {2}, ids.data());
  ASSERT_TRUE(t->Insert(b, &keys).ok());
  b.Clear();
  std::vector<std::string_view> views = {"xyz"};
  std::vector<int32_t> id3 = {3};
  b.Add("id", DType::kI32, {1}, id3.data()).AddBytes("blob", views);
  ASSERT_TRUE(t->Insert(b, &keys).ok());
  b.Clear();
  EXPECT_THAT(t->Insert(b, &keys).message(), HasSubstr("missing field"));
  SampleBatch out;
  ASSERT_EQ(*t->Get(keys, &out), 3u);
  EXPECT_EQ(out.field("blob")->bytes(0), "ab");
  EXPECT_EQ(out.field("blob")->bytes(1), "cdef");
  EXPECT_EQ(out.field("blob")->bytes(2), "xyz");
  EXPECT_EQ(out.field("id")->values<int32_t>()[2], 3);
}

TEST(TableTest, BadInputIsRejectedAndChangesNothing) {
  auto t = MakeTable(VecOptions());
  InsertValues(*t, 0, 5);
  std::vector<float> data(8);
  std::vector<double> f64(8);
  std::vector<Key> keys;
  auto expect_error = [&](const ItemBatch& b, const std::string& what) {
    const absl::Status s = t->Insert(b, &keys);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr(what));
  };
  expect_error(ItemBatch().Add("y", DType::kF32, {2, 4}, data.data()), "unknown field 'y'");
  expect_error(ItemBatch().Add("x", DType::kF64, {2, 4}, f64.data()),
               "field 'x': expected dtype float32, got float64");
  expect_error(ItemBatch().Add("x", DType::kF32, {2, 3}, data.data()),
               "field 'x': expected shape [n, 4], got [2, 3]");
  expect_error(ItemBatch().Add("x", DType::kF32, {8}, data.data()),
               "expected shape [n, 4], got [8]");
  expect_error(ItemBatch().Add("x", DType::kF32, {0, 4}, data.data()), "batch of 0 items");
  expect_error(ItemBatch(), "missing field 'x'");
  std::vector<double> nan = {1.0, NAN};
  expect_error(ItemBatch().Add("x", DType::kF32, {2, 4}, data.data()).set_priorities(nan),
               "priorities[1] is nan");
  std::vector<double> neg = {-1.0, 1.0};
  expect_error(ItemBatch().Add("x", DType::kF32, {2, 4}, data.data()).set_priorities(neg),
               "priorities[0] is -1");
  std::vector<double> one = {1.0};
  expect_error(ItemBatch().Add("x", DType::kF32, {2, 4}, data.data()).set_priorities(one),
               "priorities has 1 entries for a batch of 2 items");
  std::vector<float> nan_score = {0, NAN};
  expect_error(ItemBatch().Add("x", DType::kF32, {2, 4}, data.data()).AddScores("loss", nan_score),
               "score column 'loss'[1] is NaN");
  expect_error(ItemBatch().Add("x", DType::kF32, {2, 4}, data.data()).AddScores("gain", nan_score),
               "unknown score column 'gain'");
  EXPECT_TRUE(keys.empty());
  EXPECT_EQ(t->size(), 5u);
  EXPECT_EQ(t->info().inserted, 5u);
  EXPECT_TRUE(t->CheckInvariants().ok());

  SampleBatch out;
  EXPECT_THAT(t->Sample({.batch_size = 0}, &out).message(), HasSubstr("batch_size must be >= 1"));
  const absl::Status too_many = t->Sample({.batch_size = 6, .replacement = false}, &out);
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.message(), HasSubstr("cannot sample 6 distinct items"));
  EXPECT_EQ(t->info().sampled, 0u);
  EXPECT_EQ(t->info().rate_limiter.samples, 0);  // credits returned

  std::vector<Key> k = {1};
  std::vector<double> bad = {NAN};
  EXPECT_EQ(t->UpdatePriorities(k, bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t->UpdateScores("nope", k, std::vector<float>{1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The binder's messages are all a caller (the Python binding included, which passes arrays
// as they are) learns of a bad batch: each names the field and what was expected.
TEST(TableTest, BindMessagesSayWhichFieldAndWhatWasExpected) {
  TableOptions o;
  o.name = "t";
  o.schema =
      *Schema::Builder().Fixed("x", DType::kF32, {4}).Fixed("y", DType::kI32).Score("loss").Build();
  o.max_items = 10;
  auto t = MakeTable(o);
  std::vector<float> x(8);
  std::vector<int32_t> y(3);
  std::vector<Key> keys;
  auto message = [&](const ItemBatch& b) {
    const absl::Status s = t->Insert(b, &keys);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    return std::string(s.message());
  };
  EXPECT_EQ(
      message(
          ItemBatch().Add("x", DType::kF32, {4}, x.data()).Add("y", DType::kI32, {1}, y.data())),
      "field 'x': expected shape [n, 4], got [4] (one item has shape [4])");
  EXPECT_EQ(message(ItemBatch()
                        .Add("x", DType::kF32, {1, 4}, x.data())
                        .Add("y", DType::kI32, {1, 1}, y.data())),
            "field 'y': expected shape [n], got [1, 1] (one item is a scalar)");
  EXPECT_EQ(
      message(
          ItemBatch().Add("x", DType::kF32, {2, 4}, x.data()).Add("y", DType::kI32, {1}, y.data())),
      "field 'y' has 1 item but field 'x' has 2");
  EXPECT_EQ(
      message(
          ItemBatch().Add("y", DType::kI32, {3}, y.data()).Add("x", DType::kF32, {2, 4}, x.data())),
      "field 'x' has 2 items but field 'y' has 3");
  EXPECT_EQ(message(ItemBatch().Add("y", DType::kI64, {1}, y.data())),
            "field 'y': expected dtype int32, got int64");
  std::vector<float> score = {1};
  EXPECT_EQ(message(ItemBatch()
                        .Add("x", DType::kF32, {1, 4}, x.data())
                        .Add("y", DType::kI32, {1}, y.data())
                        .AddScores("gain", score)),
            "unknown score column 'gain'; the schema has loss");
  EXPECT_EQ(message(ItemBatch().Add("z", DType::kU8, {}, nullptr)),
            "table 't': unknown field 'z'; the schema has x, y");
  EXPECT_TRUE(keys.empty());
  EXPECT_EQ(t->size(), 0u);

  TableOptions no_scores = VecOptions();
  no_scores.schema = *Schema::Builder().Fixed("x", DType::kF32, {4}).Build();
  auto u = MakeTable(no_scores);
  const absl::Status s = u->Insert(
      ItemBatch().Add("x", DType::kF32, {1, 4}, x.data()).AddScores("loss", score), &keys);
  EXPECT_EQ(s.message(), "unknown score column 'loss'; the schema has none");
}

TEST(TableTest, FifoEvictionMakesOldKeysStale) {
  auto t = MakeTable(VecOptions(4));
  std::vector<Key> first = InsertValues(*t, 0, 4);
  std::vector<Key> second = InsertValues(*t, 100, 2);  // evicts values 0 and 1
  EXPECT_EQ(t->size(), 4u);
  EXPECT_EQ(t->info().evicted, 2u);
  SampleBatch out;
  std::vector<size_t> missing;
  ASSERT_EQ(*t->Get(first, &out, &missing), 2u);
  EXPECT_THAT(missing, ElementsAre(0, 1));
  EXPECT_EQ(FirstValue(out, 0), 2.0f);
  EXPECT_EQ(FirstValue(out, 1), 3.0f);
  // The new items reuse the evicted slots, but the old keys never reach them.
  missing.clear();
  std::vector<double> p = {5.0, 5.0};
  EXPECT_EQ(*t->UpdatePriorities({first[0], first[1]}, p, &missing), 0u);
  EXPECT_THAT(missing, ElementsAre(0, 1));
  ASSERT_EQ(*t->Get(second, &out), 2u);
  EXPECT_EQ(out.priorities()[0], 1.0);  // untouched
  missing.clear();
  EXPECT_EQ(*t->Delete({first[0], second[0], second[0]}, &missing), 1u);
  EXPECT_THAT(missing, ElementsAre(0, 2));
  EXPECT_EQ(t->size(), 3u);
  EXPECT_TRUE(t->CheckInvariants().ok());
}

TEST(TableTest, ByteCapacityEvictsUntilItFits) {
  TableOptions o;
  o.schema = *Schema::Builder().Bytes("b").Build();
  o.max_items = 100;
  o.max_bytes = 1000;
  auto t = MakeTable(o);
  std::vector<std::string> items = {std::string(400, 'a'), std::string(400, 'b'),
                                    std::string(300, 'c')};
  std::vector<Key> keys;
  for (auto& s : items) {
    std::vector<std::string_view> v = {s};
    ASSERT_TRUE(t->Insert(ItemBatch().AddBytes("b", v), &keys).ok());
  }
  // 400 + 400 + 300 > 1000: the oldest went.
  EXPECT_EQ(t->size(), 2u);
  EXPECT_EQ(t->info().bytes, 700u);
  std::string big(1001, 'x');
  std::vector<std::string_view> v = {big};
  EXPECT_THAT(t->Insert(ItemBatch().AddBytes("b", v), &keys).message(),
              HasSubstr("holds 1001 bytes, more than the table's max_bytes 1000"));
  EXPECT_TRUE(t->CheckInvariants().ok());
}

TEST(TableTest, FullWithoutRemoverIsResourceExhausted) {
  TableOptions o = VecOptions(3);
  o.remover = std::nullopt;
  auto t = MakeTable(o);
  InsertValues(*t, 0, 2);
  std::vector<float> data(8);
  std::vector<Key> keys;
  const absl::Status s = t->Insert(ItemBatch().Add("x", DType::kF32, {2, 4}, data.data()), &keys);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(t->size(), 2u);
}

TEST(TableTest, MaxTimesSampledGivesQueueSemantics) {
  TableOptions o = VecOptions(100);
  o.sampler = Fifo();
  o.max_times_sampled = 1;
  o.rate_limiter = Queue(100);
  auto t = MakeTable(o);
  InsertValues(*t, 0, 10);
  SampleBatch out;
  ASSERT_TRUE(t->Sample({.batch_size = 4}, &out).ok());
  EXPECT_EQ(FirstValue(out, 0), 0.0f);
  EXPECT_EQ(FirstValue(out, 3), 3.0f);
  ASSERT_TRUE(t->Sample({.batch_size = 6}, &out).ok());
  EXPECT_EQ(FirstValue(out, 0), 4.0f);
  EXPECT_EQ(t->size(), 0u);
  EXPECT_EQ(t->info().expired, 10u);
  // Empty queue: the limiter holds the sampler until its timeout.
  const absl::Status s = t->Sample({.batch_size = 1, .timeout = absl::Milliseconds(20)}, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(t->CheckInvariants().ok());
}

TEST(TableTest, LifoStack) {
  TableOptions o = VecOptions(100);
  o.sampler = Lifo();
  o.max_times_sampled = 1;
  o.rate_limiter = Stack(100);
  auto t = MakeTable(o);
  InsertValues(*t, 0, 5);
  SampleBatch out;
  ASSERT_TRUE(t->Sample({.batch_size = 2}, &out).ok());
  EXPECT_EQ(FirstValue(out, 0), 4.0f);
  EXPECT_EQ(FirstValue(out, 1), 3.0f);
}

TEST(TableTest, PrioritizedSamplingMatchesPriorities) {
  TableOptions o = VecOptions(16);
  o.sampler = Prioritized(/*alpha=*/1.0, /*beta=*/0.5, /*epsilon=*/1e-9);
  auto t = MakeTable(o);
  std::vector<double> pr(16);
  for (int i = 0; i < 16; ++i) pr[i] = i + 1;
  std::vector<Key> keys = InsertValues(*t, 0, 16, pr);
  // Move item 0 to the top; its old priority must not linger anywhere.
  ASSERT_EQ(*t->UpdatePriorities({keys[0]}, std::vector<double>{40.0}), 1u);
  pr[0] = 40;
  const double total = std::accumulate(pr.begin(), pr.end(), 0.0);
  std::vector<uint64_t> counts(16);
  SampleBatch out;
  constexpr int kRounds = 400, kBatch = 256;
  for (int r = 0; r < kRounds; ++r) {
    ASSERT_TRUE(t->Sample({.batch_size = kBatch}, &out).ok());
    for (size_t i = 0; i < out.size(); ++i) {
      const int v = static_cast<int>(FirstValue(out, i));
      ++counts[v];
      ASSERT_NEAR(out.probabilities()[i], pr[v] / total, 1e-9);
      // w = (N P)^-beta / max_j (N P_j)^-beta = (p_v / p_min)^-beta, p_min = 2.
      ASSERT_NEAR(out.weights()[i], std::pow(pr[v] / 2.0, -0.5), 1e-9);
    }
  }
  std::vector<double> expected(16);
  for (int i = 0; i < 16; ++i) expected[i] = kRounds * kBatch * pr[i] / total;
  EXPECT_LT(internal::ChiSquareStatistic(counts, expected), internal::ChiSquareCritical(15, 1e-4));
  EXPECT_TRUE(t->CheckInvariants().ok());
}

TEST(TableTest, RepeatedKeyInOneUpdateTakesTheLastValue) {
  TableOptions o = VecOptions(8);
  o.sampler = Prioritized(1.0, 0.4, 1e-9);
  o.remover = MinHeap();
  auto t = MakeTable(o);
  std::vector<Key> keys = InsertValues(*t, 0, 3, {1.0, 1.0, 1.0});
  const Key stale = keys[1];
  ASSERT_EQ(*t->Delete({stale}), 1u);
  std::vector<size_t> missing;
  auto applied = t->UpdatePriorities({keys[0], stale, keys[0], keys[2]},
                                     std::vector<double>{5.0, 7.0, 9.0, 3.0}, &missing);
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*applied, 3u);
  EXPECT_THAT(missing, ElementsAre(1));
  SampleBatch out;
  ASSERT_EQ(*t->Get({keys[0], keys[2]}, &out), 2u);
  EXPECT_EQ(out.priorities()[0], 9.0);
  EXPECT_EQ(out.priorities()[1], 3.0);
  ASSERT_TRUE(t->CheckInvariants().ok());  // the tree and the heap agree with 9 and 3
  ASSERT_TRUE(t->Sample({.batch_size = 1}, &out).ok());
  EXPECT_NEAR(out.probabilities()[0], out.priorities()[0] / 12.0, 1e-9);
  // The MinHeap remover evicts the lowest priority (3) first.
  InsertValues(*t, 10, 7, {4, 4, 4, 4, 4, 4, 4});  // 9 items for 8 places
  ASSERT_EQ(*t->Get({keys[2]}, &out), 0u);
  missing.clear();
  EXPECT_EQ(*t->UpdateScores("loss", {keys[2], keys[0]}, std::vector<float>{1, 2}, &missing), 1u);
  EXPECT_THAT(missing, ElementsAre(0));
}

TEST(TableTest, BetaCanBeSetPerSample) {
  TableOptions o = VecOptions(8);
  o.sampler = Prioritized(/*alpha=*/1.0, /*beta=*/0.4, /*epsilon=*/1e-9);
  auto t = MakeTable(o);
  InsertValues(*t, 0, 4, {1.0, 2.0, 4.0, 8.0});
  SampleBatch out;
  for (double beta : {-1.0, 0.0, 0.4, 1.0}) {
    ASSERT_TRUE(t->Sample({.batch_size = 64, .beta = beta}, &out).ok());
    const double b = beta < 0 ? 0.4 : beta;  // negative: the table's own
    for (size_t i = 0; i < out.size(); ++i) {
      // w = (P_i / P_min)^-beta with P_min the probability of priority 1.
      EXPECT_NEAR(out.weights()[i], std::pow(out.priorities()[i] / 1.0, -b), 1e-9) << beta;
    }
  }
  EXPECT_THAT(t->Sample({.batch_size = 1, .beta = NAN}, &out).message(),
              HasSubstr("beta must be finite"));
  EXPECT_EQ(t->info().rate_limiter.samples, 4 * 64);  // the rejected call took no credits
}

TEST(TableTest, NewItemsGetRunningMaxPriority) {
  TableOptions o = VecOptions(16);
  o.sampler = Prioritized(1.0, 0.4);
  auto t = MakeTable(o);
  std::vector<Key> a = InsertValues(*t, 0, 1, {7.5});
  std::vector<Key> b = InsertValues(*t, 1, 1);
  SampleBatch out;
  ASSERT_EQ(*t->Get(b, &out), 1u);
  EXPECT_EQ(out.priorities()[0], 7.5);
}

TEST(TableTest, UniformWithoutReplacementIsDistinct) {
  auto t = MakeTable(VecOptions(50));
  InsertValues(*t, 0, 50);
  SampleBatch out;
  ASSERT_TRUE(t->Sample({.batch_size = 50, .replacement = false}, &out).ok());
  std::vector<int> seen(50);
  for (size_t i = 0; i < 50; ++i) ++seen[static_cast<int>(FirstValue(out, i))];
  for (int s : seen) EXPECT_EQ(s, 1);
}

TEST(TableTest, SameSeedSameResults) {
  auto run = [](uint64_t seed) {
    TableOptions o = VecOptions(64);
    o.seed = seed;
    o.sampler = Prioritized(0.7, 0.5);
    o.remover = Uniform();
    auto t = MakeTable(o);
    std::vector<Key> trace;
    SampleBatch out;
    for (int round = 0; round < 20; ++round) {
      std::vector<Key> k = InsertValues(*t, round * 10, 10);
      EXPECT_TRUE(t->Sample({.batch_size = 8}, &out).ok());
      trace.insert(trace.end(), out.keys().begin(), out.keys().end());
      std::vector<double> p(out.size());
      for (size_t i = 0; i < p.size(); ++i) p[i] = 0.1 + i;
      EXPECT_TRUE(t->UpdatePriorities(out.keys(), p).ok());
    }
    return trace;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
}

TEST(TableTest, ReservoirKeepsArrivalsWithEqualProbability) {
  // Stream 40 items through a reservoir of 10, many times: each position survives with
  // probability 10/40.
  constexpr int kCap = 10, kStream = 40, kRuns = 2000;
  std::vector<uint64_t> kept(kStream);
  for (int run = 0; run < kRuns; ++run) {
    TableOptions o = VecOptions(kCap);
    o.insertion = InsertionPolicy::kReservoir;
    o.remover = Uniform();
    o.seed = 1000 + run;
    auto t = MakeTable(o);
    std::vector<Key> keys = InsertValues(*t, 0, kStream);
    int dropped = 0;
    for (Key k : keys) dropped += (k == kNoKey);
    EXPECT_EQ(static_cast<uint64_t>(dropped), t->info().dropped);
    SampleBatch out;
    ASSERT_EQ(*t->Get(keys, &out), static_cast<size_t>(kCap));
    for (size_t i = 0; i < out.size(); ++i) ++kept[static_cast<int>(FirstValue(out, i))];
  }
  std::vector<double> expected(kStream, double{kRuns} * kCap / kStream);
  EXPECT_LT(internal::ChiSquareStatistic(kept, expected),
            internal::ChiSquareCritical(kStream - 1, 1e-4));
}

TEST(TableTest, GroupBalancedEvictionKeepsClassesBalanced) {
  TableOptions o = VecOptions(20);
  o.remover = GroupBalanced(VictimOrder::kOldest);
  auto t = MakeTable(o);
  std::vector<float> data(4 * 30);
  for (int task = 0; task < 4; ++task) {
    std::vector<int32_t> groups(30, task);
    std::vector<Key> keys;
    ASSERT_TRUE(
        t->Insert(ItemBatch().Add("x", DType::kF32, {30, 4}, data.data()).set_groups(groups), &keys)
            .ok());
    SampleBatch out;
    ASSERT_TRUE(t->Sample({.batch_size = 20, .replacement = false}, &out).ok());
    std::vector<int> per_group(task + 1);
    for (int32_t g : out.groups()) ++per_group[g];
    for (int c : per_group) EXPECT_NEAR(c, 20.0 / (task + 1), 1.0) << "after task " << task;
  }
  EXPECT_TRUE(t->CheckInvariants().ok());
}

TEST(TableTest, ScoresAreStoredAndDriveLowestScoreEviction) {
  TableOptions o = VecOptions(4);
  o.remover = GroupBalanced(VictimOrder::kLowestScore, "loss");
  auto t = MakeTable(o);
  std::vector<Key> keys = InsertValues(*t, 0, 4);
  std::vector<float> loss = {0.5f, 0.1f, 0.9f, 0.7f};
  ASSERT_EQ(*t->UpdateScores("loss", keys, loss), 4u);
  // The arrival is inserted first, so with the lowest loss it would evict itself; with 0.3 the
  // victim is the item with loss 0.1.
  std::vector<float> data(4, 10.0f);
  std::vector<float> arrival_loss = {0.3f};
  std::vector<Key> arrival;
  ASSERT_TRUE(
      t->Insert(
           ItemBatch().Add("x", DType::kF32, {1, 4}, data.data()).AddScores("loss", arrival_loss),
           &arrival)
          .ok());
  SampleBatch out;
  std::vector<size_t> missing;
  ASSERT_EQ(*t->Get(keys, &out, &missing), 3u);
  EXPECT_THAT(missing, ElementsAre(1));
  std::vector<float> low = {0.01f};
  std::vector<Key> evicted_at_once;
  ASSERT_TRUE(
      t->Insert(ItemBatch().Add("x", DType::kF32, {1, 4}, data.data()).AddScores("loss", low),
                &evicted_at_once)
          .ok());
  EXPECT_EQ(*t->Get(evicted_at_once, &out), 0u);  // the lowest-loss arrival evicted itself
  EXPECT_EQ(t->info().score_updates, 4u);
}

TEST(TableTest, SeveralScoreColumnsAreCheckedFirstThenSetTogether) {
  TableOptions o = VecOptions(10);
  o.schema = *Schema::Builder().Fixed("x", DType::kF32, {4}).Score("loss").Score("age").Build();
  o.sampler = GroupBalanced(VictimOrder::kLowestScore, "age");
  auto t = MakeTable(o);
  std::vector<Key> keys = InsertValues(*t, 0, 3);
  const std::vector<float> loss = {1, 2, 3}, age = {7, 8, 9}, nan = {1, NAN, 3}, two = {1, 2};
  using U = Table::ScoreUpdate;
  auto message = [&](std::vector<U> updates) {
    absl::StatusOr<size_t> r = t->UpdateScores(updates, keys);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(r.status().message());
  };
  // Each bad column fails the whole call, whichever position it has; nothing is applied.
  EXPECT_EQ(message({{"loss", loss}, {"gain", age}}),
            "unknown score column 'gain'; the schema has loss, age");
  EXPECT_EQ(message({{"loss", loss}, {"age", nan}}), "score column 'age'[1] is NaN");
  EXPECT_EQ(message({{"age", two}, {"loss", loss}}),
            "got 3 keys but 2 values for score column 'age'");
  EXPECT_EQ(message({{"loss", loss}, {"loss", age}}), "score column 'loss' is given twice");
  EXPECT_EQ(message({}), "no score columns given: name at least one to update");
  SampleBatch out;
  Table::ScanCursor cursor;
  ASSERT_EQ(*t->Scan(&cursor, 10, &out), 3u);
  EXPECT_THAT(out.scores(), ElementsAre(0, 0, 0, 0, 0, 0));
  EXPECT_EQ(t->info().score_updates, 0u);

  std::vector<Key> with_stale = {keys[0], keys[1] ^ (uint64_t{2} << 32), keys[2]};
  std::vector<size_t> missing;
  const std::vector<U> both = {{"age", age}, {"loss", loss}};
  ASSERT_EQ(*t->UpdateScores(both, with_stale, &missing), 2u);
  EXPECT_THAT(missing, ElementsAre(1));
  cursor = {};
  ASSERT_EQ(*t->Scan(&cursor, 10, &out), 3u);
  EXPECT_THAT(out.scores(), ElementsAre(1, 7, 0, 0, 3, 9));        // per item: loss, age
  EXPECT_EQ(t->info().score_updates, 4u);                          // per item and column
  EXPECT_TRUE(t->CheckInvariants().ok()) << t->CheckInvariants();  // the sampler saw "age"
}

TEST(TableTest, CloseWakesBlockedCallersAndRejectsLaterCalls) {
  TableOptions o = VecOptions(10);
  o.rate_limiter = MinSize(5);
  auto t = MakeTable(o);
  absl::Status sample_status;
  std::thread sampler([&] {
    SampleBatch out;
    sample_status = t->Sample({.batch_size = 1}, &out);
  });
  absl::SleepFor(absl::Milliseconds(50));
  t->Close();
  sampler.join();
  EXPECT_EQ(sample_status.code(), absl::StatusCode::kCancelled);
  std::vector<float> data(4);
  std::vector<Key> keys;
  EXPECT_EQ(t->Insert(ItemBatch().Add("x", DType::kF32, {1, 4}, data.data()), &keys).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(t->info().closed);
}

TEST(TableTest, SampleToInsertRatioTimesOutThenProceeds) {
  TableOptions o = VecOptions(100);
  o.rate_limiter =
      SampleToInsertRatio(/*samples_per_insert=*/2, /*min_size=*/2, /*error_buffer=*/4);
  auto t = MakeTable(o);
  SampleBatch out;
  EXPECT_EQ(t->Sample({.batch_size = 1, .timeout = absl::Milliseconds(10)}, &out).code(),
            absl::StatusCode::kDeadlineExceeded);
  InsertValues(*t, 0, 4);  // diff = 8; window [0, 8]
  ASSERT_TRUE(t->Sample({.batch_size = 8}, &out).ok());
  EXPECT_EQ(t->Sample({.batch_size = 1, .timeout = absl::Milliseconds(10)}, &out).code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(t->SetRateLimiter(MinSize(1)).ok());
  EXPECT_TRUE(t->Sample({.batch_size = 1, .timeout = absl::Milliseconds(10)}, &out).ok());
}

TEST(TableTest, SampledBufferSurvivesReuseWhileReferenced) {
  auto t = MakeTable(VecOptions(10));
  InsertValues(*t, 0, 10);
  SampleBatch out;
  ASSERT_TRUE(t->Sample({.batch_size = 5}, &out).ok());
  std::shared_ptr<Buffer> held = out.field(0).data;
  std::vector<uint8_t> copy(held->data(), held->data() + held->size());
  ASSERT_TRUE(t->Sample({.batch_size = 5}, &out).ok());
  EXPECT_NE(out.field(0).data.get(), held.get());  // a held buffer is never overwritten
  EXPECT_EQ(std::memcmp(copy.data(), held->data(), copy.size()), 0);
  const Buffer* reused = out.field(0).data.get();
  ASSERT_TRUE(t->Sample({.batch_size = 5}, &out).ok());
  EXPECT_EQ(out.field(0).data.get(), reused);  // an unshared buffer is reused
}

TEST(TableTest, CreateRejectsBadOptions) {
  TableOptions o = VecOptions();
  o.max_items = 0;
  EXPECT_THAT(Table::Create(o).status().message(), HasSubstr("max_items"));
  o = VecOptions();
  o.sampler = Prioritized(-1);
  EXPECT_THAT(Table::Create(o).status().message(), HasSubstr("options.sampler: alpha"));
  o = VecOptions();
  o.remover = GroupBalanced(VictimOrder::kLowestScore, "nope");
  EXPECT_THAT(Table::Create(o).status().message(), HasSubstr("score_column"));
  o = VecOptions();
  o.insertion = InsertionPolicy::kReservoir;
  o.remover = std::nullopt;
  EXPECT_THAT(Table::Create(o).status().message(), HasSubstr("needs a remover"));
  o = VecOptions();
  o.schema = Schema();
  EXPECT_THAT(Table::Create(o).status().message(), HasSubstr("no fields"));
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

// Scans `t` to the end in chunks of `chunk`; returns every item's first value, in scan order.
std::vector<float> ScanAll(Table& t, size_t chunk, std::vector<SampleBatch>* batches = nullptr) {
  std::vector<float> values;
  Table::ScanCursor cursor;
  while (!cursor.done) {
    SampleBatch out;
    auto n = t.Scan(&cursor, chunk, &out);
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok()) break;
    EXPECT_LE(*n, chunk);
    for (size_t i = 0; i < *n; ++i) values.push_back(FirstValue(out, i));
    if (batches != nullptr) batches->push_back(std::move(out));
  }
  return values;
}

TEST(TableScanTest, EveryLiveItemOnceWithItsMetadataAndScores) {
  auto t = MakeTable(VecOptions(1000));
  std::vector<Key> keys = InsertValues(*t, 0, 1000);
  std::vector<float> losses(1000);
  for (int i = 0; i < 1000; ++i) losses[i] = 0.5f * static_cast<float>(i);
  ASSERT_TRUE(t->UpdateScores("loss", keys, losses).ok());
  std::vector<double> priorities(1000);
  for (int i = 0; i < 1000; ++i) priorities[i] = 1.0 + i;
  ASSERT_TRUE(t->UpdatePriorities(keys, priorities).ok());
  std::vector<Key> gone;
  for (int i = 0; i < 1000; i += 3) gone.push_back(keys[i]);
  ASSERT_TRUE(t->Delete(gone).ok());
  SampleBatch sampled;
  ASSERT_TRUE(t->Sample({.batch_size = 10}, &sampled).ok());
  const uint64_t sampled_before = t->info().sampled;

  std::vector<SampleBatch> batches;
  const std::vector<float> values = ScanAll(*t, 64, &batches);
  ASSERT_EQ(values.size(), t->size());
  std::vector<float> expected;
  for (int i = 0; i < 1000; ++i) {
    if (i % 3 != 0) expected.push_back(static_cast<float>(i));
  }
  EXPECT_EQ(values, expected);  // slot order = insertion order here (no slot was reused)
  for (const SampleBatch& b : batches) {
    ASSERT_EQ(b.scores().size(), b.size());  // one score column
    EXPECT_TRUE(b.probabilities().empty());
    for (size_t i = 0; i < b.size(); ++i) {
      const int id = static_cast<int>(FirstValue(b, i));
      EXPECT_EQ(b.keys()[i], keys[id]);
      EXPECT_EQ(b.priorities()[i], 1.0 + id);
      EXPECT_EQ(b.scores()[i], 0.5f * static_cast<float>(id));
    }
  }
  // Not sampling: counters and times sampled unchanged.
  EXPECT_EQ(t->info().sampled, sampled_before);
  // A later Sample into a batch that held a scan has no scores.
  ASSERT_TRUE(t->Sample({.batch_size = 5}, &batches[0]).ok());
  EXPECT_TRUE(batches[0].scores().empty());
}

TEST(TableScanTest, EmptyTableIsDoneAtOnceAndBadArgumentsAreRefused) {
  auto t = MakeTable(VecOptions(10));
  Table::ScanCursor cursor;
  SampleBatch out;
  auto n = t->Scan(&cursor, 5, &out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(cursor.done);
  EXPECT_EQ(t->Scan(&cursor, 0, &out).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t->Scan(&cursor, size_t{1} << 40, &out).status().message(),
              HasSubstr("max_items must be in [1, 1048576]"));
  t->Close();
  EXPECT_EQ(t->Scan(&cursor, 5, &out).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TableScanTest, ASparseTableIsScannedInBoundedChunks) {
  auto t = MakeTable(VecOptions(10000));
  std::vector<Key> keys = InsertValues(*t, 0, 10000);
  std::vector<Key> gone(keys.begin(), keys.begin() + 9990);  // 10 left, at the end
  ASSERT_TRUE(t->Delete(gone).ok());
  Table::ScanCursor cursor;
  SampleBatch out;
  size_t calls = 0;
  size_t seen = 0;
  while (!cursor.done) {
    auto n = t->Scan(&cursor, 4, &out);  // looks at <= 64 slots a call
    ASSERT_TRUE(n.ok());
    seen += *n;
    ++calls;
  }
  EXPECT_EQ(seen, 10u);
  EXPECT_GE(calls, 10000u / 64);
}

}  // namespace
}  // namespace strata
