// Structured logging to stderr in the JSON line format Vault's plugin host reads: each line is
// one object with "@level", "@message", "@timestamp" and the event's key/value fields, which
// Vault re-logs under the plugin's name. Callers never pass key material, tokens or request
// bodies as fields.
#ifndef BACKEND_LOGICAL_LOG_H_
#define BACKEND_LOGICAL_LOG_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vault_qualtrics {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

using LogFields = std::vector<std::pair<std::string, std::string>>;

// Writes one JSON line to the log sink. Thread-safe; lines never interleave.
void Log(LogLevel level, std::string_view message, const LogFields& fields = {});

// Lines below `level` are dropped. The default is kInfo; VAULT_QUALTRICS_LOG_LEVEL
// (trace, debug, info, warn, error) changes it at start-up.
void SetLogLevel(LogLevel level);
LogLevel ParseLogLevel(std::string_view name, LogLevel fallback);

// Sends log lines to `sink` instead of stderr; used by tests to inspect what was logged.
// Passing nullptr restores stderr.
void SetLogSinkForTesting(std::string* sink);

// Formats one log line (without the newline) at a fixed timestamp; exposed for tests.
std::string FormatLogLine(LogLevel level, std::string_view message, const LogFields& fields,
                          std::string_view timestamp);

}  // namespace vault_qualtrics

#endif  // BACKEND_LOGICAL_LOG_H_
