// The pb.Backend service: one engine instance per Vault mount, selected by the gRPC metadata key
// "multiplex_id" that Vault attaches to every call once the plugin reports multiplexing support.
// Also the logical.PluginVersion and pluginutil.multiplexing.PluginMultiplexing services.
#ifndef PLUGIN_BACKEND_SERVER_H_
#define PLUGIN_BACKEND_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "backend/logical/logical.h"
#include "proto/backend.grpc.pb.h"
#include "proto/multiplexing.grpc.pb.h"
#include "proto/version.grpc.pb.h"

namespace vault_qualtrics {

// The metadata key that carries Vault's per-mount id (Vault's pluginutil.MultiplexingCtxKey).
inline constexpr char kMultiplexIdKey[] = "multiplex_id";
// The instance key for calls without a multiplex id, as Vault's Go SDK names its single
// instance.
inline constexpr char kSingleInstanceId[] = "single";
// pb.TypeReply.type of a secrets engine (Vault's logical.TypeLogical).
inline constexpr uint32_t kBackendTypeLogical = 1;

// Opens the brokered connection that Vault announced as `broker_id`.
using BrokerDialer =
    std::function<absl::StatusOr<std::shared_ptr<grpc::Channel>>(uint32_t broker_id)>;

// Returns the instance key of a call: its single non-empty multiplex_id, or kSingleInstanceId
// when there is none. A call with several or empty ids fails with kInvalidArgument.
absl::StatusOr<std::string> InstanceIdFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

class BackendServer final : public pb::Backend::Service {
 public:
  BackendServer(BackendFactory factory, BrokerDialer dialer);
  ~BackendServer() override;

  grpc::Status Setup(grpc::ServerContext* context, const pb::SetupArgs* args,
                     pb::SetupReply* reply) override;
  grpc::Status HandleRequest(grpc::ServerContext* context, const pb::HandleRequestArgs* args,
                             pb::HandleRequestReply* reply) override;
  grpc::Status HandleExistenceCheck(grpc::ServerContext* context,
                                    const pb::HandleExistenceCheckArgs* args,
                                    pb::HandleExistenceCheckReply* reply) override;
  grpc::Status SpecialPaths(grpc::ServerContext* context, const pb::Empty* args,
                            pb::SpecialPathsReply* reply) override;
  grpc::Status Initialize(grpc::ServerContext* context, const pb::InitializeArgs* args,
                          pb::InitializeReply* reply) override;
  grpc::Status InvalidateKey(grpc::ServerContext* context, const pb::InvalidateKeyArgs* args,
                             pb::Empty* reply) override;
  grpc::Status Cleanup(grpc::ServerContext* context, const pb::Empty* args,
                       pb::Empty* reply) override;
  grpc::Status Type(grpc::ServerContext* context, const pb::Empty* args,
                    pb::TypeReply* reply) override;

  // Cleans up every instance; used at process exit.
  void CleanupAll();
  // Waits until no Backend call is running, up to `timeout`; returns whether none is.
  bool WaitForIdle(absl::Duration timeout);
  size_t InstanceCountForTesting();

 private:
  // One mount: its brokered connection, the stubs on it and the engine. Members are destroyed
  // in reverse order, so the engine goes before the storage it uses.
  struct Instance {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<Storage> storage;
    std::unique_ptr<SystemView> system_view;
    std::unique_ptr<LogicalBackend> backend;
  };

  // Counts one running call for WaitForIdle() while it lives.
  class CallGuard {
   public:
    explicit CallGuard(BackendServer* server);
    ~CallGuard();

   private:
    BackendServer* server_;
  };

  // Finds the calling mount's instance; a gRPC error when it has none. `method` names the
  // calling RPC in the log.
  grpc::Status Lookup(grpc::ServerContext* context, const char* method,
                      std::shared_ptr<Instance>* instance);

  BackendFactory factory_;
  BrokerDialer dialer_;
  absl::Mutex mutex_;
  std::map<std::string, std::shared_ptr<Instance>> instances_ ABSL_GUARDED_BY(mutex_);
  int running_calls_ ABSL_GUARDED_BY(mutex_) = 0;
};

class VersionServer final : public logical::PluginVersion::Service {
 public:
  explicit VersionServer(std::string version) : version_(std::move(version)) {}
  grpc::Status Version(grpc::ServerContext* context, const logical::Empty* args,
                       logical::VersionReply* reply) override;

 private:
  std::string version_;
};

class MultiplexingServer final : public pluginutil::multiplexing::PluginMultiplexing::Service {
 public:
  grpc::Status MultiplexingSupport(
      grpc::ServerContext* context,
      const pluginutil::multiplexing::MultiplexingSupportRequest* args,
      pluginutil::multiplexing::MultiplexingSupportResponse* reply) override;
};

}  // namespace vault_qualtrics

#endif  // PLUGIN_BACKEND_SERVER_H_
