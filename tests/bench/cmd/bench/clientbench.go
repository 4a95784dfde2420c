package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// clientSteps are the issuance steps that the C++ client benchmark
// (//backend/qualtrics:client_benchmark) times inside one process. Per key type it times key
// generation with the CSR, and the create call over HTTPS. A list call gives the cost of one
// HTTPS exchange on a reused connection.
type clientSteps struct {
	Runs int
	// List is the median time of one list call on an empty organization, in ms.
	List stat
	// Prepare is key generation plus CSR, and Create the create call, in ms by key label.
	Prepare, Create map[string]stat
	// Err explains why the steps are missing, when they are.
	Err error
}

var (
	listLine = regexp.MustCompile(`^list \(empty organization\): median ([0-9.]+) ms, min ([0-9.]+) ms, max ([0-9.]+) ms`)
	keyLine  = regexp.MustCompile(`^(\S+)\s+([0-9.]+) \[\s*([0-9.]+)\] ms\s+([0-9.]+) \[\s*([0-9.]+),\s*([0-9.]+)\] ms`)
)

// runClientBenchmark runs the C++ client benchmark binary against its own simulator and parses
// its table. A missing binary does not fail the run, and the report then states that the
// breakdown was not measured.
func runClientBenchmark(ctx context.Context, binary, simulator string, runs int) clientSteps {
	steps := clientSteps{Runs: runs, Prepare: map[string]stat{}, Create: map[string]stat{}}
	if binary == "" {
		steps.Err = fmt.Errorf("no client benchmark binary given (-client-benchmark)")
		return steps
	}
	if _, err := os.Stat(binary); err != nil {
		steps.Err = fmt.Errorf("client benchmark not built (%v); build it with bazel build //backend/qualtrics:client_benchmark", err)
		return steps
	}
	sim, err := filepath.Abs(simulator)
	if err != nil {
		steps.Err = err
		return steps
	}

	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, strconv.Itoa(runs))
	cmd.Env = append(os.Environ(), "QUALTRICS_SIM_BIN="+sim)
	out, err := cmd.Output()
	if err != nil {
		steps.Err = fmt.Errorf("client benchmark %s failed: %w", binary, err)
		return steps
	}

	for _, line := range regexp.MustCompile(`\r?\n`).Split(string(out), -1) {
		if m := listLine.FindStringSubmatch(line); m != nil {
			steps.List = stat{Median: number(m[1]), Min: number(m[2]), Max: number(m[3]), OK: true}
		} else if m := keyLine.FindStringSubmatch(line); m != nil {
			// The benchmark prints the minimum of key generation only.
			steps.Prepare[m[1]] = stat{Median: number(m[2]), Min: number(m[3]), Max: number(m[2]), OK: true}
			steps.Create[m[1]] = stat{Median: number(m[4]), Min: number(m[5]), Max: number(m[6]), OK: true}
		}
	}
	if !steps.List.OK || len(steps.Create) == 0 {
		steps.Err = fmt.Errorf("client benchmark printed no table that the benchmark can read:\n%s", out)
	}
	return steps
}

func number(text string) float64 {
	v, _ := strconv.ParseFloat(text, 64)
	return v
}
