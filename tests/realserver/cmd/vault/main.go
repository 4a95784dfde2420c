// Command vault is the Vault 1.14.2 server and CLI, built from the MPL-2.0 hashicorp/vault module.
// The end-to-end tests start this binary, so they run against a real server and its plugin
// catalog rather than an imitation of either.

// Vault 1.14 links gosnowflake v1.6.24, whose package init parses bundled CA certificates with
// negative serial numbers. Go 1.23 and later reject those unless this setting restores the old
// behaviour, and the init panics before main runs.
//go:debug x509negativeserial=1

package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
