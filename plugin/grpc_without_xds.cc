// Leaves gRPC's xDS support out of the statically linked plugin. In gRPC 1.51 the function
// grpc_core::RegisterExtraFilters registers only xDS parts: its resolver and load-balancing
// policies, the RBAC filter, the file-watcher certificate provider and the credentials that xDS
// bootstrap files name. A gRPC built with GRPC_NO_XDS compiles that function empty
// (src/core/plugin_registry/grpc_plugin_registry_extra.cc).
//
// The empty definition here keeps gRPC's own out of the link, with all the code that only it
// references: 2.1 MB of the stripped binary, RE2 included. The plugin uses none of it, because it
// dials only the Unix socket or loopback address that Vault's broker names.
//
// The function is named by its mangled symbol because gRPC does not install the header that
// declares grpc_core::CoreConfiguration::Builder.
extern "C" void VaultQualtricsRegisterNoExtraGrpcFilters(void* builder) __asm__(
    "_ZN9grpc_core20RegisterExtraFiltersEPNS_17CoreConfiguration7BuilderE");

extern "C" void VaultQualtricsRegisterNoExtraGrpcFilters(void*) {}
