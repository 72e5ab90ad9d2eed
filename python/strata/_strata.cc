// strata._strata: the pybind11 module behind the `strata` Python package (the continual-learning
// pieces are bound in bind_cl.cc).
//
// A thin layer over the public C++ API (include/strata/): it converts arguments, releases the GIL
// around every call into a table, and converts results. The Pythonic surface (Schema from a dict,
// Table's keyword constructor, stats dataclasses, context manager) lives in __init__.py.
//
// Ownership across the boundary:
//
//   insert(dict of arrays) ──pointers──> ItemBatch ──copy──> table      (no copy in Python for
//                                                                        C-contiguous arrays of
//                                                                        the field's dtype)
//   sample() ──> Batch ──owns──> SampleBatch ──shared_ptr──> strata::Buffer (one per field)
//                  │                                             ^
//                  └─ batch["obs"]: ndarray ──base──> Buffer (py) ┘  (each array holds its own
//                                                                    reference: the memory goes
//                                                                    when the Batch and the last
//                                                                    array viewing it are gone)
//
// GIL: every call that takes the table lock (and so may wait on it, on the rate limiter, or copy
// a large batch) runs inside py::gil_scoped_release. Python objects are touched only while the
// GIL is held; the py::objects that keep input memory alive outlive the released section.
// Exceptions are raised only after the GIL is re-acquired, through RaiseStatus (the one mapping
// table from absl status codes to Python exceptions; RaiseOpenStatus for the errors of creating a
// table with storage_dir, which raise strata.StorageError).
//
// Layout: convert.h (errors, dtypes, results), table_core.h (TableCore and insert's argument
// conversion), fastcall.h (vectorcall glue for insert and sample), this file (the module
// definition: classes, functions, docstrings). strata.Prefetcher (for strata.torch) is the core's
// strata::Prefetcher (include/strata/prefetcher.h).
#include <pybind11/pybind11.h>

#include "bind_batch.h"
#include "bind_cl.h"
#include "convert.h"
#include "fastcall.h"
#include "log_sink.h"
#include "strata/prefetcher.h"
#include "table_core.h"

using namespace strata;          // NOLINT: the module definition names many core types
using namespace strata::python;  // NOLINT

// insert and sample as vectorcall methods (see fastcall.h).
PyObject* FastInsert(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  return TranslateExceptions([&]() -> py::object {
    static constexpr std::array<const char*, 6> kNames = {"items", "priorities", "groups",
                                                          "tasks", "scores",     "timeout"};
    std::array<PyObject*, 6> a;
    ParseFastArgs("insert", args, nargs, kwnames, kNames, /*positional=*/1, /*required=*/1, &a);
    auto arg = [](PyObject* o) { return o == nullptr ? py::handle(Py_None) : py::handle(o); };
    TableCore& core = py::cast<TableCore&>(py::handle(self));
    return core.Insert(a[0], arg(a[1]), arg(a[2]), arg(a[3]), arg(a[4]), arg(a[5]));
  });
}

PyObject* FastSample(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  return TranslateExceptions([&]() -> py::object {
    static constexpr std::array<const char*, 4> kNames = {"batch_size", "timeout", "replacement",
                                                          "beta"};
    std::array<PyObject*, 4> a;
    ParseFastArgs("sample", args, nargs, kwnames, kNames, /*positional=*/1, /*required=*/1, &a);
    if (!PyIndex_Check(a[0])) {
      throw py::type_error("batch_size must be an int, got " +
                           Str(py::type::of(a[0]).attr("__name__")));
    }
    const Py_ssize_t batch_size = PyNumber_AsSsize_t(a[0], PyExc_OverflowError);
    if (batch_size == -1 && PyErr_Occurred()) throw py::error_already_set();
    bool replacement = true;
    if (a[2] != nullptr) {
      const int r = PyObject_IsTrue(a[2]);
      if (r < 0) throw py::error_already_set();
      replacement = r != 0;
    }
    double beta = -1;  // the sampler's own
    if (a[3] != nullptr && a[3] != Py_None) {
      beta = PyFloat_AsDouble(a[3]);
      if (beta == -1 && PyErr_Occurred()) throw py::error_already_set();
      if (beta < 0) throw py::value_error(Cat("beta must be >= 0, got ", beta));
    }
    TableCore& core = py::cast<TableCore&>(py::handle(self));
    return core.Sample(batch_size, a[1] == nullptr ? py::handle(Py_None) : py::handle(a[1]),
                       replacement, beta);
  });
}

const char kInsertDoc[] =
    "insert($self, items, *, priorities=None, groups=None, tasks=None, scores=None, "
    "timeout=None)\n--\n\n"
    R"doc(Inserts one item or a batch; returns their keys (uint64 array, 0 for an item the
reservoir policy dropped).

`items` maps every field name to its value(s): for a batch, arrays with a leading batch dimension
(and, for bytes fields, a list of bytes-like objects or a BytesColumn); for one item, values without
it (bytes-like for bytes fields). A Batch from sample()/get() can be re-inserted as is.
C-contiguous NumPy arrays of the field's dtype are passed to C++ without a copy; other arrays
must still have the field's dtype exactly (ValueError otherwise: nothing is silently narrowed) and
are made contiguous; non-array values (lists, scalars, tensors) are converted to the field's dtype
only when exact (ValueError naming the field for a value that would be truncated, wrapped or
overflow, e.g. 1.5 or 2**40 into an int32 field).
`priorities` (float64), `groups`, `tasks` (int32): one per item, or a scalar for all; without
priorities new items get the table's running maximum priority. `scores`: {column: values}.
Blocks while the rate limiter holds inserts back, up to `timeout` seconds (None: forever).

Raises ValueError (bad field, dtype, shape, NaN/negative priority, ...; nothing inserted),
FullError (full and remover=None), TimeoutError / ClosedError (timed out / closed while waiting:
the items admitted before stay inserted, their keys are in the exception's `inserted_keys`),
ClosedError (closed).)doc";
const char kSampleDoc[] =
    "sample($self, batch_size, *, timeout=None, replacement=True, beta=None)\n--\n\n"
    R"doc(Samples `batch_size` items with the table's sampler; returns a Batch.

With replacement (default) an item may appear several times; ordered samplers (Fifo, Lifo, heaps)
always return distinct items. Increments each item's times_sampled and removes items that reach
max_times_sampled. Blocks on the rate limiter up to `timeout` seconds (None: forever).
`beta` overrides a Prioritized sampler's importance-weight exponent for this call (e.g. annealed
from 0.4 to 1 over training); None uses the sampler's own.
Raises ValueError (batch_size < 1, beta < 0 or NaN, or more items than the table holds without replacement or
from an ordered sampler), TimeoutError, ClosedError.)doc";
// Prefetcher.next: waits with the GIL released, in slices so that Ctrl-C (a pending signal) is
// seen within kSignalCheck even when the timeout is None.
constexpr absl::Duration kSignalCheck = absl::Milliseconds(100);

py::object PrefetchNext(Prefetcher& p, py::handle timeout_obj) {
  const absl::Duration timeout = ParseTimeout(timeout_obj);
  const absl::Time deadline = absl::Now() + timeout;  // InfiniteFuture for None
  auto batch = std::make_unique<SampleBatch>();       // empty: Next swaps the popped batch into it
  for (;;) {
    const absl::Duration slice =
        std::max(std::min(deadline - absl::Now(), kSignalCheck), absl::ZeroDuration());
    absl::Status s;
    {
      py::gil_scoped_release release;
      s = p.Next(batch.get(), slice);
    }
    if (s.ok()) return py::cast(PyBatch{std::move(batch), true, {}});
    if (absl::IsOutOfRange(s)) throw py::stop_iteration();  // num_batches delivered
    if (!absl::IsDeadlineExceeded(s)) RaiseStatus(s);
    if (absl::Now() >= deadline) {
      RaiseStatus(absl::DeadlineExceededError(
          Cat("prefetch: no batch within ", absl::FormatDuration(timeout))));
    }
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
}

const char kPrefetcherDoc[] =
    R"doc(Prefetcher(table, batch_size, *, prefetch=2, threads=1, replacement=True, num_batches=0)

C++ threads that sample batches of `batch_size` from `table` ahead of the consumer into a bounded
queue: at most `prefetch` batches are queued or being sampled at any time. `next()` pops the
oldest with the GIL released while it waits; no Python thread is involved. Stops after
`num_batches` batches (0: never). Batches are the same Batch objects as Table.sample() returns
(zero-copy NumPy arrays); with several threads their order is the order they finished in.

Prefetching samples ahead: up to `prefetch` batches are taken from the table (counted by its rate
limiter, times_sampled and max_times_sampled) before the consumer asks for them, and are dropped
by close(). Workers wait on the table's rate limiter with no time limit; `next(timeout)` bounds
the consumer's wait instead.

The first error a worker gets from the table (ClosedError when the table is closed, ValueError
for a batch larger than the table without replacement) stops every worker and is raised by
next() after the batches queued before it, then by every later call. close() (or leaving a
`with` block, or garbage collection) stops and joins the threads within about 20 ms, drops the
queued batches, and makes waiting and later next() calls raise ClosedError. The prefetcher
keeps `table` alive. Thread-safe.

Raises ValueError for batch_size, prefetch or threads < 1.)doc";

PyMethodDef g_insert_def = {
    "insert", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&FastInsert)),
    METH_FASTCALL | METH_KEYWORDS, kInsertDoc};
PyMethodDef g_sample_def = {
    "sample", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&FastSample)),
    METH_FASTCALL | METH_KEYWORDS, kSampleDoc};

PYBIND11_MODULE(_strata, m) {
  m.doc() = "Strata's C++ core, bound with pybind11. Use the `strata` package, not this module.";

  py::module_ np = py::module_::import("numpy");
  g_np_dtypes = new std::array<PyObject*, kNumDTypes>;
  for (int i = 0; i < kNumDTypes; ++i) {
    (*g_np_dtypes)[i] = py::dtype(Str(DTypeName(kAllDTypes[i]))).release().ptr();
  }
  g_np_asarray = py::object(np.attr("asarray")).release().ptr();
  g_np_ascontiguousarray = py::object(np.attr("ascontiguousarray")).release().ptr();

  g_closed_error = PyErr_NewExceptionWithDoc(
      "strata.ClosedError",
      "The table is closed (also raised in a call that was waiting when close() was called).",
      PyExc_RuntimeError, nullptr);
  g_full_error = PyErr_NewExceptionWithDoc(
      "strata.FullError", "The table is full and has no remover to make room (remover=None).",
      PyExc_MemoryError, nullptr);
  g_storage_error = PyErr_NewExceptionWithDoc(
      "strata.StorageError",
      "A table's storage_dir cannot be opened: it is locked by another open table (in this or\n"
      "another process), holds a table with another schema, was written by an unknown format\n"
      "version, or an I/O error occurred. The message names the directory or file.",
      PyExc_OSError, nullptr);
  m.attr("ClosedError") = py::handle(g_closed_error);
  m.attr("FullError") = py::handle(g_full_error);
  m.attr("StorageError") = py::handle(g_storage_error);

  // --- Schema
  py::class_<Schema>(m, "SchemaCore", "The validated C++ schema; build it through strata.Schema.")
      .def(py::init([](const std::vector<std::tuple<std::string, std::optional<std::string>,
                                                    std::vector<int64_t>, std::string>>& fields,
                       const std::vector<std::string>& scores) {
             std::vector<FieldSpec> specs;
             for (const auto& [name, dtype, shape, compression] : fields) {
               FieldSpec f{.name = name, .shape = shape, .variable = !dtype.has_value()};
               const std::optional<Compression> c = ParseName<Compression>(compression);
               if (!c) {
                 throw py::value_error(Cat("field '", name, "': compression must be one of ",
                                           AllNames<Compression>(), ", got '", compression, "'"));
               }
               f.compression = *c;
               if (dtype) {
                 f.dtype = ValueOrRaise(ParseDType(*dtype));
               } else {
                 f.dtype = DType::kU8;
               }
               specs.push_back(std::move(f));
             }
             return ValueOrRaise(Schema::Create(std::move(specs), scores));
           }),
           py::arg("fields"), py::arg("scores"))
      .def_property_readonly(
          "fields",
          [](const Schema& s) {
            py::list out;
            for (const FieldSpec& f : s.fields()) {
              py::object dt = f.variable ? py::object(py::none()) : py::object(NumpyDType(f.dtype));
              out.append(py::make_tuple(f.name, dt, py::tuple(py::cast(f.shape)), f.variable,
                                        std::string(NameOf(f.compression))));
            }
            return out;
          })
      .def_property_readonly("scores", [](const Schema& s) { return s.score_columns(); })
      .def_property_readonly("fixed_row_bytes", &Schema::fixed_row_bytes,
                             "Payload bytes of an item's fixed fields (what DRAM budgets count).")
      .def("__str__", &Schema::DebugString);

  // --- Selectors
  py::class_<SelectorOptions>(m, "Selector",
                              "Options of a selector (a table's sampler or remover). Immutable; "
                              "make one with Uniform(), Prioritized(), Fifo(), Lifo(), MinHeap(), "
                              "MaxHeap() or GroupBalanced().")
      .def_property_readonly("kind", [](const SelectorOptions& s) { return KindName(s.kind); })
      .def_readonly("alpha", &SelectorOptions::alpha)
      .def_readonly("beta", &SelectorOptions::beta)
      .def_readonly("epsilon", &SelectorOptions::epsilon)
      .def_readonly("stratified", &SelectorOptions::stratified)
      .def_property_readonly("victim_order",
                             [](const SelectorOptions& s) { return VictimName(s.victim_order); })
      .def_readonly("score_column", &SelectorOptions::score_column)
      .def("__repr__", &SelectorRepr)
      .def("__eq__", [](const SelectorOptions& a,
                        const SelectorOptions& b) { return SelectorRepr(a) == SelectorRepr(b); })
      .def("__hash__", [](const SelectorOptions& s) { return py::hash(py::str(SelectorRepr(s))); });

  m.def("Uniform", &Uniform,
        "Every live item equally likely. Sampler, or remover (random eviction).");
  m.def("Prioritized", &Prioritized, py::arg("alpha") = 0.6, py::arg("beta") = 0.4,
        py::arg("epsilon") = 1e-6, py::arg("stratified") = false,
        "Prioritized sampler: P(i) = (p_i + epsilon)^alpha / sum_j (p_j + epsilon)^alpha "
        "(sum-tree).\n"
        "Importance weights (N * P(i))^-beta / max_j (N * P(j))^-beta lie in (0, 1]. `stratified`\n"
        "splits each batch into equal-mass strata (lower variance). Table creation raises\n"
        "ValueError for alpha < 0, beta < 0 or epsilon <= 0.");
  m.def("Fifo", &Fifo, "Oldest first: the default remover, or a sampler for queues.");
  m.def("Lifo", &Lifo, "Newest first: a sampler for stacks.");
  m.def("MinHeap", &MinHeap,
        "Lowest priority first (ties: oldest): a remover of the least useful items.");
  m.def("MaxHeap", &MaxHeap, "Highest priority first (ties: oldest): a sampler of the top items.");
  m.def(
      "GroupBalanced",
      [](const std::string& victim_order, const std::string& score_column) {
        VictimOrder v;
        if (victim_order == "oldest") {
          v = VictimOrder::kOldest;
        } else if (victim_order == "random") {
          v = VictimOrder::kRandom;
        } else if (victim_order == "lowest_score") {
          v = VictimOrder::kLowestScore;
        } else {
          throw py::value_error(
              Cat("victim_order must be 'oldest', 'random' or 'lowest_score', got '", victim_order,
                  "'"));
        }
        return GroupBalanced(v, score_column);
      },
      py::arg("victim_order") = "oldest", py::arg("score_column") = "",
      "Per-group quotas over the groups seen so far (class-balanced memory). As a remover it "
      "evicts\n"
      "from the largest group its oldest item, a random one, or the one with the lowest value in\n"
      "`score_column` (victim_order='lowest_score'; a score column of the schema).");

  // --- Rate limiters
  py::class_<RateLimiterOptions>(
      m, "RateLimiter",
      "Rate limiter options: how a table paces inserts against samples. The limiter keeps\n"
      "diff = inserts * samples_per_insert - samples; a sample waits until the table holds\n"
      "min_size_to_sample items and diff - 1 >= min_diff, an insert while\n"
      "diff + samples_per_insert > max_diff. Immutable; see MinSize, SampleToInsertRatio, Queue, "
      "Stack.")
      .def(py::init([](double spi, int64_t min_size, double min_diff, double max_diff) {
             return RateLimiterOptions{spi, min_size, min_diff, max_diff};
           }),
           py::arg("samples_per_insert") = 1.0, py::arg("min_size_to_sample") = 1,
           py::arg("min_diff") = -std::numeric_limits<double>::infinity(),
           py::arg("max_diff") = std::numeric_limits<double>::infinity())
      .def_readonly("samples_per_insert", &RateLimiterOptions::samples_per_insert)
      .def_readonly("min_size_to_sample", &RateLimiterOptions::min_size_to_sample)
      .def_readonly("min_diff", &RateLimiterOptions::min_diff)
      .def_readonly("max_diff", &RateLimiterOptions::max_diff)
      .def("__repr__", &LimiterRepr)
      .def("__eq__", [](const RateLimiterOptions& a,
                        const RateLimiterOptions& b) { return LimiterRepr(a) == LimiterRepr(b); })
      .def("__hash__",
           [](const RateLimiterOptions& r) { return py::hash(py::str(LimiterRepr(r))); });
  m.def("MinSize", &MinSize, py::arg("min_size"),
        "Sampling waits until the table holds `min_size` items; no other pacing.");
  m.def(
      "SampleToInsertRatio", &SampleToInsertRatio, py::arg("samples_per_insert"),
      py::arg("min_size_to_sample"), py::arg("error_buffer"),
      "Each insert pays for `samples_per_insert` sampled items on average, within +-error_buffer\n"
      "(as in Reverb); sampling waits for `min_size_to_sample` items.");
  m.def("Queue", &Queue, py::arg("max_size"),
        "A bounded queue: inserts wait while `max_size` items are unsampled. Pair with "
        "sampler=Fifo(),\n"
        "remover=Fifo() and max_times_sampled=1.");
  m.def("Stack", &Stack, py::arg("max_size"), "As Queue; pair it with sampler=Lifo() for a stack.");

  BindBatch(m);

  // --- Table
  py::class_<TableCore>(m, "TableCore", "The C++ table behind strata.Table.")
      .def(py::init<>())
      .def("_open", &TableCore::Open, py::arg("name"), py::arg("schema"), py::arg("capacity"),
           py::arg("max_bytes"), py::arg("sampler"), py::arg("remover").none(true),
           py::arg("insertion"), py::arg("rate_limiter"), py::arg("max_times_sampled"),
           py::arg("seed"), py::arg("storage"))
      .def("get", &TableCore::Get, py::arg("keys"),
           "Copies the items with `keys` (in order, skipping stale or unknown keys, whose indices "
           "go "
           "to batch.missing) into a Batch. Does not count as sampling. Raises ClosedError.")
      .def("_scan", &TableCore::Scan, py::arg("cursor"), py::arg("max_items"),
           "One chunk of Table.scan(): (batch, next cursor, done).")
      .def("delete", &TableCore::Delete, py::arg("keys"),
           "Removes the items with `keys`; returns (removed, missing indices).")
      .def("update_priorities", &TableCore::UpdatePriorities, py::arg("keys"),
           py::arg("priorities"),
           "Sets priorities; returns (applied, missing indices). Stale keys are never applied to "
           "the "
           "item that reused their slot. ValueError (nothing applied) on NaN/inf/negative "
           "priorities "
           "or a length mismatch.")
      .def("_update_scores", &TableCore::UpdateScores, py::arg("keys"), py::arg("columns"))
      .def(
          "set_rate_limiter",
          [](TableCore& t, const RateLimiterOptions& o) {
            CallWithoutGil([&] { return t.table().SetRateLimiter(o); });
          },
          py::arg("rate_limiter"),
          "Replaces the rate limiter's options on the live table, keeping its counters; blocked "
          "callers re-check at once. ValueError (no change) if invalid; ClosedError.")
      .def(
          "delete_task",
          [](TableCore& t, int32_t task) {
            absl::StatusOr<size_t> n;
            {
              py::gil_scoped_release release;
              n = t.table().DeleteTask(task);
            }
            if (!n.ok()) RaiseStatus(n.status());
            return *n;
          },
          py::arg("task"),
          "Removes every item inserted with this task id (insert(..., tasks=...)); returns the "
          "number removed. O(capacity). ClosedError when closed.")
      .def(
          "resize",
          [](TableCore& t, uint64_t capacity, uint64_t dram_budget_bytes) {
            CallWithoutGil([&] { return t.table().Resize(capacity, dram_budget_bytes); });
          },
          py::arg("capacity"), py::kw_only(), py::arg("dram_budget_bytes") = 0,
          "Changes the live limits. capacity: in [1, the capacity the table was created with]; "
          "below len(), the remover evicts down to it (ValueError without a remover). "
          "dram_budget_bytes (tables with storage; 0 keeps it): up to "
          "max_dram_budget_bytes; shrinking drops DRAM copies in placement order, growing refills "
          "DRAM from storage in the background (placement='group_balanced': the classes with the "
          "fewest copies first). ValueError (no change) when out of range.")
      .def(
          "set_swap",
          [](TableCore& t, double ratio, uint32_t interval) {
            CallWithoutGil([&] { return t.table().SetSwap(ratio, interval); });
          },
          py::arg("ratio"), py::arg("interval") = 1,
          "tier_sampling='resident': sets swap_ratio (0..1) and swap_interval (>= 1 batches) on "
          "the live table; the next sampled batch uses them. ValueError if out of range or for "
          "other tables.")
      .def(
          "checkpoint",
          [](TableCore& t) { CallWithoutGil([&] { return t.table().Checkpoint(); }); },
          "Tables with storage_dir: writes every queued item, then a checkpoint of the metadata\n"
          "(priorities, scores, counters), so that reopening the directory restores exactly this\n"
          "state. Blocks on the disk (the GIL is released). Also done by close(). Does nothing\n"
          "without storage or with durability='none'. Raises the table's storage error, if a\n"
          "write failed (OSError, FullError for a full device, RuntimeError).")
      .def(
          "close",
          [](TableCore& t) {
            py::gil_scoped_release release;
            t.table().Close();
          },
          "Closes the table: blocked calls raise ClosedError, later calls too (len() and stats() "
          "still work). Idempotent.")
      .def("__len__",
           [](TableCore& t) {
             py::gil_scoped_release release;
             return t.table().size();
           })
      .def("_info",
           [](TableCore& t) {
             TableInfo info;
             {
               py::gil_scoped_release release;
               info = t.table().info();
             }
             return InfoDict(info);
           })
      .def(
          "check_invariants",
          [](TableCore& t) { CallWithoutGil([&] { return t.table().CheckInvariants(); }); },
          "Verifies every internal invariant of the table (O(n); for tests). RuntimeError if "
          "broken.")
      .def_property_readonly("name", [](TableCore& t) { return t.table().options().name; })
      .def_property_readonly("capacity", [](TableCore& t) { return t.table().options().max_items; })
      .def_property_readonly("max_bytes",
                             [](TableCore& t) { return t.table().options().max_bytes; })
      .def_property_readonly(
          "storage_options", [](TableCore& t) { return StorageOptionsDict(t.table().options()); },
          "The table's storage options, {keyword: value} (storage_dir None: DRAM only); "
          "Table(name, schema, **table.storage_options) reopens its directory.");
  AddFastMethod(m.attr("TableCore"), &g_insert_def);
  AddFastMethod(m.attr("TableCore"), &g_sample_def);

  // --- Prefetcher
  py::class_<Prefetcher>(m, "Prefetcher", kPrefetcherDoc)
      .def(
          py::init([](TableCore& table, int64_t batch_size, int64_t prefetch, int64_t threads,
                      bool replacement, int64_t num_batches) {
            if (batch_size < 1 || prefetch < 1 || threads < 1 || threads > 1024) {
              throw py::value_error(
                  Cat("Prefetcher: batch_size and prefetch must be >= 1 and "
                      "threads in [1, 1024]; got batch_size=",
                      batch_size, ", prefetch=", prefetch, ", threads=", threads));
            }
            if (num_batches < 0) {
              throw py::value_error(Cat("Prefetcher: num_batches must be >= 0, got ", num_batches));
            }
            PrefetchOptions o{.batch_size = static_cast<size_t>(batch_size),
                              .replacement = replacement,
                              .capacity = static_cast<size_t>(prefetch),
                              .threads = static_cast<int>(threads),
                              .num_batches = static_cast<uint64_t>(num_batches)};
            return ValueOrRaise(Prefetcher::Create(&table.table(), o));
          }),
          py::arg("table"), py::arg("batch_size"), py::kw_only(), py::arg("prefetch") = 2,
          py::arg("threads") = 1, py::arg("replacement") = true, py::arg("num_batches") = 0,
          py::keep_alive<1, 2>())  // the table outlives the threads that sample it
      .def("next", &PrefetchNext, py::arg("timeout") = py::none(),
           "Pops the next batch, waiting up to `timeout` seconds (None: forever; Ctrl-C "
           "interrupts). Raises StopIteration after num_batches, TimeoutError if none arrived "
           "in time (a later call gets it), the workers' error (ClosedError if the table was "
           "closed, ...), ClosedError once close() was called.")
      .def("__next__", [](Prefetcher& p) { return PrefetchNext(p, py::none()); })
      .def("__iter__", [](py::object self) { return self; })
      .def(
          "close",
          [](Prefetcher& p) {
            py::gil_scoped_release release;
            p.Close();
          },
          "Stops and joins the threads, drops queued batches; waiting next() calls raise "
          "ClosedError. Idempotent.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__",
           [](Prefetcher& p, const py::args&) {
             py::gil_scoped_release release;
             p.Close();
           })
      .def_property_readonly(
          "closed", [](const Prefetcher& p) { return p.stats().closed; },
          "Whether close() was called.")
      .def_property_readonly("batch_size",
                             [](const Prefetcher& p) { return p.options().batch_size; })
      .def_property_readonly("prefetch", [](const Prefetcher& p) { return p.options().capacity; })
      .def_property_readonly("threads", [](const Prefetcher& p) { return p.options().threads; })
      .def(
          "stats",
          [](const Prefetcher& p) {
            const Prefetcher::Stats s = p.stats();
            py::dict d;
            d["sampled"] = s.sampled;
            d["delivered"] = s.delivered;
            d["queued"] = s.queued;
            d["running"] = s.running;
            d["closed"] = s.closed;
            return d;
          },
          "A dict: batches `sampled` from the table, `delivered` by next(), `queued` now, worker "
          "threads `running`, `closed`.");

  m.def(
      "_repair",
      [](std::string name, const Schema& schema, const py::dict& storage) {
        TableOptions o;
        o.name = std::move(name);
        o.schema = schema;
        SetStorageOptions(storage, &o);
        if (o.storage_dir.empty()) {
          throw py::value_error("storage_dir must name the directory to repair");
        }
        absl::StatusOr<RepairReport> r;
        {
          py::gil_scoped_release release;
          r = Table::Repair(o);
        }
        if (!r.ok()) RaiseOpenStatus(r.status());
        py::dict d;
        d["manifest_rebuilt"] = r->manifest_rebuilt;
        d["segments"] = r->segments;
        d["checkpoint"] = r->checkpoint;
        d["checkpoint_items_dropped"] = r->checkpoint_items_dropped;
        auto list = [](const std::vector<std::string>& names) {
          py::list l;
          for (const std::string& n : names) l.append(n);
          return l;
        };
        d["set_aside"] = list(r->set_aside);
        d["deleted"] = list(r->deleted);
        d["summary"] = r->ToString();
        return d;
      },
      py::arg("name"), py::arg("schema"), py::arg("storage"),
      "Table::Repair on the storage options `storage` (see strata.Table.repair).");

  m.def("_info_fields", &StatsFields,
        "(dataclass, field, type, help) for every field of the stats dataclasses, in order "
        "(InfoFields in include/strata/info_fields.h).");

  m.def(
      "_storage_option_defaults", [] { return StorageOptionsDict(TableOptions{}); },
      "The storage options' defaults, {keyword: value} (those of TableOptions in C++).");

  m.def(
      "_debug_counters",
      [] {
        py::dict d;
        d["converted"] = g_converted.load();
        d["made_contiguous"] = g_made_contiguous.load();
        return d;
      },
      "How often insert converted a non-array value, or copied a non-contiguous array (for "
      "tests).");

  BindLogSink(m);
  BindContinual(m);
}
