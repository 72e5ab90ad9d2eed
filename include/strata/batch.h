// Batches: what goes into a table (ItemBatch, a non-owning view of caller memory) and what comes
// out (SampleBatch, owned, reference-counted buffers ready to wrap as tensors).
#ifndef STRATA_BATCH_H_
#define STRATA_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "strata/dtype.h"

namespace strata {
namespace internal {
class BatchWriter;
}  // namespace internal

// A table's handle on one item: slot index (low 32 bits) and generation stamp (high 32 bits).
// The stamp changes whenever the slot's item is removed, so a key of an evicted or deleted item
// never matches the item that later reuses its slot. 0 is never a valid key.
using Key = uint64_t;
inline constexpr Key kNoKey = 0;

// n items to insert, as views of the caller's memory: for each field of the schema (any order),
// one array holding the n items' values back to back. Nothing is copied until Table::Insert,
// which copies into the table; the viewed memory must stay valid until Insert returns.
// Not thread-safe; cheap to build per call, and Clear() keeps its capacity for reuse.
class ItemBatch {
 public:
  // A fixed field: `shape` is [n, per-item dims...] and `data` holds prod(shape) values of
  // `dtype` in C order.
  ItemBatch& Add(std::string_view field, DType dtype, absl::Span<const int64_t> shape,
                 const void* data);
  ItemBatch& Add(std::string_view field, DType dtype, std::initializer_list<int64_t> shape,
                 const void* data) {
    return Add(field, dtype, absl::Span<const int64_t>(shape.begin(), shape.size()), data);
  }
  // A variable-size bytes field in packed form: item i is data[offsets[i], offsets[i+1]);
  // `offsets` has n + 1 entries, non-decreasing.
  ItemBatch& AddBytes(std::string_view field, const char* data, absl::Span<const uint64_t> offsets);
  // A variable-size bytes field, one view per item (the views' memory must outlive Insert).
  ItemBatch& AddBytes(std::string_view field, absl::Span<const std::string_view> values);

  // Optional per-item metadata; each span has n entries. Without priorities, new items get the
  // running maximum priority of the table (1.0 before any was set).
  ItemBatch& set_priorities(absl::Span<const double> p) {
    priorities_ = p;
    return *this;
  }
  ItemBatch& set_groups(absl::Span<const int32_t> g) {
    groups_ = g;
    return *this;
  }
  ItemBatch& set_tasks(absl::Span<const int32_t> t) {
    tasks_ = t;
    return *this;
  }
  // Initial values of a score column (default 0).
  ItemBatch& AddScores(std::string_view column, absl::Span<const float> values);

  void Clear();

  // The items from `first` on, viewing the same memory: what is left to insert after a partial
  // Table::Insert (one that timed out after inserting `first` items). Requires a batch whose
  // fields all hold more than `first` items (one Insert accepted).
  ItemBatch Tail(size_t first) const;

  // The internal view, read by Table::Insert.
  struct Entry {
    std::string name;
    bool variable = false;
    DType dtype = DType::kU8;
    absl::InlinedVector<int64_t, 4> shape;
    const void* data = nullptr;
    absl::Span<const uint64_t> offsets;
    absl::Span<const std::string_view> values;
  };
  struct ScoreEntry {
    std::string name;
    absl::Span<const float> values;
  };
  absl::Span<const Entry> entries() const { return {entries_.data(), num_entries_}; }
  const absl::InlinedVector<ScoreEntry, 2>& scores() const { return scores_; }
  absl::Span<const double> priorities() const { return priorities_; }
  absl::Span<const int32_t> groups() const { return groups_; }
  absl::Span<const int32_t> tasks() const { return tasks_; }

 private:
  // Entry& NextEntry(): reuses an entry left by Clear() (its name and shape storage too), so a
  // batch rebuilt per call allocates nothing; entries_[0, num_entries_) are live.
  Entry& NextEntry();
  absl::InlinedVector<Entry, 4> entries_;
  size_t num_entries_ = 0;
  absl::InlinedVector<ScoreEntry, 2> scores_;
  absl::Span<const double> priorities_;
  absl::Span<const int32_t> groups_;
  absl::Span<const int32_t> tasks_;
};

// A 64-byte-aligned block of bytes shared by reference count. Tables fill it, then hand it out
// immutable: any number of readers (C++ spans, NumPy arrays, torch tensors) may view it, and it is
// freed when the last reference goes.
class Buffer {
 public:
  static std::shared_ptr<Buffer> Allocate(size_t bytes);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  // Sets size() <= capacity() (used when a buffer is reused for a smaller batch).
  void set_size(size_t size) { size_ = size; }

 private:
  Buffer(uint8_t* data, size_t capacity) : data_(data), size_(capacity), capacity_(capacity) {}
  uint8_t* data_;
  size_t size_;
  size_t capacity_;
};

// One field of a SampleBatch. For fixed fields, `data` holds shape[0] items back to back, C
// order, of `dtype`. For variable fields, item i is data[offsets[i], offsets[i+1]) with `offsets`
// holding shape[0] + 1 uint64 values.
struct FieldData {
  std::string name;
  DType dtype = DType::kU8;
  bool variable = false;
  std::vector<int64_t> shape;  // [n, per-item dims...]
  std::shared_ptr<Buffer> data;
  std::shared_ptr<Buffer> offsets;

  template <typename T>
  absl::Span<const T> values() const {
    return {reinterpret_cast<const T*>(data->data()), data->size() / sizeof(T)};
  }
  std::string_view bytes(size_t i) const;  // variable fields: item i
};

// The result of Table::Sample (or Table::Get): n items, one contiguous array per field, plus
// their keys and metadata. Owns its memory; reuse one SampleBatch across calls to avoid
// allocation (a field buffer still referenced elsewhere is not overwritten: a new one is made).
// Not thread-safe.
class SampleBatch {
 public:
  size_t size() const { return keys_.size(); }
  const std::vector<Key>& keys() const { return keys_; }
  // Probability that one draw picks the item (Get: empty).
  const std::vector<double>& probabilities() const { return probabilities_; }
  // Importance weights, max 1 (Get: empty).
  const std::vector<double>& weights() const { return weights_; }
  const std::vector<double>& priorities() const { return priorities_; }
  const std::vector<int32_t>& groups() const { return groups_; }
  const std::vector<int32_t>& tasks() const { return tasks_; }
  // Times each item had been sampled, including this sample.
  const std::vector<uint32_t>& times_sampled() const { return times_sampled_; }
  // Table::Scan only: the score columns, item by item (size() x the schema's score columns, in
  // schema order); empty after Sample and Get.
  const std::vector<float>& scores() const { return scores_; }

  size_t num_fields() const { return fields_.size(); }
  const FieldData& field(size_t i) const { return fields_[i]; }
  // nullptr when there is no such field.
  const FieldData* field(std::string_view name) const;

 private:
  friend class internal::BatchWriter;
  std::vector<Key> keys_;
  std::vector<double> probabilities_;
  std::vector<double> weights_;
  std::vector<double> priorities_;
  std::vector<int32_t> groups_;
  std::vector<int32_t> tasks_;
  std::vector<uint32_t> times_sampled_;
  std::vector<float> scores_;
  std::vector<FieldData> fields_;
};

}  // namespace strata

#endif  // STRATA_BATCH_H_
