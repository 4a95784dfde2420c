#!/bin/bash
# Checks which shared libraries the shipped plugin binary loads at exec. gRPC, protobuf, Abseil
# and their helpers must be linked in statically, and libcurl must be loaded on first use by
# plugin/lazy_curl.cc, so none of them may appear as a DT_NEEDED entry. The binary must not
# export curl_* functions either, or the loaded libcurl would call into the loader. gRPC's xDS
# support must stay out (plugin/grpc_without_xds.cc).
set -u
binary="$1"
status=0

needed=$(readelf --dynamic --wide "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [ -z "$needed" ]; then
  echo "FAIL: readelf listed no NEEDED entries for $binary"
  exit 1
fi
echo "NEEDED entries of $binary:"
echo "$needed"

for pattern in libcurl libgrpc libgpr libprotobuf libabsl_ libre2 libcares libupb \
  libaddress_sorting; do
  match=$(echo "$needed" | grep "^$pattern" || true)
  if [ -n "$match" ]; then
    echo "FAIL: $binary loads $match at exec."
    if [ "$pattern" = libcurl ]; then
      echo "A curl_* function that the backend calls is missing from plugin/lazy_curl.cc."
    else
      echo "A static archive is missing from STATIC_BINARY_LINKOPTS in bazel/copts.bzl."
    fi
    status=1
  fi
done

exported=$(readelf --dyn-syms --wide "$binary" | awk '$7 != "UND" && $8 ~ /^curl_/ {print $8}')
if [ -n "$exported" ]; then
  echo "FAIL: $binary exports libcurl's function names: $exported"
  status=1
fi
# The xDS client reads its bootstrap file from this variable, so the name is in any binary that
# links it.
if grep -q -a GRPC_XDS_BOOTSTRAP "$binary"; then
  echo "FAIL: $binary contains gRPC's xDS client. plugin/grpc_without_xds.cc must be linked into it."
  status=1
fi
exit $status
