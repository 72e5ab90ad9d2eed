// Conversions between Python objects and Strata's C++ types for strata._strata: the one table
// from status codes to exceptions, dtypes, timeouts, and the objects that carry results to Python
// (Buffer, BytesColumn, Batch) and option reprs. Included by the module's translation units
// (_strata.cc, bind_cl.cc), hence the inline definitions.
#ifndef STRATA_PYTHON_CONVERT_H_
#define STRATA_PYTHON_CONVERT_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "strata/batch.h"
#include "strata/dtype.h"
#include "strata/info_fields.h"
#include "strata/option_names.h"
#include "strata/options.h"
#include "strata/rate_limiter.h"
#include "strata/schema.h"
#include "strata/selector.h"
#include "strata/table.h"

namespace py = pybind11;

// Hidden, like pybind11's own namespace: these types hold py::objects, and nothing here is an
// exported symbol of the module.
#pragma GCC visibility push(hidden)
namespace strata::python {

static_assert(std::endian::native == std::endian::little, "byte-order checks assume little endian");

inline std::string Str(absl::string_view s) { return std::string(s.data(), s.size()); }
inline std::string Str(std::string_view s) { return std::string(s); }
inline std::string Str(const py::handle& o) { return py::str(o).cast<std::string>(); }

template <typename... Args>
inline std::string Cat(const Args&... args) {
  std::string out;
  ((out +=
    [](const auto& a) {
      if constexpr (std::is_arithmetic_v<std::decay_t<decltype(a)>>) {
        return std::to_string(a);
      } else {
        return std::string(a);
      }
    }(args)),
   ...);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Errors: the one table from status codes to exceptions.

// strata.ClosedError, strata.FullError and strata.StorageError, created at import and kept for
// the process's life.
inline PyObject* g_closed_error = nullptr;
inline PyObject* g_full_error = nullptr;
inline PyObject* g_storage_error = nullptr;  // subclass of OSError; see RaiseOpenStatus

inline PyObject* ExceptionFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return PyExc_ValueError;
    case absl::StatusCode::kNotFound:
      return PyExc_KeyError;
    case absl::StatusCode::kResourceExhausted:
      return g_full_error;  // subclass of MemoryError
    case absl::StatusCode::kDeadlineExceeded:
      return PyExc_TimeoutError;
    case absl::StatusCode::kDataLoss:
      return PyExc_OSError;
    case absl::StatusCode::kFailedPrecondition:  // the table is closed
    case absl::StatusCode::kCancelled:           // closed while the call waited
      return g_closed_error;                     // subclass of RuntimeError
    default:
      return PyExc_RuntimeError;
  }
}

// Raises the exception for `status` (not OK) with its message. `inserted_keys`, when given, is
// attached as the exception's `inserted_keys` attribute. Call with the GIL held.
[[noreturn]] inline void RaiseStatus(const absl::Status& status, py::handle inserted_keys = {}) {
  py::object type = py::reinterpret_borrow<py::object>(ExceptionFor(status.code()));
  py::object exc = type(Str(status.message()));
  if (inserted_keys) exc.attr("inserted_keys") = inserted_keys;
  PyErr_SetObject(type.ptr(), exc.ptr());
  throw py::error_already_set();
}

// Runs `call` (returning absl::Status) with the GIL released, then raises its error, if any.
// Call with the GIL held.
template <typename F>
void CallWithoutGil(F call) {
  absl::Status s;
  {
    py::gil_scoped_release release;
    s = call();
  }
  if (!s.ok()) RaiseStatus(s);
}

template <typename T>
T ValueOrRaise(absl::StatusOr<T> s) {
  if (!s.ok()) RaiseStatus(s.status());
  return *std::move(s);
}

// The exception for an error from Table::Create on a table with storage_dir. There is no table
// yet, so the codes do not mean what the table above says (FailedPrecondition is not "closed" but
// a directory locked by another open table, holding another schema, or of a newer format;
// NotFound is a missing path, not a key): every error but a bad option (InvalidArgument ->
// ValueError) raises strata.StorageError, an OSError, with the core's message (which names the
// directory or file). Call with the GIL held.
[[noreturn]] inline void RaiseOpenStatus(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInvalidArgument) RaiseStatus(status);
  PyErr_SetString(g_storage_error, Str(status.message()).c_str());
  throw py::error_already_set();
}

// Counters that let tests prove the zero-copy path: how often insert had to convert or copy an
// argument in Python/NumPy before handing pointers to the core.
inline std::atomic<uint64_t> g_converted{0};        // non-ndarray value converted with np.asarray
inline std::atomic<uint64_t> g_made_contiguous{0};  // ndarray copied by np.ascontiguousarray

// ---------------------------------------------------------------------------------------------
// dtypes

constexpr int kNumDTypes = 9;
constexpr std::array<DType, kNumDTypes> kAllDTypes = {DType::kBool, DType::kU8,  DType::kI8,
                                                      DType::kI16,  DType::kI32, DType::kI64,
                                                      DType::kF16,  DType::kF32, DType::kF64};
// np.dtype objects by DType, and numpy functions; created at import, never freed (they must
// outlive every table and batch, which may be destroyed during interpreter shutdown).
inline std::array<PyObject*, kNumDTypes>* g_np_dtypes = nullptr;
inline PyObject* g_np_asarray = nullptr;
inline PyObject* g_np_ascontiguousarray = nullptr;

inline py::dtype NumpyDType(DType d) {
  return py::reinterpret_borrow<py::dtype>((*g_np_dtypes)[static_cast<int>(d)]);
}

// The DType a NumPy dtype stores as, or nullopt for one Strata has no equivalent of.
inline std::optional<DType> FromNumpy(const py::dtype& dt) {
  for (int i = 0; i < kNumDTypes; ++i) {
    if (dt.ptr() == (*g_np_dtypes)[i]) return kAllDTypes[i];
  }
  if (dt.byteorder() == '>') return std::nullopt;
  switch (dt.kind()) {
    case 'b':
      if (dt.itemsize() == 1) return DType::kBool;
      break;
    case 'u':
      if (dt.itemsize() == 1) return DType::kU8;
      break;
    case 'i':
      switch (dt.itemsize()) {
        case 1:
          return DType::kI8;
        case 2:
          return DType::kI16;
        case 4:
          return DType::kI32;
        case 8:
          return DType::kI64;
      }
      break;
    case 'f':
      switch (dt.itemsize()) {
        case 2:
          return DType::kF16;
        case 4:
          return DType::kF32;
        case 8:
          return DType::kF64;
      }
      break;
  }
  return std::nullopt;
}

inline std::string ShapeString(const int64_t* dims, size_t n) {
  std::string s = "[";
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

// ---------------------------------------------------------------------------------------------
// Timeouts: None waits forever; a number of seconds (or a datetime.timedelta) >= 0; inf = None.

// The InterruptScope check of blocking calls (strata/interrupt.h): runs Python's signal handlers
// (called without the GIL, from a wait in the core); true when one raised, e.g. KeyboardInterrupt
// for Ctrl-C, which stays set for the caller to throw.
inline bool PendingSignal(void*) {
  py::gil_scoped_acquire gil;
  return PyErr_CheckSignals() != 0;
}

inline absl::Duration ParseTimeout(py::handle t) {
  if (t.is_none()) return absl::InfiniteDuration();
  double s;
  if (PyFloat_Check(t.ptr()) || PyLong_Check(t.ptr())) {  // the common case, without lookups
    s = PyFloat_AsDouble(t.ptr());
    if (s == -1.0 && PyErr_Occurred()) throw py::error_already_set();  // int too large
  } else if (py::hasattr(t, "total_seconds")) {                        // datetime.timedelta
    s = t.attr("total_seconds")().cast<double>();
  } else {
    s = PyFloat_AsDouble(t.ptr());  // anything with __float__
    if (s == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      throw py::type_error(Cat("timeout must be None, a number of seconds or a timedelta, got ",
                               Str(py::str(py::type::of(t)))));
    }
  }
  if (std::isnan(s) || s < 0) {
    throw py::value_error(Cat("timeout must be None or >= 0 seconds, got ", Str(py::repr(t))));
  }
  if (std::isinf(s)) return absl::InfiniteDuration();
  return absl::Seconds(s);
}

// ---------------------------------------------------------------------------------------------
// Arrays over C++ memory.

// strata._strata.Buffer: one reference to a strata::Buffer, the base object of the NumPy arrays
// that view it. Supports the buffer protocol (1-D uint8, writable: a sampled buffer belongs to
// its batch alone).
struct BufferRef {
  std::shared_ptr<Buffer> buffer;
};

// A weak reference to a strata::Buffer, for tests: `alive` turns False once C++ freed it.
struct BufferWatch {
  std::weak_ptr<Buffer> buffer;
};

inline py::array ViewBuffer(const std::shared_ptr<Buffer>& buffer, const py::dtype& dtype,
                            std::vector<py::ssize_t> shape) {
  py::object base = py::cast(BufferRef{buffer});
  return py::array(dtype, std::move(shape), static_cast<const void*>(buffer->data()), base);
}

// An array viewing `v` (owned by `owner`, which the array keeps alive).
template <typename T>
inline py::array ViewVector(const std::vector<T>& v, py::handle owner) {
  if (v.empty()) return py::array_t<T>(0);
  return py::array_t<T>({static_cast<py::ssize_t>(v.size())}, {sizeof(T)}, v.data(), owner);
}

template <typename T, typename U = T>
inline py::array CopyVector(const std::vector<U>& v) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
  T* out = a.mutable_data();
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<T>(v[i]);
  return a;
}

// strata.BytesColumn: the items of a variable-size bytes field, as a read-only sequence of
// `bytes` over the batch's packed buffer (item i is data[offsets[i]:offsets[i+1]]).
struct BytesColumn {
  std::shared_ptr<Buffer> data;
  std::shared_ptr<Buffer> offsets;  // n + 1 uint64
  size_t n = 0;

  const uint64_t* off() const { return reinterpret_cast<const uint64_t*>(offsets->data()); }
  py::bytes Item(py::ssize_t i) const {
    if (i < 0) i += static_cast<py::ssize_t>(n);
    if (i < 0 || i >= static_cast<py::ssize_t>(n))
      throw py::index_error("BytesColumn index out of range");
    const uint64_t* o = off();
    return py::bytes(reinterpret_cast<const char*>(data->data()) + o[i], o[i + 1] - o[i]);
  }
  py::list ToList() const {
    py::list out(n);
    for (size_t i = 0; i < n; ++i) out[i] = Item(static_cast<py::ssize_t>(i));
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// strata.Batch: the result of sample() and get().

struct PyBatch {
  std::unique_ptr<SampleBatch> batch;
  bool sampled = true;                     // false for get(): no probabilities or weights
  std::vector<int64_t> missing;            // get(): indices into the keys that were not found
  std::vector<std::string> score_columns;  // scan(): the names of batch->scores()' columns

  const FieldData* Find(std::string_view name) const { return batch->field(name); }
};

inline py::object FieldValue(const FieldData& f) {
  if (f.variable) {
    return py::cast(BytesColumn{f.data, f.offsets, static_cast<size_t>(f.shape[0])});
  }
  return ViewBuffer(f.data, NumpyDType(f.dtype),
                    std::vector<py::ssize_t>(f.shape.begin(), f.shape.end()));
}

inline std::string BatchRepr(const PyBatch& b) {
  std::string s = Cat("Batch(size=", b.batch->size(), ", fields={");
  for (size_t i = 0; i < b.batch->num_fields(); ++i) {
    const FieldData& f = b.batch->field(i);
    s += (i ? ", " : "") + f.name + ": " +
         (f.variable ? "bytes"
                     : Str(DTypeName(f.dtype)) + ShapeString(f.shape.data(), f.shape.size()));
  }
  return s + "})";
}

// ---------------------------------------------------------------------------------------------
// Options objects.

inline std::string KindName(SelectorKind k) { return std::string(NameOf(k)); }
inline std::string VictimName(VictimOrder v) { return std::string(NameOf(v)); }

inline std::string Num(double x) { return Str(py::repr(py::float_(x))); }

inline std::string SelectorRepr(const SelectorOptions& s) {
  switch (s.kind) {
    case SelectorKind::kUniform:
      return "Uniform()";
    case SelectorKind::kFifo:
      return "Fifo()";
    case SelectorKind::kLifo:
      return "Lifo()";
    case SelectorKind::kMinHeap:
      return "MinHeap()";
    case SelectorKind::kMaxHeap:
      return "MaxHeap()";
    case SelectorKind::kPrioritized:
      return Cat("Prioritized(alpha=", Num(s.alpha), ", beta=", Num(s.beta),
                 ", epsilon=", Num(s.epsilon), ", stratified=", s.stratified ? "True" : "False",
                 ")");
    case SelectorKind::kGroupBalanced:
      return Cat("GroupBalanced(victim_order='", VictimName(s.victim_order), "', score_column='",
                 s.score_column, "')");
  }
  return "Selector()";
}

inline std::string LimiterRepr(const RateLimiterOptions& r) {
  return Cat("RateLimiter(samples_per_insert=", Num(r.samples_per_insert),
             ", min_size_to_sample=", r.min_size_to_sample, ", min_diff=", Num(r.min_diff),
             ", max_diff=", Num(r.max_diff), ")");
}

// The stats dicts: every field of InfoFields<S> (include/strata/info_fields.h) by its name, in
// its order. A nested struct is a dict of its own, a RateLimiterOptions's fields join those of
// the struct holding it, TierInfo::groups is {group: (dram_items, items)}.
template <typename S>
py::dict StatsDict(const S& s);

// The Python type a field reads as, spelled as the stats dataclasses annotate it.
template <typename M>
constexpr std::string_view StatType() {
  if constexpr (std::is_same_v<M, bool>) {
    return "bool";
  } else if constexpr (std::is_integral_v<M>) {
    return "int";
  } else if constexpr (std::is_floating_point_v<M>) {
    return "float";
  } else if constexpr (std::is_same_v<M, std::string>) {
    return "str";
  } else if constexpr (std::is_same_v<M, std::vector<TierInfo::Group>>) {
    return "Mapping[int, Tuple[int, int]]";
  } else if constexpr (std::is_same_v<M, TableInfo>) {
    return "TableStats";
  } else if constexpr (std::is_same_v<M, RateLimiterInfo>) {
    return "RateLimiterStats";
  } else {
    static_assert(std::is_same_v<M, TierInfo>, "a stats field of a type Python cannot read");
    return "TierStats";
  }
}

template <typename M>
py::object StatValue(const M& v) {
  if constexpr (std::is_same_v<M, std::vector<TierInfo::Group>>) {
    py::dict groups;
    for (const TierInfo::Group& g : v) {
      groups[py::int_(g.group)] = py::make_tuple(g.dram_items, g.items);
    }
    return groups;
  } else if constexpr (std::is_class_v<M> && !std::is_same_v<M, std::string>) {
    return StatsDict(v);
  } else {
    return py::cast(v);
  }
}

// Calls fn(name, help, value) for each field of s as Python sees it.
template <typename S, typename Fn>
void ForEachStat(const S& s, const Fn& fn) {
  for (const InfoField<S>& f : InfoFields<S>::kAll) {
    std::visit(
        [&](auto member) {
          const auto& value = s.*member;
          if constexpr (std::is_same_v<std::decay_t<decltype(value)>, RateLimiterOptions>) {
            ForEachStat(value, fn);
          } else {
            fn(f.name, f.help, value);
          }
        },
        f.member);
  }
}

template <typename S>
py::dict StatsDict(const S& s) {
  py::dict d;
  ForEachStat(s, [&](std::string_view name, std::string_view, const auto& value) {
    d[py::str(name.data(), name.size())] = StatValue(value);
  });
  return d;
}

inline py::dict InfoDict(const TableInfo& i) { return StatsDict(i); }

// (dataclass, field, type, help) for every field of TableStats, RateLimiterStats and TierStats,
// in order: what those dataclasses must declare (tests/python/test_info_fields.py).
inline py::list StatsFields() {
  py::list out;
  auto add = [&]<typename S>(const S& s) {
    ForEachStat(s, [&](std::string_view name, std::string_view help, const auto& value) {
      out.append(
          py::make_tuple(StatType<S>(), name, StatType<std::decay_t<decltype(value)>>(), help));
    });
  };
  add(TableInfo{});
  add(RateLimiterInfo{});
  add(TierInfo{});
  return out;
}

}  // namespace strata::python
#pragma GCC visibility pop

#endif  // STRATA_PYTHON_CONVERT_H_
