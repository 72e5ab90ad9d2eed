#include "strata/dtype.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace strata {

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kBool:
    case DType::kU8:
    case DType::kI8:
      return 1;
    case DType::kI16:
    case DType::kF16:
      return 2;
    case DType::kI32:
    case DType::kF32:
      return 4;
    case DType::kI64:
    case DType::kF64:
      return 8;
  }
  return 0;
}

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return "bool";
    case DType::kU8:
      return "uint8";
    case DType::kI8:
      return "int8";
    case DType::kI16:
      return "int16";
    case DType::kI32:
      return "int32";
    case DType::kI64:
      return "int64";
    case DType::kF16:
      return "float16";
    case DType::kF32:
      return "float32";
    case DType::kF64:
      return "float64";
  }
  return "unknown";
}

absl::StatusOr<DType> ParseDType(std::string_view name) {
  struct Alias {
    std::string_view name;
    DType dtype;
  };
  static constexpr Alias kAliases[] = {
      {"bool", DType::kBool},   {"uint8", DType::kU8},    {"u8", DType::kU8},
      {"int8", DType::kI8},     {"i8", DType::kI8},       {"int16", DType::kI16},
      {"i16", DType::kI16},     {"int32", DType::kI32},   {"i32", DType::kI32},
      {"int64", DType::kI64},   {"i64", DType::kI64},     {"float16", DType::kF16},
      {"f16", DType::kF16},     {"float32", DType::kF32}, {"f32", DType::kF32},
      {"float64", DType::kF64}, {"f64", DType::kF64}};
  for (const Alias& a : kAliases) {
    if (a.name == name) return a.dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown dtype '", std::string(name),
      "'; expected one of bool, uint8, int8, int16, int32, int64, float16, float32, float64"));
}

}  // namespace strata
