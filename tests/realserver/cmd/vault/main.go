// Command vault is the Vault 1.14.2 server and CLI, built from the MPL-2.0 hashicorp/vault module.
// The end-to-end tests start this binary, so they run against a real server and its plugin
// catalog rather than an imitation of either.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
