// Storage and SystemView for the engine, backed by the Storage and SystemView services that
// Vault serves on the brokered connection of one mount.
#ifndef PLUGIN_GRPC_STORAGE_H_
#define PLUGIN_GRPC_STORAGE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "backend/logical/logical.h"
#include "proto/backend.grpc.pb.h"

namespace vault_qualtrics {

// Upper bound of one storage or system view call, so a stalled host cannot hang a request.
inline constexpr absl::Duration kCallbackTimeout = absl::Seconds(60);

// Vault's storage over gRPC. Errors: a failed RPC is kUnavailable; an error string from Vault is
// ReadOnlyError() for "cannot write to readonly storage" and kUnavailable with the text
// otherwise. Thread-safe.
class GrpcStorage final : public Storage {
 public:
  explicit GrpcStorage(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  absl::Status Put(std::string_view key, std::string_view value) override;
  absl::Status Delete(std::string_view key) override;
  absl::StatusOr<std::vector<std::string>> List(std::string_view prefix) override;

 private:
  std::unique_ptr<pb::Storage::Stub> stub_;
};

// Vault's system view over gRPC. A failed RPC or an error string is kUnavailable. Thread-safe.
class GrpcSystemView final : public SystemView {
 public:
  explicit GrpcSystemView(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<uint32_t> ReplicationState() override;
  absl::StatusOr<bool> LocalMount() override;
  absl::StatusOr<std::string> VaultVersion() override;

 private:
  std::unique_ptr<pb::SystemView::Stub> stub_;
};

}  // namespace vault_qualtrics

#endif  // PLUGIN_GRPC_STORAGE_H_
