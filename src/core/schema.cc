#include "strata/schema.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace strata {
namespace {

constexpr size_t kMaxNameBytes = 255;
constexpr size_t kMaxRowBytes = size_t{1} << 30;

absl::Status CheckName(const std::string& name, const char* what,
                       absl::flat_hash_set<std::string>* seen) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " name is empty"));
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " name '", name.substr(0, 32), "...' is longer than 255 bytes"));
  }
  if (!seen->insert(name).second) {
    return absl::InvalidArgumentError(
        absl::StrCat("name '", name, "' is used twice in the schema"));
  }
  return absl::OkStatus();
}

}  // namespace

size_t FieldSpec::row_bytes() const {
  if (variable) return 0;
  size_t elements = 1;
  for (int64_t d : shape) elements *= static_cast<size_t>(d);
  return elements * DTypeSize(dtype);
}

absl::StatusOr<Schema> Schema::Create(std::vector<FieldSpec> fields,
                                      std::vector<std::string> score_columns) {
  if (fields.empty()) return absl::InvalidArgumentError("schema has no fields");
  Schema schema;
  absl::flat_hash_set<std::string> seen;
  for (FieldSpec& f : fields) {
    if (auto s = CheckName(f.name, "field", &seen); !s.ok()) return s;
    if (f.compression != Compression::kNone && f.compression != Compression::kZstd) {
      return absl::InvalidArgumentError(absl::StrCat("field '", f.name, "': unknown compression ",
                                                     static_cast<int>(f.compression)));
    }
    schema.has_compression_ = schema.has_compression_ || f.compression != Compression::kNone;
    if (f.variable) {
      f.dtype = DType::kU8;
      f.shape.clear();
      schema.has_variable_ = true;
      continue;
    }
    size_t elements = 1;
    for (int64_t d : f.shape) {
      if (d < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("field '", f.name, "': every dimension must be >= 1, got ", d));
      }
      if (elements > kMaxRowBytes / static_cast<size_t>(d)) {
        return absl::InvalidArgumentError(
            absl::StrCat("field '", f.name, "': one item would exceed 1 GiB"));
      }
      elements *= static_cast<size_t>(d);
    }
    if (f.row_bytes() > kMaxRowBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("field '", f.name, "': one item would exceed 1 GiB"));
    }
    schema.fixed_row_bytes_ += f.row_bytes();
  }
  if (schema.has_compression_ && schema.has_variable_) {
    return absl::InvalidArgumentError(
        "compression is supported on fixed fields of schemas without bytes fields (a record's "
        "payload size must follow from the schema); drop the compression or the bytes fields");
  }
  for (const std::string& s : score_columns) {
    if (auto st = CheckName(s, "score column", &seen); !st.ok()) return st;
  }
  schema.fields_ = std::move(fields);
  schema.score_columns_ = std::move(score_columns);
  return schema;
}

Schema::Builder& Schema::Builder::Fixed(std::string name, DType dtype, std::vector<int64_t> shape,
                                        Compression compression) {
  fields_.push_back({.name = std::move(name),
                     .dtype = dtype,
                     .shape = std::move(shape),
                     .compression = compression});
  return *this;
}

Schema::Builder& Schema::Builder::Bytes(std::string name) {
  fields_.push_back({.name = std::move(name), .dtype = DType::kU8, .variable = true});
  return *this;
}

Schema::Builder& Schema::Builder::Score(std::string name) {
  scores_.push_back(std::move(name));
  return *this;
}

int Schema::FieldIndex(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Schema::ScoreIndex(std::string_view name) const {
  for (size_t i = 0; i < score_columns_.size(); ++i) {
    if (score_columns_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Schema::DebugString() const {
  std::string out = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    const FieldSpec& f = fields_[i];
    if (i) out += ", ";
    if (f.variable) {
      absl::StrAppend(&out, f.name, ": bytes");
    } else {
      absl::StrAppend(&out, f.name, ": ", std::string(DTypeName(f.dtype)), "[",
                      absl::StrJoin(f.shape, ","), "]",
                      f.compression == Compression::kZstd ? " zstd" : "");
    }
  }
  if (!score_columns_.empty()) {
    absl::StrAppend(&out, "; scores: ", absl::StrJoin(score_columns_, ", "));
  }
  out += "}";
  return out;
}

}  // namespace strata
