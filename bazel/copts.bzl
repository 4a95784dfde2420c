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
    "-lprotobuf",
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
