#include "plugin/grpc_storage.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/logical/errors.h"

namespace vault_qualtrics {
namespace {

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(kCallbackTimeout));
}

absl::Status RpcError(std::string_view call, const grpc::Status& status) {
  return absl::UnavailableError(absl::StrCat("Vault ", absl::string_view(call.data(), call.size()),
                                             " call failed: ", status.error_message()));
}

// Turns the error string of a storage reply into a status.
absl::Status StorageError(std::string_view call, const std::string& err) {
  if (err.empty()) return absl::OkStatus();
  if (err == kReadOnlyMessage) return ReadOnlyError();
  return absl::UnavailableError(absl::StrCat(
      "Vault storage ", absl::string_view(call.data(), call.size()), " failed: ", err));
}

std::string ToString(std::string_view value) { return std::string(value); }

}  // namespace

GrpcStorage::GrpcStorage(std::shared_ptr<grpc::Channel> channel)
    : stub_(pb::Storage::NewStub(std::move(channel))) {}

absl::StatusOr<std::optional<std::string>> GrpcStorage::Get(std::string_view key) {
  grpc::ClientContext context;
  SetDeadline(&context);
  pb::StorageGetArgs args;
  args.set_key(ToString(key));
  pb::StorageGetReply reply;
  grpc::Status status = stub_->Get(&context, args, &reply);
  if (!status.ok()) return RpcError("storage get", status);
  absl::Status err = StorageError("get", reply.err());
  if (!err.ok()) return err;
  if (!reply.has_entry()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(*reply.mutable_entry()->mutable_value()));
}

absl::Status GrpcStorage::Put(std::string_view key, std::string_view value) {
  grpc::ClientContext context;
  SetDeadline(&context);
  pb::StoragePutArgs args;
  args.mutable_entry()->set_key(ToString(key));
  args.mutable_entry()->set_value(ToString(value));
  pb::StoragePutReply reply;
  grpc::Status status = stub_->Put(&context, args, &reply);
  if (!status.ok()) return RpcError("storage put", status);
  return StorageError("put", reply.err());
}

absl::Status GrpcStorage::Delete(std::string_view key) {
  grpc::ClientContext context;
  SetDeadline(&context);
  pb::StorageDeleteArgs args;
  args.set_key(ToString(key));
  pb::StorageDeleteReply reply;
  grpc::Status status = stub_->Delete(&context, args, &reply);
  if (!status.ok()) return RpcError("storage delete", status);
  return StorageError("delete", reply.err());
}

absl::StatusOr<std::vector<std::string>> GrpcStorage::List(std::string_view prefix) {
  grpc::ClientContext context;
  SetDeadline(&context);
  pb::StorageListArgs args;
  args.set_prefix(ToString(prefix));
  pb::StorageListReply reply;
  grpc::Status status = stub_->List(&context, args, &reply);
  if (!status.ok()) return RpcError("storage list", status);
  absl::Status err = StorageError("list", reply.err());
  if (!err.ok()) return err;
  return std::vector<std::string>(reply.keys().begin(), reply.keys().end());
}

GrpcSystemView::GrpcSystemView(std::shared_ptr<grpc::Channel> channel)
    : stub_(pb::SystemView::NewStub(std::move(channel))) {}

absl::StatusOr<uint32_t> GrpcSystemView::ReplicationState() {
  grpc::ClientContext context;
  SetDeadline(&context);
  pb::ReplicationStateReply reply;
  grpc::Status status = stub_->ReplicationState(&context, pb::Empty(), &reply);
  if (!status.ok()) return RpcError("system view replication state", status);
  return static_cast<uint32_t>(reply.state());
}

absl::StatusOr<bool> GrpcSystemView::LocalMount() {
  grpc::ClientContext context;
  SetDeadline(&context);
  pb::LocalMountReply reply;
  grpc::Status status = stub_->LocalMount(&context, pb::Empty(), &reply);
  if (!status.ok()) return RpcError("system view local mount", status);
  return reply.local();
}

absl::StatusOr<std::string> GrpcSystemView::VaultVersion() {
  grpc::ClientContext context;
  SetDeadline(&context);
  pb::PluginEnvReply reply;
  grpc::Status status = stub_->PluginEnv(&context, pb::Empty(), &reply);
  if (!status.ok()) return RpcError("system view plugin environment", status);
  if (!reply.err().empty()) {
    return absl::UnavailableError(
        absl::StrCat("Vault system view plugin environment failed: ", reply.err()));
  }
  return reply.plugin_environment().vault_version();
}

}  // namespace vault_qualtrics
