// TableCore: a strata::Table plus what insert needs to turn a dict of Python values into an
// ItemBatch of pointers (no copy for C-contiguous arrays of the field's dtype), with the GIL
// released around every call into the table. Included only by _strata.cc.
#ifndef STRATA_PYTHON_TABLE_CORE_H_
#define STRATA_PYTHON_TABLE_CORE_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "convert.h"
#include "exact_convert.h"
#include "storage_options.h"
#include "strata/interrupt.h"
#include "strata/table.h"

// Hidden, like pybind11's own namespace: these types hold py::objects, and nothing here is an
// exported symbol of the module.
#pragma GCC visibility push(hidden)
namespace strata::python {

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// strata._strata.TableCore: a strata::Table plus the schema facts insert needs.

// Keeps Python objects and buffer views that back an ItemBatch alive until the insert returned.
// Destroyed with the GIL held (it is a local of the bound method, outliving the released block).
class Keepalive {
 public:
  ~Keepalive() {
    for (Py_buffer& b : buffers_) PyBuffer_Release(&b);
  }
  void Hold(py::object o) { objects_.push_back(std::move(o)); }
  // Exports `obj` as C-contiguous bytes; false (error cleared) if it has no such buffer.
  bool Export(py::handle obj, std::string_view* out) {
    if (PyBytes_Check(obj.ptr())) {  // immutable: a held reference is enough
      *out = std::string_view(PyBytes_AS_STRING(obj.ptr()), PyBytes_GET_SIZE(obj.ptr()));
      objects_.push_back(py::reinterpret_borrow<py::object>(obj));
      return true;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(obj.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) {
      PyErr_Clear();
      return false;
    }
    buffers_.push_back(view);  // released in the destructor; also pins bytearray sizes
    *out = std::string_view(static_cast<const char*>(view.buf), static_cast<size_t>(view.len));
    return true;
  }
  std::vector<std::string_view>* NewViews() {
    return views_.emplace_back(new std::vector<std::string_view>).get();
  }

 private:
  absl::InlinedVector<py::object, 4> objects_;  // inline: no allocation for small dicts
  std::vector<Py_buffer> buffers_;
  std::vector<std::unique_ptr<std::vector<std::string_view>>> views_;
};

struct FieldInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;  // per item
  bool variable;
};

// Constructed empty by __init__ (which cannot fail) and opened by _open (which can), so that a
// Python object whose construction raised is never a TableCore with a dangling state: every
// method of an unopened one raises RuntimeError.
class TableCore {
 public:
  // `storage`: {keyword: value} of storage options (kStorageOptions); those left out keep their
  // TableOptions defaults.
  void Open(std::string name, const Schema& schema, uint64_t capacity, uint64_t max_bytes,
            const SelectorOptions& sampler, std::optional<SelectorOptions> remover,
            const std::string& insertion, const RateLimiterOptions& rate_limiter,
            uint32_t max_times_sampled, uint64_t seed, const py::dict& storage) {
    if (table_ != nullptr) throw py::value_error("the table is already open");
    TableOptions o;
    o.name = std::move(name);
    o.schema = schema;
    o.max_items = capacity;
    o.max_bytes = max_bytes;
    o.sampler = sampler;
    o.remover = std::move(remover);
    const std::optional<InsertionPolicy> policy = ParseName<InsertionPolicy>(insertion);
    if (!policy) {
      throw py::value_error(
          Cat("insertion must be one of ", AllNames<InsertionPolicy>(), "; got '", insertion, "'"));
    }
    o.insertion = *policy;
    o.rate_limiter = rate_limiter;
    o.max_times_sampled = max_times_sampled;
    o.seed = seed;
    SetStorageOptions(storage, &o);
    const bool with_storage = !o.storage_dir.empty();
    absl::StatusOr<std::unique_ptr<Table>> t;
    {
      // Create sizes arrays for the capacity up front and, with storage, recovers the directory.
      py::gil_scoped_release release;
      t = Table::Create(std::move(o));
    }
    if (!t.ok()) {
      // The core names TableOptions fields ("options.max_items"); say the arguments' names.
      const absl::Status s(t.status().code(), PythonOptionNames(std::string(t.status().message())));
      if (with_storage) RaiseOpenStatus(s);
      RaiseStatus(s);
    }
    table_ = std::move(t).value();
    for (const FieldSpec& f : schema.fields()) {
      fields_.push_back({f.name, f.dtype, f.shape, f.variable});
    }
  }

  Table& table() {
    if (table_ == nullptr)
      throw py::type_error("Table.__init__ did not complete; this object is unusable");
    return *table_;
  }

  py::array Insert(py::handle item, py::handle priorities, py::handle groups, py::handle tasks,
                   py::handle scores, py::handle timeout_obj);
  // beta < 0: the sampler's configured beta.
  py::object Sample(int64_t batch_size, py::handle timeout_obj, bool replacement, double beta);
  py::object Get(py::handle keys_obj);
  // One chunk of Table::Scan from slot `cursor`: (Batch, next cursor, done).
  py::tuple Scan(uint64_t cursor, int64_t max_items);
  py::tuple Delete(py::handle keys_obj);
  py::tuple UpdatePriorities(py::handle keys_obj, py::handle priorities_obj);
  py::tuple UpdateScores(py::handle keys_obj, const py::dict& columns);

 private:
  int FieldIndex(std::string_view name) const {
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (fields_[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }

  std::unique_ptr<Table> table_;
  std::vector<FieldInfo> fields_;
};

// ---------------------------------------------------------------------------------------------
// Insert's arguments. Arrays go to the core with their own dtype and shape, and the core
// (TableImpl::Bind) is the one validation of the batch: a wrong dtype, shape, batch size, NaN
// priority or score gets its message. What is here is conversion only.
// (Exact conversion of values that are not arrays: exact_convert.h.)

// The item count of the first field given, for broadcasting scalar metadata over the batch
// (whether the fields agree is the core's check).
inline void NoteCount(int64_t* n, int64_t items) {
  if (*n < 0) *n = items;
}

// A value of field `f` that is not an ndarray (a list, a scalar, a tensor) as a C-contiguous
// array of the field's dtype. ValueError when NumPy cannot read it as numbers, or when a value
// would not convert exactly (Representable): nothing is silently truncated, wrapped or turned
// into inf.
inline py::array ConvertValue(const FieldInfo& f, py::handle value) {
  auto what = [&] {
    return Cat("field '", f.name, "': cannot convert ", TypeName(value), " to ",
               Str(DTypeName(f.dtype)));
  };
  bool lossy;
  py::array a = ScalarArray(value, f.dtype, 0, &lossy);
  if (lossy) throw py::value_error(Cat(what(), " without loss: ", Str(py::repr(value))));
  if (a) return a;
  a = NumberArray(value);
  if (a && FromNumpy(a.dtype()) == f.dtype) return a;
  if (!a) {  // NumPy's own reason, from the call NumberArray made without a message
    std::string why;
    try {
      py::array b = py::reinterpret_steal<py::array>(
          PyObject_CallFunctionObjArgs(g_np_asarray, value.ptr(), nullptr));
      if (!b) throw py::error_already_set();
      why = Cat("NumPy reads it as ", Str(py::str(b.dtype())),
                ", not as bool, integer or float values in native byte order");
    } catch (py::error_already_set& e) {
      why = e.what();
    }
    throw py::value_error(Cat(what(), ": ", why));
  }
  const int64_t bad = FirstLossy(a, f.dtype);
  if (bad >= 0) throw py::value_error(Cat(what(), " without loss: ", ElementString(a, bad)));
  return CastTo(a, f.dtype);
}

inline void AddFixed(const FieldInfo& f, py::handle value_in, ItemBatch* batch, Keepalive* keep,
                     int64_t* n) {
  const py::object held = TensorAsArray(value_in, Cat("field '", f.name, "'"));
  const py::handle value = held;
  py::array arr = NoArray();
  DType dtype = f.dtype;
  if (py::isinstance<py::array>(value)) {
    arr = py::reinterpret_borrow<py::array>(value);
    if (arr.dtype().ptr() != (*g_np_dtypes)[static_cast<int>(f.dtype)]) {
      // Passed as its own dtype: whether that is the field's is the core's check. Only a dtype
      // Strata has no name for cannot be described to it.
      const std::optional<DType> got = FromNumpy(arr.dtype());
      if (!got) {
        throw py::value_error(Cat("field '", f.name, "': expected dtype ", Str(DTypeName(f.dtype)),
                                  ", got ", Str(py::str(arr.dtype()))));
      }
      dtype = *got;
    }
  } else {
    arr = ConvertValue(f, value);
    ++g_converted;
  }
  if (!(arr.flags() & py::array::c_style)) {
    arr = py::reinterpret_steal<py::array>(
        PyObject_CallFunctionObjArgs(g_np_ascontiguousarray, arr.ptr(), nullptr));
    if (!arr) throw py::error_already_set();
    ++g_made_contiguous;
  }
  // Its own shape, except that one item (the field's per-item shape S) is a batch of 1, [1] + S.
  const size_t k = f.shape.size();
  const size_t nd = static_cast<size_t>(arr.ndim());
  bool single = nd == k;
  for (size_t d = 0; single && d < k; ++d) single = arr.shape()[d] == f.shape[d];
  absl::InlinedVector<int64_t, 6> shape;
  if (single) shape.push_back(1);
  shape.insert(shape.end(), arr.shape(), arr.shape() + nd);
  if (!shape.empty()) NoteCount(n, shape[0]);
  batch->Add(f.name, dtype, absl::MakeConstSpan(shape), arr.data());
  keep->Hold(std::move(arr));
}

inline void AddVariable(const FieldInfo& f, py::handle value, ItemBatch* batch, Keepalive* keep,
                        int64_t* n) {
  if (py::isinstance<BytesColumn>(value)) {  // packed form, zero-copy (e.g. a sampled column)
    const BytesColumn& c = value.cast<const BytesColumn&>();
    keep->Hold(py::reinterpret_borrow<py::object>(value));
    NoteCount(n, static_cast<int64_t>(c.n));
    batch->AddBytes(f.name, reinterpret_cast<const char*>(c.data->data()),
                    absl::MakeConstSpan(c.off(), c.n + 1));
    return;
  }
  std::vector<std::string_view>* views = keep->NewViews();
  if (PyUnicode_Check(value.ptr())) {
    throw py::value_error(Cat("field '", f.name, "' is a bytes field; got str (encode it first)"));
  }
  const bool is_seq = PyList_Check(value.ptr()) || PyTuple_Check(value.ptr());
  if (!is_seq) {
    std::string_view v;
    if (!keep->Export(value, &v)) {
      throw py::value_error(Cat("field '", f.name,
                                "' is a bytes field: expected bytes, a "
                                "C-contiguous bytes-like object, or a list of them; got ",
                                TypeName(value)));
    }
    views->push_back(v);
    NoteCount(n, 1);
  } else {
    // A private list: holds a reference to every item even if the caller's list changes while
    // the GIL is released.
    py::list items = py::reinterpret_steal<py::list>(PySequence_List(value.ptr()));
    if (!items) throw py::error_already_set();
    views->reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      std::string_view v;
      py::handle it = items[i];
      if (PyUnicode_Check(it.ptr()) || !keep->Export(it, &v)) {
        throw py::value_error(Cat("field '", f.name, "': item ", i, " is ", TypeName(it),
                                  ", expected bytes or a C-contiguous bytes-like object"));
      }
      views->push_back(v);
    }
    keep->Hold(std::move(items));
    NoteCount(n, static_cast<int64_t>(views->size()));
  }
  batch->AddBytes(f.name, absl::MakeConstSpan(*views));
}

// A 1-D contiguous array of T (double, float or int32_t) from a number (repeated `n` times) or
// an array-like of n values, converted exactly (see ConvertValue): groups=1.5 is refused, not
// truncated. Whether there are n values is the core's check.
template <typename T>
inline absl::Span<const T> MetaSpan(py::handle obj_in, const char* what, int64_t n,
                                    Keepalive* keep) {
  const py::object held = TensorAsArray(obj_in, what);
  const py::handle obj = held;
  static_assert(std::is_same_v<T, double> || std::is_same_v<T, float> ||
                std::is_same_v<T, int32_t>);
  constexpr DType kTo = std::is_same_v<T, double>  ? DType::kF64
                        : std::is_same_v<T, float> ? DType::kF32
                                                   : DType::kI32;
  auto lossy_error = [&](const std::string& value) {
    return py::value_error(Cat(what, ": cannot convert ", TypeName(obj), " to ",
                               Str(DTypeName(kTo)), " without loss: ", value));
  };
  bool lossy;
  if (py::array a = ScalarArray(obj, kTo, std::max<int64_t>(n, 1), &lossy)) {  // broadcast
    absl::Span<const T> s(static_cast<const T*>(a.data()), static_cast<size_t>(a.size()));
    keep->Hold(std::move(a));
    return s;
  }
  if (lossy) throw lossy_error(Str(py::repr(obj)));
  py::array natural = NumberArray(obj);
  if (!natural) {
    throw py::value_error(
        Cat(what, " must be a number or a 1-D array of numbers, got ", TypeName(obj)));
  }
  if (natural.ndim() > 1) {
    throw py::value_error(Cat(what, " must be 1-D, got ", natural.ndim(), " dimensions"));
  }
  if (FromNumpy(natural.dtype()) != kTo) {
    const int64_t bad = FirstLossy(natural, kTo);
    if (bad >= 0) throw lossy_error(ElementString(natural, bad));
  }
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(natural);
  if (!a)
    throw py::value_error(
        Cat(what, ": cannot convert ", TypeName(obj), " to ", Str(DTypeName(kTo))));
  if (a.ndim() == 0 && n > 1) {  // broadcast a scalar over the batch
    py::array_t<T> full(n);
    std::fill(full.mutable_data(), full.mutable_data() + n, *a.data());
    a = std::move(full);
  }
  absl::Span<const T> s(a.data(), static_cast<size_t>(a.size()));
  keep->Hold(std::move(a));
  return s;
}

// One key from a Python int or NumPy integer (not a bool or float); `where` names it in errors.
inline uint64_t KeyValue(py::handle item, const std::string& where) {
  if (PyBool_Check(item.ptr()) || !PyIndex_Check(item.ptr())) {
    throw py::type_error(
        Cat(where, " is ", TypeName(item), "; keys are integers (as insert returns them)"));
  }
  py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(item.ptr()));
  if (!index) throw py::error_already_set();
  const unsigned long long v = PyLong_AsUnsignedLongLong(index.ptr());
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error(Cat(where, " is ", Str(py::repr(item)), ", not a key (0 .. 2**64-1)"));
  }
  return v;
}

// Keys: an integer, a list or tuple of integers (each converted exactly: mixing Python ints and
// NumPy uint64 keys would make NumPy read the list as float64), or an integer array or tensor
// (uint64, or int64 as torch holds them). A float or bool is refused, never truncated into
// another item's key.
inline py::array_t<uint64_t> KeysArray(py::handle obj_in) {
  const py::object obj = TensorAsArray(obj_in, "keys");
  if (PyList_Check(obj.ptr()) || PyTuple_Check(obj.ptr())) {
    const py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
    py::array_t<uint64_t> out(static_cast<py::ssize_t>(seq.size()));
    uint64_t* p = out.mutable_data();
    for (size_t i = 0; i < seq.size(); ++i) p[i] = KeyValue(seq[i], Cat("keys[", i, "]"));
    return out;
  }
  if (!py::isinstance<py::array>(obj) && PyIndex_Check(obj.ptr())) {
    py::array_t<uint64_t> out(1);
    out.mutable_data()[0] = KeyValue(obj, "key");
    return out;
  }
  py::array natural = py::array::ensure(obj);
  if (!natural ||
      (natural.size() > 0 && natural.dtype().kind() != 'u' && natural.dtype().kind() != 'i')) {
    throw py::type_error(
        Cat("keys must be integer keys (as insert returns them), got ",
            natural ? Cat("an array of ", Str(py::str(natural.dtype()))) : TypeName(obj)));
  }
  auto a = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>::ensure(natural);
  if (!a) throw py::value_error("keys must be an integer or a 1-D array of integer keys");
  if (a.ndim() > 1) throw py::value_error(Cat("keys must be 1-D, got ", a.ndim(), " dimensions"));
  return a;
}

inline py::array TableCore::Insert(py::handle item, py::handle priorities, py::handle groups,
                                   py::handle tasks, py::handle scores, py::handle timeout_obj) {
  const absl::Duration timeout = ParseTimeout(timeout_obj);
  Keepalive keep;
  ItemBatch batch;
  int64_t n = -1;  // the first field's item count
  auto add = [&](std::string_view name, py::handle value) {
    const int idx = FieldIndex(name);
    if (idx < 0) {  // nothing to convert it to; the core names it and the schema's fields
      batch.Add(name, DType::kU8, absl::Span<const int64_t>(), nullptr);
      return;
    }
    const FieldInfo& f = fields_[idx];
    if (f.variable) {
      AddVariable(f, value, &batch, &keep, &n);
    } else {
      AddFixed(f, value, &batch, &keep, &n);
    }
  };
  if (PyDict_Check(item.ptr())) {  // the common case first
    PyObject* key;
    PyObject* value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(item.ptr(), &pos, &key, &value)) {
      Py_ssize_t len;
      const char* s = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &len) : nullptr;
      if (s == nullptr) {
        PyErr_Clear();
        throw py::type_error("field names must be str");
      }
      add(std::string_view(s, static_cast<size_t>(len)), value);
    }
  } else if (py::isinstance<PyBatch>(item)) {  // re-insert another batch's items (fields only)
    const PyBatch& b = item.cast<const PyBatch&>();
    keep.Hold(py::reinterpret_borrow<py::object>(item));
    for (size_t i = 0; i < b.batch->num_fields(); ++i) {
      const FieldData& f = b.batch->field(i);
      if (f.variable) {
        batch.AddBytes(f.name, reinterpret_cast<const char*>(f.data->data()),
                       absl::MakeConstSpan(reinterpret_cast<const uint64_t*>(f.offsets->data()),
                                           f.shape[0] + 1));
      } else {
        batch.Add(f.name, f.dtype, absl::MakeConstSpan(f.shape), f.data->data());
      }
    }
    n = static_cast<int64_t>(b.batch->size());
  } else if (py::hasattr(item, "items")) {  // any other Mapping
    for (py::handle kv : item.attr("items")()) {
      py::tuple t = py::reinterpret_borrow<py::tuple>(kv);
      add(t[0].cast<std::string>(), t[1]);
    }
  } else {
    throw py::type_error(
        Cat("insert expects a dict of field name -> value(s) or a Batch, got ", TypeName(item)));
  }
  if (!priorities.is_none())
    batch.set_priorities(MetaSpan<double>(priorities, "priorities", n, &keep));
  if (!groups.is_none()) batch.set_groups(MetaSpan<int32_t>(groups, "groups", n, &keep));
  if (!tasks.is_none()) batch.set_tasks(MetaSpan<int32_t>(tasks, "tasks", n, &keep));
  if (!scores.is_none()) {
    if (!PyDict_Check(scores.ptr()))
      throw py::type_error("scores must be a dict of column -> values");
    for (auto kv : py::reinterpret_borrow<py::dict>(scores)) {
      std::string column = kv.first.cast<std::string>();
      batch.AddScores(column, MetaSpan<float>(kv.second, "scores", n, &keep));
    }
  }

  std::vector<Key> keys;
  absl::Status status;
  InterruptScope ctrl_c(&PendingSignal, nullptr);
  {
    py::gil_scoped_release release;
    status = table().Insert(batch, &keys, timeout);
  }
  // Ctrl-C during a wait: KeyboardInterrupt; the items inserted before it stay in the table.
  if (ctrl_c.interrupted()) throw py::error_already_set();
  py::array out = CopyVector<uint64_t>(keys);
  if (!status.ok()) {
    const bool partial = status.code() == absl::StatusCode::kDeadlineExceeded ||
                         status.code() == absl::StatusCode::kCancelled;
    RaiseStatus(status, partial ? py::handle(out) : py::handle());
  }
  return out;
}

inline py::object TableCore::Sample(int64_t batch_size, py::handle timeout_obj, bool replacement,
                                    double beta) {
  if (batch_size < 1) throw py::value_error(Cat("batch_size must be >= 1, got ", batch_size));
  SampleOptions options{.batch_size = static_cast<size_t>(batch_size),
                        .replacement = replacement,
                        .timeout = ParseTimeout(timeout_obj),
                        .beta = beta};
  auto out = std::make_unique<SampleBatch>();
  absl::Status status;
  InterruptScope ctrl_c(&PendingSignal, nullptr);
  {
    py::gil_scoped_release release;
    status = table().Sample(options, out.get());
  }
  if (ctrl_c.interrupted()) throw py::error_already_set();  // KeyboardInterrupt; nothing sampled
  if (!status.ok()) RaiseStatus(status);
  return py::cast(PyBatch{std::move(out), true, {}});
}

inline py::object TableCore::Get(py::handle keys_obj) {
  py::array_t<uint64_t> keys = KeysArray(keys_obj);
  auto out = std::make_unique<SampleBatch>();
  std::vector<size_t> missing;
  absl::StatusOr<size_t> found;
  {
    py::gil_scoped_release release;
    found = table().Get(absl::MakeConstSpan(keys.data(), keys.size()), out.get(), &missing);
  }
  ValueOrRaise(std::move(found));
  return py::cast(
      PyBatch{std::move(out), false, std::vector<int64_t>(missing.begin(), missing.end())});
}

inline py::tuple TableCore::Scan(uint64_t cursor_slot, int64_t max_items) {
  if (max_items < 1) throw py::value_error(Cat("chunk must be >= 1, got ", max_items));
  Table::ScanCursor cursor{.next_slot = cursor_slot};
  auto out = std::make_unique<SampleBatch>();
  absl::StatusOr<size_t> n;
  {
    py::gil_scoped_release release;
    n = table().Scan(&cursor, static_cast<size_t>(max_items), out.get());
  }
  ValueOrRaise(std::move(n));
  PyBatch batch{std::move(out), false, {}};
  batch.score_columns = table().options().schema.score_columns();
  return py::make_tuple(py::cast(std::move(batch)), cursor.next_slot, cursor.done);
}

inline py::tuple TableCore::Delete(py::handle keys_obj) {
  py::array_t<uint64_t> keys = KeysArray(keys_obj);
  std::vector<size_t> missing;
  absl::StatusOr<size_t> removed;
  {
    py::gil_scoped_release release;
    removed = table().Delete(absl::MakeConstSpan(keys.data(), keys.size()), &missing);
  }
  const size_t n = ValueOrRaise(std::move(removed));
  return py::make_tuple(n, CopyVector<int64_t>(missing));
}

inline py::tuple TableCore::UpdatePriorities(py::handle keys_obj, py::handle priorities_obj) {
  py::array_t<uint64_t> keys = KeysArray(keys_obj);
  Keepalive keep;
  absl::Span<const double> p =
      MetaSpan<double>(priorities_obj, "priorities", static_cast<int64_t>(keys.size()), &keep);
  std::vector<size_t> missing;
  absl::StatusOr<size_t> applied;
  {
    py::gil_scoped_release release;
    applied = table().UpdatePriorities(absl::MakeConstSpan(keys.data(), keys.size()), p, &missing);
  }
  const size_t n = ValueOrRaise(std::move(applied));
  return py::make_tuple(n, CopyVector<int64_t>(missing));
}

inline py::tuple TableCore::UpdateScores(py::handle keys_obj, const py::dict& columns) {
  py::array_t<uint64_t> keys = KeysArray(keys_obj);
  // Conversion only (exact, or ValueError naming the column); the core checks the columns.
  Keepalive keep;
  std::vector<std::string> names;
  names.reserve(columns.size());
  std::vector<Table::ScoreUpdate> updates;
  for (auto kv : columns) {
    names.push_back(kv.first.cast<std::string>());
    updates.push_back(Table::ScoreUpdate{
        names.back(),
        MetaSpan<float>(kv.second, "scores", static_cast<int64_t>(keys.size()), &keep)});
  }
  std::vector<size_t> missing;
  absl::StatusOr<size_t> applied;
  {
    py::gil_scoped_release release;
    applied =
        table().UpdateScores(updates, absl::MakeConstSpan(keys.data(), keys.size()), &missing);
  }
  const size_t n = ValueOrRaise(std::move(applied));
  return py::make_tuple(n, CopyVector<int64_t>(missing));
}

}  // namespace strata::python
#pragma GCC visibility pop

#endif  // STRATA_PYTHON_TABLE_CORE_H_
