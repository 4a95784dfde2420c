"""Compiler options and link flags shared by every C++ target."""

WARNING_COPTS = [
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
]

# System libraries from Debian's packages, grouped by what needs them.
GRPC_LINKOPTS = [
    "-lgrpc++",
    "-lgrpc",
    "-lgpr",
    "-lprotobuf-lite",
    "-labsl_synchronization",
]

ABSL_LINKOPTS = [
    "-labsl_status",
    "-labsl_statusor",
    "-labsl_strings",
    "-labsl_str_format_internal",
    "-labsl_cord",
    "-labsl_time",
    "-labsl_synchronization",
    "-labsl_throw_delegate",
]

OPENSSL_LINKOPTS = ["-lssl", "-lcrypto"]

CURL_LINKOPTS = ["-lcurl"]

GTEST_LINKOPTS = ["-lgmock", "-lgtest", "-lpthread"]

# Static archives for the shipped plugin binary. Loading gRPC, protobuf and Abseil as some 60
# shared libraries took more time at start-up than the rest of the work before the handshake
# line, and their pages counted in the resident memory. The binary lists these archives first,
# as one group, so their order does not matter. The -l flags that libraries declare above come
# later on the command line: with --as-needed they add no shared library, because the archives
# already define every symbol. OpenSSL stays shared because libcurl loads it too, and the process
# must hold one copy of it. Debian ships no static libcurl with all its dependencies. glibc and
# libstdc++ stay shared as well.
_STATIC_ARCHIVES = [
    "grpc++",
    "grpc",
    "gpr",
    "upb",
    "re2",
    "cares",
    "address_sorting",
    "protobuf-lite",
    "absl_bad_optional_access",
    "absl_bad_variant_access",
    "absl_base",
    "absl_city",
    "absl_civil_time",
    "absl_cord",
    "absl_cord_internal",
    "absl_cordz_functions",
    "absl_cordz_handle",
    "absl_cordz_info",
    "absl_debugging_internal",
    "absl_demangle_internal",
    "absl_exponential_biased",
    "absl_graphcycles_internal",
    "absl_hash",
    "absl_hashtablez_sampler",
    "absl_int128",
    "absl_log_severity",
    "absl_low_level_hash",
    "absl_malloc_internal",
    "absl_random_distributions",
    "absl_random_internal_platform",
    "absl_random_internal_pool_urbg",
    "absl_random_internal_randen",
    "absl_random_internal_randen_hwaes",
    "absl_random_internal_randen_hwaes_impl",
    "absl_random_internal_randen_slow",
    "absl_random_internal_seed_material",
    "absl_random_seed_gen_exception",
    "absl_random_seed_sequences",
    "absl_raw_hash_set",
    "absl_raw_logging_internal",
    "absl_spinlock_wait",
    "absl_stacktrace",
    "absl_status",
    "absl_statusor",
    "absl_str_format_internal",
    "absl_strerror",
    "absl_strings",
    "absl_strings_internal",
    "absl_symbolize",
    "absl_synchronization",
    "absl_throw_delegate",
    "absl_time",
    "absl_time_zone",
]

STATIC_BINARY_LINKOPTS = [
    "-Wl,-O1",
    "-Wl,--gc-sections",
    "-Wl,--as-needed",
    "-Wl,--start-group",
] + ["-l:lib%s.a" % name for name in _STATIC_ARCHIVES] + [
    "-Wl,--end-group",
    # gold folds identical functions whose address is never taken. This cut about 0.25 MB from
    # the file and some 0.6 MB from the resident text pages after start-up.
    "-Wl,--icf=safe",
    # zlib stays shared because libcurl, once loaded, uses the shared copy as well.
    "-lz",
    # Keeps the archives' symbols out of the dynamic symbol table, so that the shared libraries
    # the process still loads bind to their own dependencies and the file stays small.
    "-Wl,--exclude-libs,ALL",
]
