// Command gen-docs starts the plugin, mounts it, and writes the Markdown path reference rendered
// from its help and OpenAPI output. The test in tests/host/docs fails when docs/paths.md differs
// from what this command writes.
//
// Usage, from tests/host:
//
//	PLUGIN_BINARY=$PWD/../../bazel-bin/plugin/vault-plugin-secrets-qualtrics \
//	    go run ./cmd/gen-docs -o ../../docs/paths.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/docs"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "gen-docs: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen-docs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pluginPath := fs.String("plugin", os.Getenv("PLUGIN_BINARY"), "path of the plugin binary (default: $PLUGIN_BINARY)")
	output := fs.String("o", "", "file to write the Markdown to (default: standard output)")
	logLevel := fs.String("log-level", "warn", "level of host and plugin log lines on standard error: trace, debug, info, warn, error or off")
	timeout := fs.Duration("timeout", 2*time.Minute, "maximum time for starting the plugin and rendering")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q: gen-docs takes only options", fs.Args())
	}
	if *pluginPath == "" {
		return errors.New("no plugin binary: pass -plugin PATH or set PLUGIN_BINARY")
	}

	logger := hclog.NewNullLogger()
	if *logLevel != "off" {
		logger = hclog.New(&hclog.LoggerOptions{
			Name:   "gen-docs",
			Level:  hclog.LevelFromString(*logLevel),
			Output: stderr,
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	catalog, err := vaulthost.NewCatalog(vaulthost.CatalogOptions{
		Name:    "qualtrics",
		Command: *pluginPath,
		Logger:  logger,
	})
	if err != nil {
		return err
	}
	mount, err := catalog.Enable(ctx, vaulthost.MountOptions{Path: "qualtrics/"})
	if err != nil {
		return err
	}
	markdown, renderErr := docs.Render(ctx, mount)
	mount.Disable(ctx)
	if renderErr != nil {
		return renderErr
	}

	if *output == "" {
		_, err := stdout.Write(markdown)
		return err
	}
	return writeFileAtomically(*output, markdown)
}

// writeFileAtomically writes data to a temporary file beside path and renames it over path, so an
// interrupted run leaves the previous reference in place.
func writeFileAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gen-docs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
