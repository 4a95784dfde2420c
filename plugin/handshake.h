// The handshake line that go-plugin's host reads from the plugin's stdout:
// CORE|APP|NETWORK|ADDRESS|PROTOCOL|SERVERCERT, e.g.
// "1|5|unix|/tmp/plugin-abc/plugin.sock|grpc|MIIB...\n".
#ifndef PLUGIN_HANDSHAKE_H_
#define PLUGIN_HANDSHAKE_H_

#include <string>
#include <string_view>

namespace vault_qualtrics {

// Encodes `data` as base64 with the standard alphabet and no '=' padding (Go's
// base64.RawStdEncoding), which is how go-plugin reads the server certificate field.
std::string Base64RawStdEncode(std::string_view data);

// Formats the handshake line, ending in '\n'. `server_cert_der` is the DER of the TLS leaf
// certificate; when it is empty the line ends with "|grpc|".
std::string FormatHandshakeLine(int app_protocol_version, std::string_view network,
                                std::string_view address, std::string_view server_cert_der);

}  // namespace vault_qualtrics

#endif  // PLUGIN_HANDSHAKE_H_
