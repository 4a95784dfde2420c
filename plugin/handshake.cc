#include "plugin/handshake.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "plugin/environment.h"

namespace vault_qualtrics {

std::string Base64RawStdEncode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t group = (static_cast<uint8_t>(data[i]) << 16) |
                     (static_cast<uint8_t>(data[i + 1]) << 8) | static_cast<uint8_t>(data[i + 2]);
    out.push_back(kAlphabet[(group >> 18) & 0x3f]);
    out.push_back(kAlphabet[(group >> 12) & 0x3f]);
    out.push_back(kAlphabet[(group >> 6) & 0x3f]);
    out.push_back(kAlphabet[group & 0x3f]);
  }

  // One or two bytes left: two or three characters, without padding.
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t group = static_cast<uint8_t>(data[i]) << 16;
    out.push_back(kAlphabet[(group >> 18) & 0x3f]);
    out.push_back(kAlphabet[(group >> 12) & 0x3f]);
  } else if (rest == 2) {
    uint32_t group =
        (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
    out.push_back(kAlphabet[(group >> 18) & 0x3f]);
    out.push_back(kAlphabet[(group >> 12) & 0x3f]);
    out.push_back(kAlphabet[(group >> 6) & 0x3f]);
  }
  return out;
}

std::string FormatHandshakeLine(int app_protocol_version, std::string_view network,
                                std::string_view address, std::string_view server_cert_der) {
  return absl::StrCat(kCoreProtocolVersion, "|", app_protocol_version, "|",
                      absl::string_view(network.data(), network.size()), "|",
                      absl::string_view(address.data(), address.size()), "|grpc|",
                      Base64RawStdEncode(server_cert_der), "\n");
}

}  // namespace vault_qualtrics
