// strata._strata's continual-learning classes: EnergyMeter (+ EnergyReading) and SwapController.
//
// The same rules as _strata.cc: arguments are checked and converted here (ValueError/TypeError
// naming the keyword), every call that may block (a controller tick takes the table's lock;
// stop() joins the ticking thread) runs with the GIL released, and statuses become exceptions
// through RaiseStatus (convert.h) once the GIL is held again.
//
//   strata.Table (TableCore) <──keep_alive── SwapController ──owns──> ticking thread
//                                                (the thread never takes the GIL)
#include "bind_cl.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "convert.h"
#include "strata/energy.h"
#include "strata/swap_controller.h"
#include "table_core.h"

namespace strata::python {
namespace {

// A finite number >= 0 (not a bool).
double NonNegative(const char* name, py::handle v) {
  if (PyBool_Check(v.ptr()) || !(PyFloat_Check(v.ptr()) || PyIndex_Check(v.ptr()))) {
    throw py::type_error(Cat(name, " must be a number, got ", TypeName(v)));
  }
  const double x = PyFloat_AsDouble(v.ptr());
  if (x == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  if (!(x >= 0 && std::isfinite(x))) {
    throw py::value_error(Cat(name, " must be finite and >= 0, got ", Str(py::repr(v))));
  }
  return x;
}

uint32_t U32(const char* name, py::handle v) {
  const uint64_t x = ToU64(name, v);
  if (x > 0xFFFFFFFFu) throw py::value_error(Cat(name, " must be < 2**32, got ", x));
  return static_cast<uint32_t>(x);
}

// A str or os.PathLike (str or bytes) as a file-system path.
std::string FsPath(const char* name, py::handle v) {
  py::object path = py::reinterpret_steal<py::object>(PyOS_FSPath(v.ptr()));
  if (!path) {
    PyErr_Clear();
    throw py::type_error(Cat(name, " must be a str, bytes or an os.PathLike, got ", TypeName(v)));
  }
  if (PyUnicode_Check(path.ptr())) {
    path = py::reinterpret_steal<py::object>(PyUnicode_EncodeFSDefault(path.ptr()));
    if (!path) throw py::error_already_set();
  }
  return path.cast<std::string>();
}

std::string ReadingRepr(const EnergyReading& r) {
  return Cat("EnergyReading(joules=", Str(py::repr(py::float_(r.joules))),
             ", seconds=", Str(py::repr(py::float_(r.seconds))),
             ", cpu_seconds=", Str(py::repr(py::float_(r.cpu_seconds))), ", io_bytes=", r.io_bytes,
             ", source='", r.source, "')");
}

py::dict ReadingDict(const EnergyReading& r) {
  py::dict d;
  d["joules"] = r.joules;
  d["seconds"] = r.seconds;
  d["cpu_seconds"] = r.cpu_seconds;
  d["io_bytes"] = r.io_bytes;
  d["source"] = r.source;
  return d;
}

py::dict DecisionDict(const SwapDecision& x) {
  py::dict d;
  d["time"] = absl::ToDoubleSeconds(x.time - absl::UnixEpoch());  // like time.time()
  d["tick"] = x.tick;
  d["requested"] = x.requested;
  d["swapped"] = x.swapped;
  d["skipped"] = x.skipped;
  d["reads"] = x.reads;
  d["swaps_per_second"] = x.swaps_per_second;
  d["mean_read_latency_us"] = x.mean_read_latency_us;
  d["baseline_us"] = x.baseline_us;
  d["contended"] = x.contended;
  d["reason"] = x.reason;
  d["action"] = x.action;
  d["ratio"] = x.ratio;
  d["interval"] = x.interval;
  d["text"] = x.ToString();
  return d;
}

py::dict ControllerOptionsDict(const SwapControllerOptions& o) {
  py::dict d;
  d["target_ratio"] = o.target_ratio;
  d["base_interval"] = o.base_interval;
  d["max_interval"] = o.max_interval;
  d["low_ratio"] = o.low_ratio;
  d["low_ratio_interval"] = o.low_ratio_interval;
  d["min_ratio"] = o.min_ratio;
  d["ratio_step"] = o.ratio_step;
  d["calm_ticks"] = o.calm_ticks;
  d["skip_fraction"] = o.skip_fraction;
  d["latency_factor"] = o.latency_factor;
  d["latency_target_us"] = o.latency_target_us;
  d["min_reads"] = o.min_reads;
  d["period"] = absl::ToDoubleSeconds(o.period);
  return d;
}

std::unique_ptr<SwapController> NewController(TableCore& core, py::handle target_ratio,
                                              py::handle base_interval, py::handle max_interval,
                                              py::handle low_ratio, py::handle low_ratio_interval,
                                              py::handle min_ratio, py::handle ratio_step,
                                              py::handle calm_ticks, py::handle skip_fraction,
                                              py::handle latency_factor,
                                              py::handle latency_target_us, py::handle min_reads,
                                              py::handle period) {
  Table& table = core.table();
  const TableOptions& to = table.options();
  if (to.storage_dir.empty() || to.tier_sampling != TierSampling::kResident) {
    throw py::value_error(Cat("SwapController: table '", to.name,
                              "' must have storage_dir and tier_sampling='resident'"));
  }
  // Ranges (ratios in [0, 1], intervals >= 1, ...) are checked by the core, which names the field.
  SwapControllerOptions o;
  o.target_ratio = target_ratio.is_none() ? -1 : NonNegative("target_ratio", target_ratio);
  o.base_interval = base_interval.is_none() ? 0 : U32("base_interval", base_interval);
  if (!base_interval.is_none() && o.base_interval == 0) {
    throw py::value_error("base_interval must be >= 1 (None: the table's swap_interval)");
  }
  o.max_interval = U32("max_interval", max_interval);
  o.low_ratio = NonNegative("low_ratio", low_ratio);
  o.low_ratio_interval = U32("low_ratio_interval", low_ratio_interval);
  o.min_ratio = NonNegative("min_ratio", min_ratio);
  o.ratio_step = NonNegative("ratio_step", ratio_step);
  o.calm_ticks = U32("calm_ticks", calm_ticks);
  o.skip_fraction = NonNegative("skip_fraction", skip_fraction);
  o.latency_factor = NonNegative("latency_factor", latency_factor);
  o.latency_target_us = NonNegative("latency_target_us", latency_target_us);
  o.min_reads = ToU64("min_reads", min_reads);
  const double seconds = NonNegative("period", period);
  if (seconds <= 0) throw py::value_error(Cat("period must be > 0 seconds, got ", seconds));
  o.period = absl::Seconds(seconds);
  absl::StatusOr<std::unique_ptr<SwapController>> c;
  {
    py::gil_scoped_release release;
    c = SwapController::Create(&table, o);
  }
  return ValueOrRaise(std::move(c));
}

const char kEnergyMeterDoc[] = R"doc(Energy used by an interval of work: RAPL package counters
(/sys/class/powercap/*-rapl:N, summed) when they are readable, else a model:
joules = cpu_seconds * watts_per_busy_core + io_bytes * nanojoules_per_io_byte / 1e9.

`source` says which ("rapl" or "model"), chosen at construction; force_model=True always uses the
model. The interval starts at construction and again at start(). Thread-safe.)doc";

const char kSwapControllerDoc[] = R"doc(Adapts a resident-mode table's swap_ratio and swap_interval
to what its storage sustains (include/strata/swap_controller.h has the policy).

Each tick() measures the table's swap and read counters since the previous tick. Under contention
(more than skip_fraction of the requested swaps skipped, or a mean read latency above
latency_factor x the baseline) it first doubles the interval up to max_interval, then halves the
ratio down to min_ratio (holding the interval at low_ratio_interval below low_ratio); after
calm_ticks calm ticks it recovers: ratio += ratio_step up to target_ratio, then interval -= 1 down
to base_interval. target_ratio / base_interval None: the table's settings now. start() ticks every
`period` seconds on a thread; stop() (also on exit of a `with` block) joins it. Every decision is
kept in `decisions`. Keeps the table alive; owns its swap settings while it runs.

Raises ValueError for a table without storage or not resident, or bad options.)doc";

}  // namespace

void BindContinual(py::module_& m) {
  // --- EnergyMeter
  py::class_<EnergyReading>(m, "EnergyReading",
                            "Energy, wall and CPU time and I/O bytes of an interval "
                            "(EnergyMeter.read()).")
      .def_readonly("joules", &EnergyReading::joules,
                    "Energy since start: RAPL packages summed, or the model's estimate.")
      .def_readonly("seconds", &EnergyReading::seconds, "Wall time since start.")
      .def_readonly("cpu_seconds", &EnergyReading::cpu_seconds,
                    "Process CPU time (user + system, all threads) since start.")
      .def_readonly("io_bytes", &EnergyReading::io_bytes, "Bytes added with add_io_bytes.")
      .def_readonly("source", &EnergyReading::source, "'rapl' or 'model'.")
      .def("as_dict", &ReadingDict, "The fields as a dict.")
      .def("__repr__", &ReadingRepr);

  const EnergyModel model;
  py::class_<EnergyMeter>(m, "EnergyMeter", kEnergyMeterDoc)
      .def(py::init([](py::object powercap_root, bool force_model, py::handle watts,
                       py::handle nanojoules) {
             EnergyOptions o;
             o.powercap_root = FsPath("powercap_root", powercap_root);
             o.force_model = force_model;
             o.model.watts_per_busy_core = NonNegative("watts_per_busy_core", watts);
             o.model.nanojoules_per_io_byte = NonNegative("nanojoules_per_io_byte", nanojoules);
             py::gil_scoped_release release;  // scans a few sysfs files
             return std::make_unique<EnergyMeter>(std::move(o));
           }),
           py::kw_only(), py::arg("powercap_root") = EnergyOptions().powercap_root,
           py::arg("force_model") = false,
           py::arg("watts_per_busy_core") = model.watts_per_busy_core,
           py::arg("nanojoules_per_io_byte") = model.nanojoules_per_io_byte)
      .def_property_readonly("source", &EnergyMeter::source, "'rapl' or 'model'.")
      .def_property_readonly(
          "watts_per_busy_core",
          [](const EnergyMeter& e) { return e.options().model.watts_per_busy_core; })
      .def_property_readonly(
          "nanojoules_per_io_byte",
          [](const EnergyMeter& e) { return e.options().model.nanojoules_per_io_byte; })
      .def("start", &EnergyMeter::Start, py::call_guard<py::gil_scoped_release>(),
           "Restarts the interval (io bytes from 0).")
      .def(
          "add_io_bytes",
          [](EnergyMeter& e, py::handle bytes) { e.AddIoBytes(ToU64("bytes", bytes)); },
          py::arg("bytes"), "Adds bytes read or written in the interval (charged by the model).")
      .def("read", &EnergyMeter::Read, py::call_guard<py::gil_scoped_release>(),
           "The interval so far, an EnergyReading.")
      .def("__repr__",
           [](const EnergyMeter& e) { return Cat("EnergyMeter(source='", e.source(), "')"); });

  // --- SwapController
  const SwapControllerOptions d;
  py::class_<SwapController>(m, "SwapController", kSwapControllerDoc)
      .def(py::init(&NewController), py::arg("table"), py::kw_only(),
           py::arg("target_ratio") = py::none(), py::arg("base_interval") = py::none(),
           py::arg("max_interval") = d.max_interval, py::arg("low_ratio") = d.low_ratio,
           py::arg("low_ratio_interval") = d.low_ratio_interval, py::arg("min_ratio") = d.min_ratio,
           py::arg("ratio_step") = d.ratio_step, py::arg("calm_ticks") = d.calm_ticks,
           py::arg("skip_fraction") = d.skip_fraction, py::arg("latency_factor") = d.latency_factor,
           py::arg("latency_target_us") = d.latency_target_us, py::arg("min_reads") = d.min_reads,
           py::arg("period") = absl::ToDoubleSeconds(d.period),
           py::keep_alive<1, 2>())  // the table outlives the controller and its thread
      .def(
          "tick",
          [](SwapController& c) {
            CallWithoutGil([&] { return c.Tick(); });
            return DecisionDict(c.decisions().back());
          },
          "Measures, decides and applies one step; returns the latest decision (a dict, as in "
          "`decisions`). ClosedError once the table is closed and the settings must change.")
      .def("start", &SwapController::Start, py::call_guard<py::gil_scoped_release>(),
           "Starts a thread ticking every `period` seconds (no-op if running); it stops at the "
           "first error, see `error`.")
      .def("stop", &SwapController::Stop, py::call_guard<py::gil_scoped_release>(),
           "Stops and joins the thread. Idempotent; start() may follow.")
      .def("__enter__",
           [](py::object self) {
             SwapController& c = self.cast<SwapController&>();
             py::gil_scoped_release release;
             c.Start();
             return self;
           })
      .def("__exit__",
           [](SwapController& c, const py::args&) {
             py::gil_scoped_release release;
             c.Stop();
           })
      .def_property_readonly(
          "decisions",
          [](const SwapController& c) {
            py::list out;
            for (const SwapDecision& x : c.decisions()) out.append(DecisionDict(x));
            return out;
          },
          "Every tick's decision in order: dicts with the tick's inputs (requested, swapped, "
          "skipped, reads, swaps_per_second, mean_read_latency_us, baseline_us), contended, "
          "reason, action, the settings after it (ratio, interval), time (seconds since the "
          "epoch) and text (one log line).")
      .def_property_readonly("ratio", &SwapController::ratio, "The swap ratio now.")
      .def_property_readonly("interval", &SwapController::interval, "The swap interval now.")
      .def_property_readonly(
          "error",
          [](const SwapController& c) -> py::object {
            const absl::Status s = c.error();
            if (s.ok()) return py::none();
            return py::str(s.ToString());
          },
          "The error that stopped the thread (a str), or None.")
      .def_property_readonly(
          "options", [](const SwapController& c) { return ControllerOptionsDict(c.options()); },
          "The options in effect (target_ratio and base_interval resolved), as a dict.");
}

}  // namespace strata::python
