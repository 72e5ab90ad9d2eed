#include "strata/batch.h"

#include <cstdlib>
#include <new>

namespace strata {

ItemBatch::Entry& ItemBatch::NextEntry() {
  if (num_entries_ == entries_.size()) entries_.emplace_back();
  Entry& e = entries_[num_entries_++];
  e.offsets = {};
  e.values = {};
  e.data = nullptr;
  e.shape.clear();
  return e;
}

ItemBatch& ItemBatch::Add(std::string_view field, DType dtype, absl::Span<const int64_t> shape,
                          const void* data) {
  Entry& e = NextEntry();
  e.name.assign(field.data(), field.size());
  e.variable = false;
  e.dtype = dtype;
  e.shape.assign(shape.begin(), shape.end());
  e.data = data;
  return *this;
}

ItemBatch& ItemBatch::AddBytes(std::string_view field, const char* data,
                               absl::Span<const uint64_t> offsets) {
  Entry& e = NextEntry();
  e.name.assign(field.data(), field.size());
  e.variable = true;
  e.data = data;
  e.offsets = offsets;
  return *this;
}

ItemBatch& ItemBatch::AddBytes(std::string_view field, absl::Span<const std::string_view> values) {
  Entry& e = NextEntry();
  e.name.assign(field.data(), field.size());
  e.variable = true;
  e.values = values;
  return *this;
}

ItemBatch& ItemBatch::AddScores(std::string_view column, absl::Span<const float> values) {
  ScoreEntry& s = scores_.emplace_back();
  s.name.assign(column.data(), column.size());
  s.values = values;
  return *this;
}

ItemBatch ItemBatch::Tail(size_t first) const {
  auto tail = [first](auto span) { return span.empty() ? span : span.subspan(first); };
  ItemBatch out;
  for (const Entry& e : entries()) {
    Entry& t = out.NextEntry();
    t.name = e.name;
    t.variable = e.variable;
    t.dtype = e.dtype;
    if (e.variable) {
      t.data = e.data;  // packed offsets stay offsets into the same bytes
      t.offsets = tail(e.offsets);
      t.values = tail(e.values);
      continue;
    }
    size_t row_bytes = DTypeSize(e.dtype);
    for (size_t d = 1; d < e.shape.size(); ++d) row_bytes *= static_cast<size_t>(e.shape[d]);
    t.shape = e.shape;
    if (!t.shape.empty()) t.shape[0] -= static_cast<int64_t>(first);
    t.data = static_cast<const uint8_t*>(e.data) + first * row_bytes;
  }
  for (const ScoreEntry& s : scores_) out.scores_.push_back({s.name, tail(s.values)});
  out.priorities_ = tail(priorities_);
  out.groups_ = tail(groups_);
  out.tasks_ = tail(tasks_);
  return out;
}

void ItemBatch::Clear() {
  num_entries_ = 0;
  scores_.clear();
  priorities_ = {};
  groups_ = {};
  tasks_ = {};
}

std::shared_ptr<Buffer> Buffer::Allocate(size_t bytes) {
  // Cache-line aligned; page aligned from a page up, so that storage reads with O_DIRECT can
  // land in a batch directly. aligned_alloc wants a size that is a multiple of the alignment.
  const size_t align = bytes >= 4096 ? 4096 : 64;
  const size_t capacity = ((bytes == 0 ? 1 : bytes) + align - 1) / align * align;
  auto* data = static_cast<uint8_t*>(std::aligned_alloc(align, capacity));
  if (data == nullptr) throw std::bad_alloc();
  std::shared_ptr<Buffer> buffer(new Buffer(data, capacity));
  buffer->set_size(bytes);
  return buffer;
}

Buffer::~Buffer() { std::free(data_); }

std::string_view FieldData::bytes(size_t i) const {
  const auto* off = reinterpret_cast<const uint64_t*>(offsets->data());
  return {reinterpret_cast<const char*>(data->data()) + off[i],
          static_cast<size_t>(off[i + 1] - off[i])};
}

const FieldData* SampleBatch::field(std::string_view name) const {
  for (const FieldData& f : fields_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace strata
