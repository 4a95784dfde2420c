// Package protocol holds tests that drive the built plugin binary through the Vault SDK's plugin
// client: process start, handshake, Setup, multiplexing, storage through the broker, errors and
// shutdown. The binary comes from PLUGIN_BINARY; the tests build nothing themselves.
package protocol
