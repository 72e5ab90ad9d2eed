// Logging: one process-wide sink for what the core reports — storage errors and their
// recovery, recovery at open, repairs, compaction summaries and swap-controller decisions
// (docs/design.md, "Logging").
//
// The core calls internal::Log(severity, component, message); it takes only the log's own
// small mutex and calls the sink, so it may be called from any thread, with any of the core's
// locks held. A sink must therefore be fast and must never block on anything the core may hold
// (a table's lock) or on the Python GIL: the Python binding's sink only enqueues.
//
// The default sink (installed at start and by SetLogSink(nullptr)) writes one line to stderr,
// "strata [W] storage: message", for warnings and errors only; info records are dropped.
#ifndef STRATA_LOG_H_
#define STRATA_LOG_H_

#include <string>
#include <string_view>

namespace strata {

enum class LogSeverity { kInfo = 0, kWarning = 1, kError = 2 };

// "info", "warning", "error".
const char* LogSeverityName(LogSeverity severity);

// Called for every record. `component`: "storage", "recovery", "compaction", "repair", "swap".
// May be called concurrently from several threads (the sink synchronizes itself).
using LogSink = void (*)(void* arg, LogSeverity severity, std::string_view component,
                         std::string_view message);

// Installs `sink` (with its `arg`) process-wide; nullptr restores the default sink. When it
// returns, no thread is still calling the previous sink, so its `arg` may be freed.
void SetLogSink(LogSink sink, void* arg = nullptr);

namespace internal {

// Reports one record to the current sink.
void Log(LogSeverity severity, std::string_view component, std::string message);

}  // namespace internal
}  // namespace strata

#endif  // STRATA_LOG_H_
