#include "backend/logical/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

namespace vault_qualtrics {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mutex;
std::string* g_test_sink = nullptr;

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// hclog's timestamp layout: 2006-01-02T15:04:05.000000Z07:00, here always in UTC.
std::string NowTimestamp() {
  auto now = std::chrono::system_clock::now();
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &utc);
  char full[48];
  std::snprintf(full, sizeof(full), "%s.%06lldZ", date, static_cast<long long>(micros % 1000000));
  return full;
}

}  // namespace

std::string FormatLogLine(LogLevel level, std::string_view message, const LogFields& fields,
                          std::string_view timestamp) {
  nlohmann::ordered_json line;
  line["@level"] = LevelName(level);
  line["@message"] = message;
  line["@timestamp"] = timestamp;
  for (const auto& [key, value] : fields) {
    // Keys starting with '@' are reserved for the three fields above.
    if (key.empty() || key[0] == '@') continue;
    line[key] = value;
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Log(LogLevel level, std::string_view message, const LogFields& fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  std::string line = FormatLogLine(level, message, fields, NowTimestamp());
  line.push_back('\n');

  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_test_sink != nullptr) {
    g_test_sink->append(line);
    return;
  }
  // One write call per line, so lines from several threads never interleave.
  const char* data = line.data();
  size_t remaining = line.size();
  while (remaining > 0) {
    ssize_t written = ::write(STDERR_FILENO, data, remaining);
    if (written <= 0) return;
    data += written;
    remaining -= static_cast<size_t>(written);
  }
}

void SetLogLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }

LogLevel ParseLogLevel(std::string_view name, LogLevel fallback) {
  if (name == "trace") return LogLevel::kTrace;
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return fallback;
}

void SetLogSinkForTesting(std::string* sink) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_test_sink = sink;
}

}  // namespace vault_qualtrics
