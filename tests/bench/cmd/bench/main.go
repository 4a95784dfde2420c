// Command bench measures our C++ Qualtrics plugin side by side with two Go plugins, in one run
// and through the same Vault SDK host harness (tests/host/vaulthost: go-plugin with AutoMTLS,
// protocol 5, storage served over the broker):
//
//   - qualtrics: our plugin, with the Qualtrics simulator on loopback;
//   - kv: HashiCorp's vault-plugin-secrets-kv (version 2) served by tests/bench/peer;
//   - floor: tests/bench/floor, one path whose read is one storage Get over the broker.
//
// Each repetition starts every plugin afresh and measures start-up, resident memory, cached-read
// latency and throughput at 1, 8 and 64 concurrent callers, and for our plugin the issuance per
// key type and 100 concurrent reads of an expired certificate. It writes performance.md and
// performance.png to -out and prints the table.
//
// Usage, from the repository root after building the plugin and the simulator:
//
//	(cd tests/bench && go build -o bin/ ./peer ./floor ./cmd/bench)
//	tests/bench/bin/bench -out docs/
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
)

// simMaxActive is the simulator's and the config's limit of active certificates. Each repetition
// resets the simulator and issues fewer certificates than this.
const simMaxActive = 50

// options are the command-line settings of one benchmark run.
type options struct {
	Plugin, Simulator, Peer, Floor string
	// ClientBenchmark is the C++ client benchmark binary; empty or missing leaves out the
	// per-step issuance times.
	ClientBenchmark string
	// TLSFloor is the program that does only the TLS set-up of the plugin's start. An empty or
	// missing path leaves out the start-up lower bound.
	TLSFloor string
	Out      string
	Quick    bool
	Reps     int
	Reads    int
	// Command is the command line recorded in the report.
	Command string
}

func main() {
	var opts options
	self, _ := os.Executable()
	binDir := filepath.Dir(self)
	flag.StringVar(&opts.Plugin, "plugin", envOr("PLUGIN_BINARY", "bazel-bin/plugin/vault-plugin-secrets-qualtrics"),
		"our plugin binary (default: $PLUGIN_BINARY, else the Bazel output)")
	flag.StringVar(&opts.Simulator, "sim", envOr("QUALTRICS_SIM_BIN", "tests/qualtrics-sim/bin/qualtrics-sim"),
		"Qualtrics simulator binary (default: $QUALTRICS_SIM_BIN, else tests/qualtrics-sim/bin)")
	flag.StringVar(&opts.Peer, "peer", filepath.Join(binDir, "peer"), "Go peer plugin binary (kv)")
	flag.StringVar(&opts.Floor, "floor", filepath.Join(binDir, "floor"), "Go floor plugin binary")
	flag.StringVar(&opts.ClientBenchmark, "client-benchmark", "bazel-bin/backend/qualtrics/client_benchmark",
		"C++ client benchmark for the per-step issuance times; skipped when missing")
	flag.StringVar(&opts.TLSFloor, "tls-floor", "bazel-bin/tests/bench/tls_floor/tls_floor",
		"the TLS set-up alone, for the start-up lower bound; skipped when missing")
	flag.StringVar(&opts.Out, "out", "", "directory for performance.md and performance.png; empty writes no files")
	flag.BoolVar(&opts.Quick, "quick", false, "smoke run: 300 reads per level and 1 repetition")
	flag.IntVar(&opts.Reps, "reps", 0, "repetitions (default 5, or 1 with -quick)")
	flag.IntVar(&opts.Reads, "reads", 0, "measured reads per concurrency level (default 10000, or 300 with -quick)")
	flag.Parse()
	opts.Command = strings.Join(os.Args, " ")
	if _, err := run(context.Background(), opts, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// run executes the whole benchmark, prints the table to stdout, writes the report files to
// opts.Out and returns the report.
func run(ctx context.Context, opts options, stdout io.Writer) (*report, error) {
	if opts.Reps == 0 {
		opts.Reps = 5
		if opts.Quick {
			opts.Reps = 1
		}
	}
	if opts.Reads == 0 {
		opts.Reads = 10000
		if opts.Quick {
			opts.Reads = 300
		}
	}
	if opts.Reps < 1 || opts.Reps > 100 {
		return nil, fmt.Errorf("-reps must be between 1 and 100, got %d", opts.Reps)
	}
	if opts.Reads < 10 || opts.Reads > 1000000 {
		return nil, fmt.Errorf("-reads must be between 10 and 1000000, got %d", opts.Reads)
	}
	for _, binary := range []struct{ flag, path string }{
		{"-plugin", opts.Plugin}, {"-sim", opts.Simulator}, {"-peer", opts.Peer}, {"-floor", opts.Floor},
	} {
		if info, err := os.Stat(binary.path); err != nil || info.IsDir() {
			return nil, fmt.Errorf("%s: no executable at %q: build it first (see the command's doc comment)", binary.flag, binary.path)
		}
	}
	cfg := settings{Reads: opts.Reads, WarmupReads: min(200, opts.Reads)}

	// The catalog pins each binary's SHA-256 as Vault does, so a rebuild during the run would
	// stop it; private copies keep the binaries fixed.
	binDir, err := os.MkdirTemp("", "qualtrics-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)
	for _, path := range []*string{&opts.Plugin, &opts.Peer, &opts.Floor} {
		if *path, err = copyExecutable(*path, binDir); err != nil {
			return nil, err
		}
	}
	if info, err := os.Stat(opts.TLSFloor); opts.TLSFloor != "" && (err != nil || info.IsDir()) {
		fmt.Fprintf(os.Stderr, "bench: no TLS floor program at %q, so the report leaves out the start-up lower bound\n", opts.TLSFloor)
		opts.TLSFloor = ""
	}

	sim, err := startSimulator(ctx, opts.Simulator, simMaxActive)
	if err != nil {
		return nil, err
	}
	defer sim.Stop()
	var inserted struct {
		Certificate string `json:"certificate"`
	}
	if err := sim.control("POST", "/certificates", map[string]any{"organization_id": sim.Ready.OrganizationID}, &inserted); err != nil {
		return nil, err
	}

	logger := hclog.New(&hclog.LoggerOptions{Name: "bench", Level: hclog.Error, Output: os.Stderr})
	targets := newTargets(opts.Plugin, opts.Peer, opts.Floor, sim, payload(inserted.Certificate))
	for _, t := range targets {
		t.catalog, err = vaulthost.NewCatalog(vaulthost.CatalogOptions{Name: t.Key, Command: t.Binary, Logger: logger})
		if err != nil {
			return nil, err
		}
	}

	starter, err := newExecStarter()
	if err != nil {
		return nil, err
	}
	machine := machineInfo()
	results := map[string][]sample{}
	began := time.Now()
	for rep := 0; rep < opts.Reps; rep++ {
		if err := sim.Reset(); err != nil {
			return nil, err
		}
		// Rotate the order so no plugin always runs first after the simulator reset.
		for i := range targets {
			t := targets[(rep+i)%len(targets)]
			repCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			s, err := measureTarget(repCtx, t, sim, starter, cfg)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("repetition %d, plugin %s: %w", rep+1, t.Key, err)
			}
			results[t.Key] = append(results[t.Key], s)
			fmt.Fprintf(os.Stderr, "repetition %d/%d: %s done (%v so far)\n", rep+1, opts.Reps, t.Key,
				time.Since(began).Round(time.Second))
		}
		if opts.TLSFloor != "" {
			s := sample{}
			if err := starter.startAlone(opts.TLSFloor, "ready", s); err != nil {
				return nil, fmt.Errorf("repetition %d, TLS floor: %w", rep+1, err)
			}
			results[keyTLSFloor] = append(results[keyTLSFloor], s)
		}
	}

	steps := runClientBenchmark(ctx, opts.ClientBenchmark, opts.Simulator, opts.Reps)
	report := buildReport(opts, cfg, targets, results, machine, time.Since(began))
	report.Steps = steps
	fmt.Fprint(stdout, report.Markdown(""))
	if opts.Out != "" {
		if err := os.MkdirAll(opts.Out, 0o755); err != nil {
			return nil, err
		}
		if err := writeChart(filepath.Join(opts.Out, "performance.png"), report); err != nil {
			return nil, fmt.Errorf("writing the chart failed: %w", err)
		}
		if err := os.WriteFile(filepath.Join(opts.Out, "performance.md"), []byte(report.Markdown("performance.png")), 0o644); err != nil {
			return nil, err
		}
	}
	if !report.ExpiryCreatesOK {
		return report, fmt.Errorf("%d concurrent reads of an expired certificate did not cause exactly one create at Qualtrics in every repetition", expiryReaders)
	}
	return report, nil
}

// copyExecutable copies an executable file into dir and returns the copy's path.
func copyExecutable(path, dir string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	target := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(target, data, 0o700); err != nil {
		return "", err
	}
	return target, nil
}
