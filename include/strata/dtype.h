// Element types of fixed-shape fields.
#ifndef STRATA_DTYPE_H_
#define STRATA_DTYPE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace strata {

// The element type of a fixed-shape field. f16 is stored as its 2 raw bytes (IEEE half); Strata
// never does arithmetic on payloads, so no conversion is involved.
enum class DType : uint8_t { kBool, kU8, kI8, kI16, kI32, kI64, kF16, kF32, kF64 };

// Bytes per element: 1 for bool/u8/i8, 2 for i16/f16, 4 for i32/f32, 8 for i64/f64.
size_t DTypeSize(DType dtype);

// Short lowercase name as NumPy spells it: "bool", "uint8", "int8", "int16", "int32", "int64",
// "float16", "float32", "float64".
std::string_view DTypeName(DType dtype);

// Parses a name as DTypeName writes it (also accepts "u8", "f32", ... short forms).
// InvalidArgument for an unknown name.
absl::StatusOr<DType> ParseDType(std::string_view name);

}  // namespace strata

#endif  // STRATA_DTYPE_H_
