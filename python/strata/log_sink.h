// The binding's log sink (include/strata/log.h): routes the core's records to Python's
// logging.getLogger("strata") without ever taking the GIL on the thread that logs.
//
// Core records come from any thread (a table's writer thread, compaction, the swap
// controller's thread), sometimes with a table's lock held, while the main thread may hold the
// GIL and wait for that lock: a sink that took the GIL could deadlock. So the sink only
// enqueues into a bounded queue (kMaxRecords; what does not fit is counted and reported as one
// "strata.log" warning), and Python delivers from the queue: a daemon thread that waits in
// Wait() with the GIL released, and strata.flush_logs() (__init__.py).
//
// Lifetime: the queue is a leaked singleton, so the sink's argument stays valid after the
// interpreter finalizes; __init__.py also uninstalls the sink in an atexit handler (later
// records go to the core's default stderr sink).
#ifndef STRATA_PYTHON_LOG_SINK_H_
#define STRATA_PYTHON_LOG_SINK_H_

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "strata/log.h"

namespace py = pybind11;

namespace strata::python {

class LogQueue {
 public:
  static constexpr size_t kMaxRecords = 1000;

  struct Record {
    int severity;  // LogSeverity's value: 0 info, 1 warning, 2 error
    std::string component;
    std::string message;
  };

  static LogQueue& Get() {
    static LogQueue* const queue = new LogQueue;  // never destroyed (see Lifetime above)
    return *queue;
  }

  // The LogSink: enqueues only (never takes the GIL or any lock but the queue's).
  static void Sink(void* arg, LogSeverity severity, std::string_view component,
                   std::string_view message) {
    static_cast<LogQueue*>(arg)->Push(static_cast<int>(severity), component, message);
  }

  void Push(int severity, std::string_view component, std::string_view message) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (records_.size() >= kMaxRecords) {
        ++dropped_;
        return;
      }
      records_.push_back(Record{severity, std::string(component), std::string(message)});
    }
    cv_.notify_all();
  }

  // Installs (true) or uninstalls (false) the sink. Uninstalling also wakes Wait() for good,
  // so that the delivering thread can end.
  void Install(bool on) {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopped_ = !on;
    }
    SetLogSink(on ? &LogQueue::Sink : nullptr, on ? this : nullptr);
    cv_.notify_all();
  }

  // Blocks (call it without the GIL) until a record is queued, the sink is uninstalled, or
  // `timeout_s` passes; returns whether records are queued.
  bool Wait(double timeout_s) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::duration<double>(timeout_s),
                 [this] { return !records_.empty() || dropped_ > 0 || stopped_; });
    return !records_.empty() || dropped_ > 0;
  }

  bool stopped() {
    std::lock_guard<std::mutex> l(mu_);
    return stopped_;
  }

  // Takes every queued record, oldest first; records dropped since the last call come first as
  // one warning of component "log".
  std::vector<Record> Take() {
    std::vector<Record> out;
    std::lock_guard<std::mutex> l(mu_);
    out.reserve(records_.size() + 1);
    if (dropped_ > 0) {
      out.push_back(Record{static_cast<int>(LogSeverity::kWarning), "log",
                           std::to_string(dropped_) + " log records dropped (more than " +
                               std::to_string(kMaxRecords) + " were waiting)"});
      dropped_ = 0;
    }
    for (Record& r : records_) out.push_back(std::move(r));
    records_.clear();
    return out;
  }

 private:
  LogQueue() = default;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Record> records_;  // guarded by mu_
  uint64_t dropped_ = 0;        // guarded by mu_
  bool stopped_ = true;         // guarded by mu_
};

// Registers the module functions strata/__init__.py delivers the records with.
inline void BindLogSink(py::module_& m) {
  m.def(
      "_install_log_sink", [](bool on) { LogQueue::Get().Install(on); }, py::arg("on"),
      "Routes the core's log records into the queue (on), or back to the core's default "
      "stderr sink (off; also ends _wait_log_records for good).");
  m.def(
      "_wait_log_records",
      [](double timeout) {
        py::gil_scoped_release release;
        return LogQueue::Get().Wait(timeout);
      },
      py::arg("timeout"),
      "Waits, without the GIL, up to `timeout` seconds for queued log records; returns whether "
      "some are queued.");
  m.def(
      "_next_log_records",
      [](double timeout) {
        std::vector<LogQueue::Record> records;
        {
          py::gil_scoped_release release;
          if (timeout > 0) LogQueue::Get().Wait(timeout);
          records = LogQueue::Get().Take();
        }
        // Paths in messages may not be UTF-8: undecodable bytes become U+FFFD.
        auto str = [](const std::string& s) {
          return py::reinterpret_steal<py::str>(
              PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
        };
        py::list out;
        for (LogQueue::Record& r : records) {
          out.append(py::make_tuple(r.severity, str(r.component), str(r.message)));
        }
        return out;
      },
      py::arg("timeout") = 0.0,
      "Takes the queued log records as [(severity 0/1/2, component, message)], oldest first, "
      "after waiting up to `timeout` seconds (without the GIL) for one.");
  m.def(
      "_log_sink_stopped", [] { return LogQueue::Get().stopped(); },
      "Whether the sink is uninstalled.");
}

}  // namespace strata::python

#endif  // STRATA_PYTHON_LOG_SINK_H_
