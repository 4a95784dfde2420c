// The plugin process's entry point: checks how it was started, serves the backend to Vault over
// go-plugin's protocol, and returns the process exit status.
#ifndef PLUGIN_SERVE_H_
#define PLUGIN_SERVE_H_

#include <string_view>

#include "backend/logical/logical.h"

namespace vault_qualtrics {

// Runs the plugin until Vault shuts it down, SIGTERM or SIGINT arrives, the host closes its
// connection, or the parent process exits. Returns 0 after a clean stop, and 1 after logging one
// line when the environment is unusable: no magic cookie (run by hand), no protocol version 5 on
// offer, no or an invalid AutoMTLS client certificate, or an unusable socket directory.
// `-version` or `--version` prints `version` on stdout and returns 0 without any checks.
//
// Writes only the go-plugin handshake line to stdout; logs go to stderr as JSON lines.
int ServePlugin(int argc, char** argv, BackendFactory factory, std::string_view version);

}  // namespace vault_qualtrics

#endif  // PLUGIN_SERVE_H_
