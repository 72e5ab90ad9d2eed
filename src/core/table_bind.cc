// TableImpl: the batch binder — the only validation of an ItemBatch against the schema (field
// names, dtypes, shapes, batch sizes, priorities, scores, groups, tasks, item sizes). Insert
// binds first and changes nothing when binding fails.
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/table_impl.h"
#include "strata/status.h"

namespace strata::internal {
namespace {

std::string ShapeString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

std::string ExpectedShape(const FieldSpec& f) {
  std::string s = "[n";
  for (int64_t d : f.shape) absl::StrAppend(&s, ", ", d);
  return s + "]";
}

// What one item of `f` looks like, for callers that think in items rather than batches.
std::string ItemShape(const FieldSpec& f) {
  return f.shape.empty() ? "one item is a scalar"
                         : absl::StrCat("one item has shape ", ShapeString(f.shape));
}

std::string Items(int64_t n) { return absl::StrCat(n, n == 1 ? " item" : " items"); }

}  // namespace

absl::Status TableImpl::Bind(const ItemBatch& batch, BoundBatch* bound) const {
  const Schema& schema = options_.schema;
  const std::string& table = options_.name;
  bound->fields.assign(schema.num_fields(), BoundField{});
  absl::InlinedVector<bool, 8> seen(schema.num_fields(), false);
  int64_t n = -1;
  const std::string* n_field = nullptr;  // the entry that set n, for the error message
  for (const ItemBatch::Entry& e : batch.entries()) {
    const int idx = schema.FieldIndex(e.name);
    if (idx < 0) {
      std::vector<std::string> names;
      for (const FieldSpec& f : schema.fields()) names.push_back(f.name);
      return absl::InvalidArgumentError(absl::StrCat("table '", table, "': unknown field '", e.name,
                                                     "'; the schema has ",
                                                     absl::StrJoin(names, ", ")));
    }
    if (seen[idx]) {
      return absl::InvalidArgumentError(absl::StrCat("field '", e.name, "' is given twice"));
    }
    seen[idx] = true;
    const FieldSpec& spec = schema.field(idx);
    BoundField& bf = bound->fields[idx];
    int64_t m = 0;
    if (spec.variable != e.variable) {
      return absl::InvalidArgumentError(
          spec.variable
              ? absl::StrCat("field '", e.name, "' is a bytes field; pass it with AddBytes")
              : absl::StrCat("field '", e.name, "' is ", std::string(DTypeName(spec.dtype)),
                             ExpectedShape(spec), ", not a bytes field"));
    }
    if (!spec.variable) {
      if (e.dtype != spec.dtype) {
        return absl::InvalidArgumentError(absl::StrCat("field '", e.name, "': expected dtype ",
                                                       std::string(DTypeName(spec.dtype)), ", got ",
                                                       std::string(DTypeName(e.dtype))));
      }
      bool shape_ok = e.shape.size() == spec.shape.size() + 1 && e.shape[0] >= 0;
      for (size_t d = 0; shape_ok && d < spec.shape.size(); ++d) {
        shape_ok = e.shape[d + 1] == spec.shape[d];
      }
      if (!shape_ok) {
        return absl::InvalidArgumentError(
            absl::StrCat("field '", e.name, "': expected shape ", ExpectedShape(spec), ", got ",
                         ShapeString(e.shape), " (", ItemShape(spec), ")"));
      }
      m = e.shape[0];
      if (m > 0 && e.data == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("field '", e.name, "': data is null"));
      }
      bf.data = static_cast<const uint8_t*>(e.data);
    } else if (e.values.data() != nullptr || e.offsets.empty()) {
      m = static_cast<int64_t>(e.values.size());
      bf.values = e.values.data();
    } else {
      m = static_cast<int64_t>(e.offsets.size()) - 1;
      for (int64_t i = 0; i < m; ++i) {
        if (e.offsets[i + 1] < e.offsets[i]) {
          return absl::InvalidArgumentError(
              absl::StrCat("field '", e.name, "': offsets must be non-decreasing; offsets[", i + 1,
                           "] = ", e.offsets[i + 1], " < offsets[", i, "] = ", e.offsets[i]));
        }
      }
      if (m > 0 && e.data == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("field '", e.name, "': data is null"));
      }
      bf.bytes = static_cast<const char*>(e.data);
      bf.offsets = e.offsets.data();
    }
    if (n < 0) {
      n = m;
      n_field = &e.name;
    } else if (m != n) {
      return absl::InvalidArgumentError(absl::StrCat("field '", e.name, "' has ", Items(m),
                                                     " but field '", *n_field, "' has ", n));
    }
  }
  for (size_t f = 0; f < schema.num_fields(); ++f) {
    if (!seen[f]) {
      return absl::InvalidArgumentError(
          absl::StrCat("table '", table, "': missing field '", schema.field(f).name, "'"));
    }
  }
  bound->n = static_cast<size_t>(n);
  if (bound->n == 0) return absl::InvalidArgumentError("batch of 0 items");

  auto check_len = [&](size_t len, const char* what) -> absl::Status {
    if (len != 0 && len != bound->n) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has ", len, " entries for a batch of ", bound->n, " items"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check_len(batch.priorities().size(), "priorities"));
  RETURN_IF_ERROR(check_len(batch.groups().size(), "groups"));
  RETURN_IF_ERROR(check_len(batch.tasks().size(), "tasks"));
  for (size_t i = 0; i < batch.priorities().size(); ++i) {
    const double p = batch.priorities()[i];
    if (!(p >= 0) || std::isinf(p)) {
      return absl::InvalidArgumentError(
          absl::StrCat("priorities[", i, "] is ", p, "; priorities must be finite and >= 0"));
    }
  }
  bound->scores.assign(schema.score_columns().size(), nullptr);
  for (const ItemBatch::ScoreEntry& s : batch.scores()) {
    const int c = schema.ScoreIndex(s.name);
    if (c < 0) {
      const std::vector<std::string>& columns = schema.score_columns();
      return absl::InvalidArgumentError(
          absl::StrCat("unknown score column '", s.name, "'; the schema has ",
                       columns.empty() ? "none" : absl::StrJoin(columns, ", ")));
    }
    if (s.values.size() != bound->n) {
      return absl::InvalidArgumentError(absl::StrCat("score column '", s.name, "' has ",
                                                     s.values.size(), " entries for a batch of ",
                                                     bound->n, " items"));
    }
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (std::isnan(s.values[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("score column '", s.name, "'[", i, "] is NaN"));
      }
    }
    bound->scores[c] = s.values.data();
  }

  bound->priorities = batch.priorities();
  bound->groups = batch.groups();
  bound->tasks = batch.tasks();
  bound->total_bytes = 0;
  for (size_t i = 0; i < bound->n; ++i) {
    const uint64_t b = ItemBytes(*bound, i);
    if (options_.max_bytes != 0 && b > options_.max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("item ", i, " holds ", b,
                                                     " bytes, more than the table's max_bytes ",
                                                     options_.max_bytes));
    }
    if (tiered_ && b > max_dram_budget_) {
      return absl::InvalidArgumentError(absl::StrCat("item ", i, " holds ", b,
                                                     " bytes, more than the table's "
                                                     "max_dram_budget_bytes ",
                                                     max_dram_budget_));
    }
    bound->total_bytes += b;
  }
  return absl::OkStatus();
}

std::string_view TableImpl::ItemBytesField(const BoundBatch& b, size_t field, size_t i) const {
  const BoundField& bf = b.fields[field];
  if (bf.values != nullptr) return bf.values[i];
  return {bf.bytes + bf.offsets[i], static_cast<size_t>(bf.offsets[i + 1] - bf.offsets[i])};
}

uint64_t TableImpl::ItemBytes(const BoundBatch& b, size_t i) const {
  uint64_t bytes = options_.schema.fixed_row_bytes();
  if (options_.schema.has_variable_fields()) {
    for (size_t f = 0; f < options_.schema.num_fields(); ++f) {
      if (options_.schema.field(f).variable) bytes += ItemBytesField(b, f, i).size();
    }
  }
  return bytes;
}

}  // namespace strata::internal
