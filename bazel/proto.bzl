"""Compiles a .proto file with the system protoc and grpc_cpp_plugin into a cc_library."""

load("@rules_cc//cc:defs.bzl", "cc_library")
load("//bazel:copts.bzl", "GRPC_LINKOPTS")

def cc_grpc_proto(name, src, deps = [], visibility = None):
    """Generates message and service code for `src` and wraps it in cc_library `name`.

    Args:
      name: the cc_library target.
      src: one .proto file in this package; imports are resolved from the repository root.
      deps: cc_grpc_proto targets of the files that `src` imports.
      visibility: visibility of the library.
    """
    base = src[:-len(".proto")]
    pkg = native.package_name()
    prefix = pkg + "/" + base if pkg else base
    outs = [base + ext for ext in [".pb.h", ".pb.cc", ".grpc.pb.h", ".grpc.pb.cc"]]
    native.genrule(
        name = name + "_gen",
        srcs = [src] + [d + "_proto_srcs" for d in deps],
        outs = outs,
        cmd = " ".join([
            "protoc -I. --cpp_out=$(GENDIR) --grpc_out=$(GENDIR)",
            "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin",
            "$(location %s)" % src,
        ]),
    )
    native.filegroup(
        name = name + "_proto_srcs",
        srcs = [src] + [d + "_proto_srcs" for d in deps],
        visibility = visibility,
    )
    cc_library(
        name = name,
        srcs = [base + ".pb.cc", base + ".grpc.pb.cc"],
        hdrs = [base + ".pb.h", base + ".grpc.pb.h"],
        deps = deps,
        linkopts = GRPC_LINKOPTS,
        visibility = visibility,
    )
