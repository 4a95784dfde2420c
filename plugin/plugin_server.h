// The gRPC server of the plugin process: every service Vault's host calls, on one listener.
#ifndef PLUGIN_PLUGIN_SERVER_H_
#define PLUGIN_PLUGIN_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "backend/logical/logical.h"
#include "plugin/backend_server.h"
#include "plugin/broker.h"
#include "plugin/tls_identity.h"
#include "proto/go_plugin.grpc.pb.h"

namespace vault_qualtrics {

// The service name go-plugin's host checks with grpc.health.v1.Health/Check.
inline constexpr char kHealthServiceName[] = "plugin";

// Time that running calls get to finish once the server stops; go-plugin's host kills the
// process 2 seconds after asking it to shut down.
inline constexpr absl::Duration kShutdownGracePeriod = absl::Seconds(1);
// How long gRPC may take at shutdown to send the replies of calls that have already returned.
inline constexpr absl::Duration kReplyFlushTime = absl::Milliseconds(200);

// Server credentials for go-plugin's automatic mutual TLS: `identity` as the server
// certificate, and a client certificate required and verified against `client_cert_pem`.
std::shared_ptr<grpc::ServerCredentials> AutoMtlsServerCredentials(
    const TlsIdentity& identity, const std::string& client_cert_pem);

// Channel credentials for dialing the host's brokered listener: `identity` as the client
// certificate, and the server verified against `client_cert_pem`. Callers also set the target
// name "localhost", which is the name in the host's certificate.
std::shared_ptr<grpc::ChannelCredentials> AutoMtlsChannelCredentials(
    const TlsIdentity& identity, const std::string& client_cert_pem);

// A latch that records the first reason to stop the process. Thread-safe.
class ShutdownSignal {
 public:
  void Notify(std::string reason);
  bool notified();
  std::string reason();
  // Waits up to `timeout`; returns whether the signal was notified.
  bool WaitFor(absl::Duration timeout);

 private:
  absl::Mutex mutex_;
  bool notified_ ABSL_GUARDED_BY(mutex_) = false;
  std::string reason_ ABSL_GUARDED_BY(mutex_);
};

struct PluginServerOptions {
  BackendFactory factory;
  std::string version;
  // A gRPC listening address, e.g. "unix:/tmp/vault-plugin-x/plugin.sock".
  std::string listen_address;
  std::shared_ptr<grpc::ServerCredentials> server_credentials;
  // Credentials for dialing the host's brokered listeners.
  std::shared_ptr<grpc::ChannelCredentials> broker_credentials;
  // How long Setup waits for the host to announce a broker id.
  absl::Duration broker_wait_timeout = kBrokerWaitTimeout;
};

class PluginServer {
 public:
  // Starts serving. Fails with kUnavailable when the listener cannot be created.
  static absl::StatusOr<std::unique_ptr<PluginServer>> Start(PluginServerOptions options);

  PluginServer(const PluginServer&) = delete;
  PluginServer& operator=(const PluginServer&) = delete;
  // Stops the server if Stop() was not called.
  ~PluginServer();

  // Notified on GRPCController.Shutdown and when the host closes the broker stream.
  ShutdownSignal& shutdown_signal() { return shutdown_; }

  // Stops accepting calls, ends the broker and stdio streams, gives running calls
  // kShutdownGracePeriod, and cleans up every backend instance. Idempotent.
  void Stop();

  BackendServer& backend_server() { return *backend_; }
  Broker& broker() { return *broker_; }

 private:
  class ControllerService;
  class StdioService;

  PluginServer() = default;

  absl::StatusOr<std::shared_ptr<grpc::Channel>> DialBroker(uint32_t broker_id);

  PluginServerOptions options_;
  ShutdownSignal shutdown_;
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<BackendServer> backend_;
  std::unique_ptr<VersionServer> version_;
  std::unique_ptr<MultiplexingServer> multiplexing_;
  std::unique_ptr<ControllerService> controller_;
  std::unique_ptr<StdioService> stdio_;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex stop_mutex_;
  bool stopped_ ABSL_GUARDED_BY(stop_mutex_) = false;
};

}  // namespace vault_qualtrics

#endif  // PLUGIN_PLUGIN_SERVER_H_
