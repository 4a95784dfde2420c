#include "plugin/broker.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/logical/log.h"

namespace vault_qualtrics {

Broker::Broker(std::function<void()> on_host_closed) : on_host_closed_(std::move(on_host_closed)) {}

grpc::Status Broker::StartStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<plugin::ConnInfo, plugin::ConnInfo>* stream) {
  {
    absl::MutexLock lock(&mutex_);
    if (shut_down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "plugin is shutting down");
    streams_.insert(context);
  }
  Log(LogLevel::kDebug, "broker stream opened");

  // The plugin offers no listeners of its own, so it only reads.
  plugin::ConnInfo info;
  while (stream->Read(&info)) {
    if (info.has_knock()) {
      Log(LogLevel::kWarn, "ignoring broker knock message: broker multiplexing is not supported",
          {{"service_id", std::to_string(info.service_id())}});
      continue;
    }
    Add(info);
  }

  bool by_host = false;
  {
    absl::MutexLock lock(&mutex_);
    streams_.erase(context);
    by_host = !shut_down_;
  }
  if (by_host) {
    Log(LogLevel::kInfo, "broker stream closed by the plugin host");
    if (on_host_closed_) on_host_closed_();
  }
  return grpc::Status::OK;
}

void Broker::Add(const plugin::ConnInfo& info) {
  Log(LogLevel::kDebug, "broker connection info received",
      {{"service_id", std::to_string(info.service_id())}, {"network", info.network()}});
  absl::MutexLock lock(&mutex_);
  pending_[info.service_id()] = info;
  // Vault numbers listeners from 1 upwards, so the smallest ids are the oldest.
  while (pending_.size() > kMaxPendingConnInfo) pending_.erase(pending_.begin());
}

void Broker::AddForTesting(const plugin::ConnInfo& info) { Add(info); }

absl::StatusOr<plugin::ConnInfo> Broker::Take(uint32_t service_id, absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto ready = [this, service_id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return shut_down_ || pending_.count(service_id) > 0;
  };
  mutex_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (shut_down_) return absl::CancelledError("plugin is shutting down");
  auto it = pending_.find(service_id);
  if (it == pending_.end()) {
    return absl::DeadlineExceededError(
        absl::StrCat("timed out after ", absl::FormatDuration(timeout),
                     " waiting for the plugin host to announce broker id ", service_id));
  }
  plugin::ConnInfo info = std::move(it->second);
  pending_.erase(it);
  return info;
}

void Broker::Shutdown() {
  absl::MutexLock lock(&mutex_);
  shut_down_ = true;
  for (grpc::ServerContext* context : streams_) context->TryCancel();
}

}  // namespace vault_qualtrics
