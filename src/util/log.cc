// Logging (include/strata/log.h): the process-wide sink.
//
// One small mutex guards the sink and serializes calls to it, so that SetLogSink can promise
// that the previous sink is no longer running when it returns. The mutex is a leaf: nothing
// else is taken under it except what the sink itself does (which must never block).
#include "strata/log.h"

#include <cstdio>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "util/mutex.h"

namespace strata {
namespace {

void DefaultSink(void*, LogSeverity severity, std::string_view component,
                 std::string_view message) {
  if (severity == LogSeverity::kInfo) return;
  const std::string line = std::string("strata [") + (severity == LogSeverity::kError ? "E" : "W") +
                           "] " + std::string(component) + ": " + std::string(message) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

struct SinkState {
  internal::Mutex mu;
  LogSink sink ABSL_GUARDED_BY(mu) = &DefaultSink;
  void* arg ABSL_GUARDED_BY(mu) = nullptr;
};

SinkState& State() {
  static SinkState* const state = new SinkState;  // never destroyed: usable at exit
  return *state;
}

}  // namespace

const char* LogSeverityName(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kInfo:
      return "info";
    case LogSeverity::kWarning:
      return "warning";
    case LogSeverity::kError:
      return "error";
  }
  return "unknown";
}

void SetLogSink(LogSink sink, void* arg) {
  SinkState& s = State();
  internal::MutexLock lock(&s.mu);
  s.sink = sink != nullptr ? sink : &DefaultSink;
  s.arg = sink != nullptr ? arg : nullptr;
}

namespace internal {

void Log(LogSeverity severity, std::string_view component, std::string message) {
  SinkState& s = State();
  MutexLock lock(&s.mu);
  s.sink(s.arg, severity, component, message);
}

}  // namespace internal
}  // namespace strata
