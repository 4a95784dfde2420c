// Command bench-start measures how fast the plugin starts under the Vault SDK's plugin client
// and how much memory it holds once mounted. It starts the binary -runs times, one process at a
// time, and prints the median, minimum and maximum of:
//
//   - handshake: from starting the binary to go-plugin reading its handshake line,
//   - connected: from starting the binary to an open gRPC connection,
//   - mounted: from starting the binary to the end of Setup (plugin.NewBackendV5 + Setup),
//   - RSS: the process's resident set size (VmRSS in /proc/PID/status) right after Setup.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
)

func main() {
	pluginPath := flag.String("plugin", os.Getenv("PLUGIN_BINARY"), "path of the plugin binary (default: $PLUGIN_BINARY)")
	runs := flag.Int("runs", 15, "number of starts to measure")
	flag.Parse()
	if *pluginPath == "" {
		fmt.Fprintln(os.Stderr, "Error: no plugin binary: pass -plugin PATH or set PLUGIN_BINARY")
		os.Exit(1)
	}
	if *runs < 1 || *runs > 1000 {
		fmt.Fprintf(os.Stderr, "Error: -runs must be between 1 and 1000, got %d\n", *runs)
		os.Exit(1)
	}
	if err := bench(*pluginPath, *runs); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func bench(pluginPath string, runs int) error {
	catalog, err := vaulthost.NewCatalog(vaulthost.CatalogOptions{Name: "qualtrics", Command: pluginPath})
	if err != nil {
		return err
	}
	var handshake, connected, mounted []time.Duration
	var rssKiB []int
	for i := 0; i < runs; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		started := time.Now()
		mount, err := catalog.Enable(ctx, vaulthost.MountOptions{Path: "qualtrics/"})
		elapsed := time.Since(started)
		if err != nil {
			cancel()
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		proc := mount.Process()
		rss, err := residentKiB(proc.PID)
		mount.Disable(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		handshake = append(handshake, proc.HandshakeDuration)
		connected = append(connected, proc.StartDuration)
		mounted = append(mounted, elapsed)
		rssKiB = append(rssKiB, rss)
	}
	fmt.Printf("plugin: %s\nruns: %d (one process at a time)\n", pluginPath, runs)
	printDurations("start to handshake line", handshake)
	printDurations("start to gRPC connection", connected)
	printDurations("start to end of Setup", mounted)
	sort.Ints(rssKiB)
	fmt.Printf("%-26s median %.1f MiB  min %.1f MiB  max %.1f MiB\n", "RSS after Setup",
		float64(rssKiB[len(rssKiB)/2])/1024, float64(rssKiB[0])/1024, float64(rssKiB[len(rssKiB)-1])/1024)
	return nil
}

func printDurations(label string, values []time.Duration) {
	sort.Slice(values, func(i, j int) bool { return values[i] < values[j] })
	fmt.Printf("%-26s median %v  min %v  max %v\n", label,
		values[len(values)/2].Round(10*time.Microsecond), values[0].Round(10*time.Microsecond),
		values[len(values)-1].Round(10*time.Microsecond))
}

// residentKiB reads VmRSS of a process from /proc, in KiB.
func residentKiB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("cannot read memory of process %d: %w", pid, err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) >= 2 && fields[0] == "VmRSS:" {
			return strconv.Atoi(fields[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS line in /proc/%d/status", pid)
}
