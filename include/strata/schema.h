// Schema: the named fields every item of a table has, and the table's score columns.
//
// A field is either fixed (a dtype and a per-item shape; every item holds exactly
// prod(shape) * DTypeSize(dtype) bytes) or variable (raw bytes, any length per item, for items of
// differing sizes such as encoded frames or episodes). Score columns are named float32 metadata
// per item (a loss, a forgetting score) that users update from training feedback and that
// score-aware selectors order by; they are not part of the payload.
//
// Immutable once built; safe to share between threads.
#ifndef STRATA_SCHEMA_H_
#define STRATA_SCHEMA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "strata/dtype.h"

namespace strata {

// How a fixed field is stored in a table's segment files (DRAM always holds it as is).
enum class Compression : uint8_t {
  kNone,
  kZstd,  // zstd (level 3) per item and field; decompressed outside the table lock on reads
};

struct FieldSpec {
  std::string name;
  DType dtype = DType::kF32;   // kU8 for variable fields
  std::vector<int64_t> shape;  // per item; {} is a scalar. Ignored for variable fields.
  bool variable = false;
  // On storage only. Fixed fields of schemas without bytes fields (for now).
  Compression compression = Compression::kNone;

  // Bytes one item holds in this field (0 for variable fields).
  size_t row_bytes() const;
};

class Schema {
 public:
  // Validates and builds. InvalidArgument when there are no fields, a name is empty, repeated
  // (across fields and score columns) or longer than 255 bytes, a dimension is < 1, one item
  // of a fixed field would exceed 1 GiB, or a field is compressed in a schema with bytes fields.
  static absl::StatusOr<Schema> Create(std::vector<FieldSpec> fields,
                                       std::vector<std::string> score_columns = {});

  // Fluent construction: Schema::Builder().Fixed("obs", DType::kF32, {87}).Bytes("frame")
  //                          .Score("loss").Build().
  class Builder {
   public:
    Builder& Fixed(std::string name, DType dtype, std::vector<int64_t> shape = {},
                   Compression compression = Compression::kNone);
    Builder& Bytes(std::string name);
    Builder& Score(std::string name);
    absl::StatusOr<Schema> Build() const { return Schema::Create(fields_, scores_); }

   private:
    std::vector<FieldSpec> fields_;
    std::vector<std::string> scores_;
  };

  Schema() = default;

  size_t num_fields() const { return fields_.size(); }
  const FieldSpec& field(size_t i) const { return fields_[i]; }
  const std::vector<FieldSpec>& fields() const { return fields_; }
  // Index of the field named `name`, or -1.
  int FieldIndex(std::string_view name) const;

  const std::vector<std::string>& score_columns() const { return score_columns_; }
  // Index of the score column named `name`, or -1.
  int ScoreIndex(std::string_view name) const;

  // Sum of row_bytes() over the fixed fields.
  size_t fixed_row_bytes() const { return fixed_row_bytes_; }
  bool has_variable_fields() const { return has_variable_; }
  // Whether any field is stored compressed.
  bool has_compression() const { return has_compression_; }

  // e.g. "{obs: float32[87], frame: bytes; scores: loss}"; a compressed field reads
  // "frames: uint8[16,64,64] zstd".
  std::string DebugString() const;

 private:
  std::vector<FieldSpec> fields_;
  std::vector<std::string> score_columns_;
  size_t fixed_row_bytes_ = 0;
  bool has_variable_ = false;
  bool has_compression_ = false;
};

}  // namespace strata

#endif  // STRATA_SCHEMA_H_
