// go-plugin's GRPCBroker on the plugin side. Vault opens one StartStream per process and sends
// a ConnInfo for each listener it serves callbacks on (Storage and SystemView for one mount);
// Setup then names that listener by its id. ConnInfo may arrive before or after Setup, so they
// are kept by id until taken.
#ifndef PLUGIN_BROKER_H_
#define PLUGIN_BROKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/go_plugin.grpc.pb.h"

namespace vault_qualtrics {

// How long Setup waits for Vault's ConnInfo; go-plugin's own Dial waits 5 seconds.
inline constexpr absl::Duration kBrokerWaitTimeout = absl::Seconds(5);

// Announced listeners kept per process; older ones are dropped beyond this.
inline constexpr size_t kMaxPendingConnInfo = 1024;

class Broker final : public plugin::GRPCBroker::Service {
 public:
  // `on_host_closed` runs when a broker stream ends because the host closed it or its
  // connection broke, not because of Shutdown().
  explicit Broker(std::function<void()> on_host_closed);

  grpc::Status StartStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<plugin::ConnInfo, plugin::ConnInfo>* stream) override;

  // Takes the ConnInfo announced for `service_id`, waiting up to `timeout`. Fails with
  // kDeadlineExceeded when none arrives in time and kCancelled after Shutdown().
  absl::StatusOr<plugin::ConnInfo> Take(uint32_t service_id, absl::Duration timeout);

  // Ends open streams and wakes waiters. Thread-safe; later streams end at once.
  void Shutdown();

  // Stores `info` as if it arrived on a stream; for tests.
  void AddForTesting(const plugin::ConnInfo& info);

 private:
  void Add(const plugin::ConnInfo& info);

  std::function<void()> on_host_closed_;
  absl::Mutex mutex_;
  std::map<uint32_t, plugin::ConnInfo> pending_ ABSL_GUARDED_BY(mutex_);
  std::set<grpc::ServerContext*> streams_ ABSL_GUARDED_BY(mutex_);
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace vault_qualtrics

#endif  // PLUGIN_BROKER_H_
