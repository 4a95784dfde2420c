package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuickRun runs the smoke mode of the benchmark end to end against the real plugin, the
// simulator and the two Go plugins, and checks that every figure was measured and both report
// files were written.
func TestQuickRun(t *testing.T) {
	plugin := requireEnv(t, "PLUGIN_BINARY", "bazel build //plugin:vault-plugin-secrets-qualtrics, then PLUGIN_BINARY=$PWD/bazel-bin/plugin/vault-plugin-secrets-qualtrics")
	sim := requireEnv(t, "QUALTRICS_SIM_BIN", "go -C tests/qualtrics-sim build -o bin/qualtrics-sim ., then QUALTRICS_SIM_BIN=$PWD/tests/qualtrics-sim/bin/qualtrics-sim")

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "./peer", "./floor")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the peer and floor plugins failed: %v\n%s", err, out)
	}

	// The TLS floor program is a Bazel target, so scripts/test passes its path in TLS_FLOOR_BINARY.
	tlsFloor := os.Getenv("TLS_FLOOR_BINARY")
	if tlsFloor == "" {
		t.Log("TLS_FLOOR_BINARY is not set, so the start-up lower bound is not checked")
	}

	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	r, err := run(ctx, options{
		Plugin:    plugin,
		Simulator: sim,
		Peer:      filepath.Join(bin, "peer"),
		Floor:     filepath.Join(bin, "floor"),
		TLSFloor:  tlsFloor,
		Out:       out,
		Quick:     true,
		Command:   "bench -quick",
	}, &stdout)
	if err != nil {
		t.Fatalf("quick benchmark run failed: %v\noutput:\n%s", err, stdout.String())
	}

	for _, m := range r.Metrics {
		for _, target := range r.Targets {
			if m.OursOnly && target.Key != keyOurs {
				continue
			}
			if !r.Stats[target.Key][m.Key].OK {
				t.Errorf("figure %q was not measured for %s", m.Label, target.Key)
			}
		}
	}
	if tlsFloor != "" {
		for _, key := range []string{"exec_handshake_ms", "rss_handshake_mib"} {
			if !r.Stats[keyTLSFloor][key].OK {
				t.Errorf("figure %q was not measured for the TLS floor program", key)
			}
		}
	}
	if got := r.Stats[keyOurs]["expiry_creates"].Median; got != 1 {
		t.Errorf("creates for concurrent reads of an expired certificate = %v, want 1", got)
	}

	markdown, err := os.ReadFile(filepath.Join(out, "performance.md"))
	if err != nil {
		t.Fatalf("performance.md was not written: %v", err)
	}
	for _, want := range []string{"| Cached reads per second, 64 callers (1/s) |", "![", "## Machine and run", "command: `bench -quick`"} {
		if !strings.Contains(string(markdown), want) {
			t.Errorf("performance.md does not contain %q", want)
		}
	}
	if tlsFloor != "" && !strings.Contains(string(markdown), "## Lower bound of the start") {
		t.Errorf("performance.md has no section on the TLS floor program")
	}
	f, err := os.Open(filepath.Join(out, "performance.png"))
	if err != nil {
		t.Fatalf("performance.png was not written: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("performance.png is not a valid PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
		t.Errorf("performance.png is %dx%d pixels, want at least 400x300", b.Dx(), b.Dy())
	}
}

// requireEnv returns an environment variable that names an existing file, or fails the test
// with how to provide it.
func requireEnv(t *testing.T, name, how string) string {
	t.Helper()
	path := os.Getenv(name)
	if path == "" {
		t.Fatalf("%s is not set: %s", name, how)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s=%q: %v; %s", name, path, err, how)
	}
	return path
}
