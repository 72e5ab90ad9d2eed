// The storage options of strata.Table (storage_dir=, dram_budget_bytes=, durability=, ...): one
// table, kStorageOptions, that checks Python values and writes them into TableOptions, and
// reads them back (Table.storage_options, the defaults in Table.__init__'s signature). Value
// names come from strata/option_names.h.
#ifndef STRATA_PYTHON_STORAGE_OPTIONS_H_
#define STRATA_PYTHON_STORAGE_OPTIONS_H_

#include <array>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "convert.h"
#include "strata/option_names.h"
#include "strata/options.h"

#pragma GCC visibility push(hidden)
namespace strata::python {

// Storage (SSD tier) options: Table(..., storage_dir=..., dram_budget_bytes=..., ...).
//
// One row per keyword in kStorageOptions: its name, how a Python value is checked and written into
// TableOptions (errors name the keyword), and how TableOptions reports it back (the defaults in
// Table.__init__'s signature, Table.storage_options). Another option (a sampling mode, placement
// policy, swap ratio or interval) is one row here, made with the helper for its kind (int,
// fraction, one of some names, path), plus its keyword in Table.__init__ and its line in
// _strata.pyi.

struct StorageOption {
  const char* name;
  void (*set)(const char* name, py::handle value, TableOptions* options);
  py::object (*get)(const TableOptions& options);
};

inline std::string TypeName(py::handle v) { return Str(py::type::of(v).attr("__name__")); }

// A message of the core about TableOptions fields ("options.max_items must be ...") in the names
// of strata.Table's arguments: `options.` dropped, and the one field whose argument has another
// name renamed (max_items: capacity).
inline std::string PythonOptionNames(std::string_view message) {
  static constexpr std::pair<std::string_view, std::string_view> kRenamed[] = {
      {"options.max_items", "capacity"}};
  std::string out(message);
  for (const auto& [cpp, python] : kRenamed) {
    for (size_t at; (at = out.find(cpp)) != std::string::npos;) out.replace(at, cpp.size(), python);
  }
  for (size_t at; (at = out.find("options.")) != std::string::npos;) out.erase(at, 8);
  return out;
}

// A Python int (or anything with __index__, e.g. a NumPy integer; not a float or a bool) that fits
// a uint64_t.
inline uint64_t ToU64(const char* name, py::handle v) {
  if (PyBool_Check(v.ptr()) || !PyIndex_Check(v.ptr())) {
    throw py::type_error(Cat(name, " must be an int, got ", TypeName(v)));
  }
  py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr()));
  if (!i) throw py::error_already_set();
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);  // NOLINT(runtime/int)
  if (x == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow < 0 || (overflow == 0 && x < 0)) {
    throw py::value_error(Cat(name, " must be >= 0, got ", Str(py::repr(v))));
  }
  const unsigned long long u = PyLong_AsUnsignedLongLong(i.ptr());     // NOLINT(runtime/int)
  if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {  // NOLINT(runtime/int)
    PyErr_Clear();
    throw py::value_error(Cat(name, " must be < 2**64, got ", Str(py::repr(v))));
  }
  return static_cast<uint64_t>(u);
}

template <uint64_t TableOptions::*M>
StorageOption U64Option(const char* name) {
  return {name, [](const char* n, py::handle v, TableOptions* o) { o->*M = ToU64(n, v); },
          [](const TableOptions& o) -> py::object { return py::int_(o.*M); }};
}

template <uint32_t TableOptions::*M>
StorageOption U32Option(const char* name) {
  return {name,
          [](const char* n, py::handle v, TableOptions* o) {
            const uint64_t x = ToU64(n, v);
            if (x > 0xFFFFFFFFu) {
              throw py::value_error(Cat(n, " must be < 2**32, got ", Str(py::repr(v))));
            }
            o->*M = static_cast<uint32_t>(x);
          },
          [](const TableOptions& o) -> py::object { return py::int_(o.*M); }};
}

template <bool TableOptions::*M>
StorageOption BoolOption(const char* name) {
  return {name,
          [](const char* n, py::handle v, TableOptions* o) {
            if (!PyBool_Check(v.ptr())) {
              throw py::type_error(Cat(n, " must be True or False, got ", TypeName(v)));
            }
            o->*M = v.ptr() == Py_True;
          },
          [](const TableOptions& o) -> py::object { return py::bool_(o.*M); }};
}

template <std::string TableOptions::*M>
StorageOption StringOption(const char* name) {
  return {name,
          [](const char* n, py::handle v, TableOptions* o) {
            if (!PyUnicode_Check(v.ptr())) {
              throw py::type_error(Cat(n, " must be a str, got ", TypeName(v)));
            }
            o->*M = v.cast<std::string>();
          },
          [](const TableOptions& o) -> py::object { return py::str(o.*M); }};
}

// A number in [0, 1].
template <double TableOptions::*M>
StorageOption FractionOption(const char* name) {
  return {name,
          [](const char* n, py::handle v, TableOptions* o) {
            if (PyBool_Check(v.ptr()) || !(PyFloat_Check(v.ptr()) || PyIndex_Check(v.ptr()))) {
              throw py::type_error(Cat(n, " must be a number in [0, 1], got ", TypeName(v)));
            }
            const double x = PyFloat_AsDouble(v.ptr());
            if (x == -1.0 && PyErr_Occurred()) throw py::error_already_set();
            if (!(x >= 0.0 && x <= 1.0)) {  // also NaN
              throw py::value_error(Cat(n, " must be in [0, 1], got ", Str(py::repr(v))));
            }
            o->*M = x;
          },
          [](const TableOptions& o) -> py::object { return py::float_(o.*M); }};
}

// One of the names strata/option_names.h gives the values of E.
template <auto M>
StorageOption NamesOption(const char* name) {
  using E = std::remove_cvref_t<decltype(std::declval<TableOptions>().*M)>;
  return {name,
          [](const char* n, py::handle v, TableOptions* o) {
            if (PyUnicode_Check(v.ptr())) {
              if (const std::optional<E> e = ParseName<E>(v.cast<std::string>())) {
                o->*M = *e;
                return;
              }
            }
            throw py::value_error(
                Cat(n, " must be one of ", AllNames<E>(), "; got ", Str(py::repr(v))));
          },
          [](const TableOptions& o) -> py::object { return py::str(std::string(NameOf(o.*M))); }};
}

// A directory: None (no storage: "") or a non-empty str, bytes or os.PathLike.
template <std::string TableOptions::*M>
StorageOption PathOption(const char* name) {
  return {name,
          [](const char* n, py::handle v, TableOptions* o) {
            if (v.is_none()) {
              o->*M = "";
              return;
            }
            py::object path = py::reinterpret_steal<py::object>(PyOS_FSPath(v.ptr()));
            if (!path) {
              PyErr_Clear();
              throw py::type_error(
                  Cat(n, " must be None, a str, bytes or an os.PathLike, got ", TypeName(v)));
            }
            if (PyUnicode_Check(path.ptr())) {
              path = py::reinterpret_steal<py::object>(PyUnicode_EncodeFSDefault(path.ptr()));
              if (!path) throw py::error_already_set();
            }
            std::string s = path.cast<std::string>();  // bytes
            if (s.empty()) throw py::value_error(Cat(n, " must not be empty (None: no storage)"));
            if (s.find('\0') != std::string::npos) {
              throw py::value_error(Cat(n, " must not contain a NUL character"));
            }
            o->*M = std::move(s);
          },
          [](const TableOptions& o) -> py::object {
            const std::string& s = o.*M;
            if (s.empty()) return py::none();
            PyObject* str =
                PyUnicode_DecodeFSDefaultAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
            if (str == nullptr) throw py::error_already_set();
            return py::reinterpret_steal<py::object>(str);
          }};
}

inline const std::array<StorageOption, 17> kStorageOptions = {
    PathOption<&TableOptions::storage_dir>("storage_dir"),
    U64Option<&TableOptions::dram_budget_bytes>("dram_budget_bytes"),
    U64Option<&TableOptions::max_dram_budget_bytes>("max_dram_budget_bytes"),
    U64Option<&TableOptions::storage_budget_bytes>("storage_budget_bytes"),
    NamesOption<&TableOptions::durability>("durability"),
    U64Option<&TableOptions::segment_bytes>("segment_bytes"),
    U64Option<&TableOptions::write_queue_items>("write_queue_items"),
    FractionOption<&TableOptions::compaction_live_ratio>("compaction_live_ratio"),
    U64Option<&TableOptions::compaction_bytes_per_second>("compaction_bytes_per_second"),
    BoolOption<&TableOptions::direct_io>("direct_io"),
    NamesOption<&TableOptions::tier_sampling>("tier_sampling"),
    NamesOption<&TableOptions::placement>("placement"),
    StringOption<&TableOptions::placement_score_column>("placement_score_column"),
    FractionOption<&TableOptions::swap_ratio>("swap_ratio"),
    U32Option<&TableOptions::swap_interval>("swap_interval"),
    NamesOption<&TableOptions::swap_policy>("swap_policy"),
    StringOption<&TableOptions::swap_score_column>("swap_score_column"),
};

// Writes the options `given` ({keyword: value}) into `*o`; TypeError for an unknown keyword.
inline void SetStorageOptions(const py::dict& given, TableOptions* o) {
  for (auto [key, value] : given) {
    const std::string name = Str(py::str(key));
    const StorageOption* row = nullptr;
    for (const StorageOption& r : kStorageOptions) {
      if (name == r.name) row = &r;
    }
    if (row == nullptr) {
      std::string names;
      for (const StorageOption& r : kStorageOptions)
        names += Cat(names.empty() ? "" : ", ", r.name);
      throw py::type_error(
          Cat("unknown storage option '", name, "'; the storage options are ", names));
    }
    row->set(row->name, value, o);
  }
}

// {keyword: value} of every storage option in `o`.
inline py::dict StorageOptionsDict(const TableOptions& o) {
  py::dict d;
  for (const StorageOption& r : kStorageOptions) d[r.name] = r.get(o);
  return d;
}

}  // namespace strata::python
#pragma GCC visibility pop

#endif  // STRATA_PYTHON_STORAGE_OPTIONS_H_
