// Exact conversion for the binding: values that are not arrays of a Strata dtype (lists,
// scalars, tensors, and metadata arrays of another dtype) are read by NumPy as they are, checked
// to convert without loss, and only then cast. Nothing is silently truncated, wrapped or turned
// into inf. Included only by table_core.h (so only by _strata.cc).
#ifndef STRATA_PYTHON_EXACT_CONVERT_H_
#define STRATA_PYTHON_EXACT_CONVERT_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "convert.h"

#pragma GCC visibility push(hidden)
namespace strata::python {
// An IEEE half, given as its bits, as a double.
inline double HalfToDouble(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double v;
  if (exponent == 0) {
    v = std::ldexp(mantissa, -24);  // zero or subnormal
  } else if (exponent == 31) {
    v = mantissa != 0 ? std::numeric_limits<double>::quiet_NaN()
                      : std::numeric_limits<double>::infinity();
  } else {
    v = std::ldexp(mantissa | 0x400, exponent - 25);
  }
  return (h & 0x8000) != 0 ? -v : v;
}

// Whether converting `v` to `to` keeps it: exactly for bool and integer dtypes (1.5, NaN or 300
// into an int8 would be truncated or wrapped), within range for float dtypes (rounding to the
// nearest float is what a float field stores; a finite value turned into inf is not). `v` is an
// integer or a double.
template <typename T>
inline bool Representable(T v, DType to) {
  constexpr int kMaxF16 = 65504;
  if constexpr (std::is_floating_point_v<T>) {
    // [lo, hi + 1) with both bounds exact in a double, so that 2^63 is refused for int64.
    auto integral_in = [v](double lo, double hi_plus_one) {
      return std::isfinite(v) && v == std::trunc(v) && v >= lo && v < hi_plus_one;
    };
    switch (to) {
      case DType::kBool:
        return v == 0 || v == 1;
      case DType::kU8:
        return integral_in(0, 0x1p8);
      case DType::kI8:
        return integral_in(-0x1p7, 0x1p7);
      case DType::kI16:
        return integral_in(-0x1p15, 0x1p15);
      case DType::kI32:
        return integral_in(-0x1p31, 0x1p31);
      case DType::kI64:
        return integral_in(-0x1p63, 0x1p63);
      case DType::kF16:
        return !std::isfinite(v) || std::fabs(v) <= kMaxF16;
      case DType::kF32:
        return !std::isfinite(v) || std::fabs(v) <= std::numeric_limits<float>::max();
      case DType::kF64:
        return true;
    }
  } else {
    switch (to) {
      case DType::kBool:
        return v == 0 || v == 1;
      case DType::kU8:
        return std::in_range<uint8_t>(v);
      case DType::kI8:
        return std::in_range<int8_t>(v);
      case DType::kI16:
        return std::in_range<int16_t>(v);
      case DType::kI32:
        return std::in_range<int32_t>(v);
      case DType::kI64:
        return std::in_range<int64_t>(v);
      case DType::kF16:
        return std::cmp_less_equal(v, kMaxF16) && std::cmp_greater_equal(v, -kMaxF16);
      case DType::kF32:
      case DType::kF64:
        return true;
    }
  }
  return false;
}

// Whether `a`'s elements are numbers this file reads: native-order bool, integers of 1 to 8
// bytes, and float16/32/64 (not str, bytes, object, complex, longdouble, ...).
// A torch.Tensor as the NumPy array over its memory (detached, on the CPU): tensors follow
// exactly the rules of NumPy arrays (their own dtype and shape; a tensor that requires grad is
// detached, as a loss fed back is). Anything else comes back as it is. Never imports torch: a
// tensor exists only once the user imported it.
inline py::object TensorAsArray(py::handle value, const std::string& what) {
  static PyObject* modules = PyImport_GetModuleDict();  // sys.modules, borrowed
  PyObject* torch = PyDict_GetItemString(modules, "torch");
  if (torch == nullptr) return py::reinterpret_borrow<py::object>(value);
  py::object tensor_type = py::reinterpret_borrow<py::object>(torch).attr("Tensor");
  if (!py::isinstance(value, tensor_type)) return py::reinterpret_borrow<py::object>(value);
  try {
    return value.attr("detach")().attr("cpu")().attr("numpy")();
  } catch (py::error_already_set& e) {
    const std::string why = e.what();
    throw py::value_error(what + ": cannot read this tensor as an array (" +
                          why.substr(0, why.find('\n')) + ")");
  }
}

inline bool IsNumberArray(const py::array& a) {
  const py::dtype dt = a.dtype();
  if (dt.byteorder() == '>') return false;
  const auto size = dt.itemsize();
  switch (dt.kind()) {
    case 'b':
      return size == 1;
    case 'i':
    case 'u':
      return size == 1 || size == 2 || size == 4 || size == 8;
    case 'f':
      return size == 2 || size == 4 || size == 8;
    default:
      return false;
  }
}

// A null py::array (py::array() would allocate an empty float64 array).
inline py::array NoArray() { return py::reinterpret_steal<py::array>(py::handle()); }

// `value` as NumPy reads it, C-contiguous, with its own dtype (np.asarray(value) without a dtype,
// through the C API); an empty array when NumPy cannot read it or reads it as something other
// than numbers (IsNumberArray).
inline py::array NumberArray(py::handle value) {
  py::array a = py::array::ensure(value, py::array::c_style);
  if (a && !IsNumberArray(a)) return NoArray();
  return a;
}

// A float16 element as stored: its bits.
struct Half {
  uint16_t bits;
};

template <typename T>
inline int64_t FirstLossyOf(const void* data, size_t n, DType to) {
  const T* p = static_cast<const T*>(data);
  for (size_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, Half>) {
      if (!Representable(HalfToDouble(p[i].bits), to)) return static_cast<int64_t>(i);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!Representable(static_cast<double>(p[i]), to)) return static_cast<int64_t>(i);
    } else {
      if (!Representable(p[i], to)) return static_cast<int64_t>(i);
    }
  }
  return -1;
}

// The flat index of the first element of `a` (C-contiguous, IsNumberArray) that converting to
// `to` would change (see Representable), or -1 when every element converts exactly.
inline int64_t FirstLossy(const py::array& a, DType to) {
  if (to == DType::kF64) return -1;  // every element of a readable dtype fits a double
  const py::dtype dt = a.dtype();
  const void* d = a.data();
  const size_t n = static_cast<size_t>(a.size());
  switch (dt.kind()) {
    case 'b':
      return FirstLossyOf<uint8_t>(d, n, to);
    case 'i':
      switch (dt.itemsize()) {
        case 1:
          return FirstLossyOf<int8_t>(d, n, to);
        case 2:
          return FirstLossyOf<int16_t>(d, n, to);
        case 4:
          return FirstLossyOf<int32_t>(d, n, to);
        default:
          return FirstLossyOf<int64_t>(d, n, to);
      }
    case 'u':
      switch (dt.itemsize()) {
        case 1:
          return FirstLossyOf<uint8_t>(d, n, to);
        case 2:
          return FirstLossyOf<uint16_t>(d, n, to);
        case 4:
          return FirstLossyOf<uint32_t>(d, n, to);
        default:
          return FirstLossyOf<uint64_t>(d, n, to);
      }
    default:  // 'f'
      switch (dt.itemsize()) {
        case 2:
          return FirstLossyOf<Half>(d, n, to);
        case 4:
          return FirstLossyOf<float>(d, n, to);
        default:
          return FirstLossyOf<double>(d, n, to);
      }
  }
}

// "1.5" for a 0-d `a`, else "1.5 at [0, 3]": element `i` (flat) of `a`, for error messages.
inline std::string ElementString(const py::array& a, int64_t i) {
  std::string value = Str(py::repr(a.attr("flat")[py::int_(i)].attr("item")()));
  if (a.ndim() == 0) return value;
  std::vector<int64_t> index(static_cast<size_t>(a.ndim()));
  for (size_t d = index.size(); d-- > 0;) {
    index[d] = i % a.shape()[d];
    i /= a.shape()[d];
  }
  return value + " at " + ShapeString(index.data(), index.size());
}

// A new array of `count` copies of `v` (count 0: a 0-d array).
template <typename T>
inline py::array FilledArray(T v, int64_t count) {
  py::array_t<T> a = count > 0 ? py::array_t<T>(count) : py::array_t<T>(std::vector<py::ssize_t>{});
  std::fill(a.mutable_data(), a.mutable_data() + std::max<int64_t>(count, 1), v);
  return a;
}

// The common scalar argument, a Python float or int, checked (Representable) and written straight
// into a new array of `to` (see FilledArray), without NumPy reading it. NoArray() with *lossy set
// when it does not convert exactly; NoArray() for any other value and for float16, which take
// the general path (NumberArray, FirstLossy, CastTo).
inline py::array ScalarArray(py::handle obj, DType to, int64_t count, bool* lossy) {
  *lossy = false;
  if (to == DType::kF16) return NoArray();
  double d = 0;
  long long i = 0;
  bool is_int = false;
  if (PyFloat_CheckExact(obj.ptr())) {
    d = PyFloat_AS_DOUBLE(obj.ptr());
  } else if (PyLong_CheckExact(obj.ptr())) {
    int overflow = 0;
    i = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
    is_int = overflow == 0;
    if (!is_int) {  // beyond int64: only a float dtype can hold it
      if (to != DType::kF32 && to != DType::kF64) {
        *lossy = true;
        return NoArray();
      }
      d = PyLong_AsDouble(obj.ptr());
      if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
    }
  } else {
    return NoArray();
  }
  if (!(is_int ? Representable(static_cast<int64_t>(i), to) : Representable(d, to))) {
    *lossy = true;
    return NoArray();
  }
  auto fill = [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    return FilledArray<T>(is_int ? static_cast<T>(i) : static_cast<T>(d), count);
  };
  switch (to) {
    case DType::kBool:
      return fill(static_cast<bool*>(nullptr));
    case DType::kU8:
      return fill(static_cast<uint8_t*>(nullptr));
    case DType::kI8:
      return fill(static_cast<int8_t*>(nullptr));
    case DType::kI16:
      return fill(static_cast<int16_t*>(nullptr));
    case DType::kI32:
      return fill(static_cast<int32_t*>(nullptr));
    case DType::kI64:
      return fill(static_cast<int64_t*>(nullptr));
    case DType::kF32:
      return fill(static_cast<float*>(nullptr));
    case DType::kF64:
      return fill(static_cast<double*>(nullptr));
    case DType::kF16:
      break;
  }
  return NoArray();
}

// `a` (IsNumberArray, checked with FirstLossy) cast to `to`, C-contiguous: no copy when it is
// already of that dtype.
inline py::array CastTo(const py::array& a, DType to) {
  constexpr int kFlags = py::array::c_style | py::array::forcecast;
  py::array out = NoArray();
  switch (to) {
    case DType::kBool:
      out = py::array_t<bool, kFlags>::ensure(a);
      break;
    case DType::kU8:
      out = py::array_t<uint8_t, kFlags>::ensure(a);
      break;
    case DType::kI8:
      out = py::array_t<int8_t, kFlags>::ensure(a);
      break;
    case DType::kI16:
      out = py::array_t<int16_t, kFlags>::ensure(a);
      break;
    case DType::kI32:
      out = py::array_t<int32_t, kFlags>::ensure(a);
      break;
    case DType::kI64:
      out = py::array_t<int64_t, kFlags>::ensure(a);
      break;
    case DType::kF16:  // no C++ type for pybind11 to name: through np.asarray
      out = py::reinterpret_steal<py::array>(PyObject_CallFunctionObjArgs(
          g_np_asarray, a.ptr(), (*g_np_dtypes)[static_cast<int>(to)], nullptr));
      if (!out) throw py::error_already_set();
      break;
    case DType::kF32:
      out = py::array_t<float, kFlags>::ensure(a);
      break;
    case DType::kF64:
      out = py::array_t<double, kFlags>::ensure(a);
      break;
  }
  if (!out)
    throw py::value_error(Cat("cannot cast ", Str(py::str(a.dtype())), " to ", Str(DTypeName(to))));
  return out;
}

}  // namespace strata::python
#pragma GCC visibility pop

#endif  // STRATA_PYTHON_EXACT_CONVERT_H_
