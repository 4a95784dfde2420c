package soak

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// usageSample is the plugin process's resource use at one point of the run.
type usageSample struct {
	// Label names the point, e.g. "warm-up" or "phase 3".
	Label string
	// Reads and Mutations count the requests completed so far.
	Reads     int
	Mutations int
	// Elapsed is the time since the first request.
	Elapsed time.Duration
	// RSSKiB is VmRSS from /proc/PID/status, in KiB.
	RSSKiB int64
	// FDs is the number of entries in /proc/PID/fd.
	FDs int
	// Threads is Threads from /proc/PID/status.
	Threads int
}

// readUsage reads the resident set size, thread count and open descriptor count of process pid
// from /proc (Linux only).
func readUsage(pid int) (rssKiB int64, fds int, threads int, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	rssKiB, threads = -1, -1
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "VmRSS:":
			// The line reads "VmRSS:    12345 kB".
			rssKiB, err = strconv.ParseInt(fields[1], 10, 64)
		case "Threads:":
			threads, err = strconv.Atoi(fields[1])
		}
		if err != nil {
			return 0, 0, 0, fmt.Errorf("invalid %s line in /proc/%d/status: %w", fields[0], pid, err)
		}
	}
	if err := scanner.Err(); err != nil {
		return 0, 0, 0, err
	}
	if rssKiB < 0 || threads < 0 {
		return 0, 0, 0, fmt.Errorf("no VmRSS or Threads line in /proc/%d/status", pid)
	}
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	return rssKiB, len(entries), threads, nil
}

// flatLimits are the largest changes checkFlat accepts.
type flatLimits struct {
	// FDMargin is how many more open descriptors the end of the run may have than the first
	// sample.
	FDMargin int
	// ThreadMargin is how many more threads the end of the run may have than the first sample.
	ThreadMargin int
	// RSSGrowthKiB is how much VmRSS may grow from the middle sample to the end of the run, in
	// KiB.
	RSSGrowthKiB int64
}

// middleSample returns the index of the sample whose read count is nearest to halfway between
// the first and the last sample's, taking the earlier one on a tie.
func middleSample(samples []usageSample) int {
	first, last := samples[0].Reads, samples[len(samples)-1].Reads
	half := first + (last-first)/2
	best := 0
	for i, s := range samples {
		if abs(s.Reads-half) < abs(samples[best].Reads-half) {
			best = i
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// checkFlat compares the samples of one run, the first taken after warm-up, and returns one
// message per limit that is exceeded (none when usage stayed flat). Descriptors and threads are
// compared between the first sample and the end of the run. Memory is compared between the
// middle sample and the end, because the allocator may still grow its arenas early in the run.
// The end value of each measure is the lower of the last two samples. One transient peak, such
// as a gRPC thread that has not exited yet, then does not fail the run, but a leak still does
// because it grows in every sample.
func checkFlat(samples []usageSample, limits flatLimits) []string {
	if len(samples) < 4 {
		return []string{fmt.Sprintf("need at least 4 samples (after warm-up, middle, last two), got %d", len(samples))}
	}
	first := samples[0]
	middle := samples[middleSample(samples)]
	lastTwo := samples[len(samples)-2:]
	var problems []string
	if end := lowerOf(lastTwo, func(s usageSample) int64 { return int64(s.FDs) }); end.FDs-first.FDs > limits.FDMargin {
		problems = append(problems, fmt.Sprintf(
			"open descriptors grew from %d at %q to %d at %q, more than the allowed %d",
			first.FDs, first.Label, end.FDs, end.Label, limits.FDMargin))
	}
	if end := lowerOf(lastTwo, func(s usageSample) int64 { return int64(s.Threads) }); end.Threads-first.Threads > limits.ThreadMargin {
		problems = append(problems, fmt.Sprintf(
			"threads grew from %d at %q to %d at %q, more than the allowed %d",
			first.Threads, first.Label, end.Threads, end.Label, limits.ThreadMargin))
	}
	if end := lowerOf(lastTwo, func(s usageSample) int64 { return s.RSSKiB }); end.RSSKiB-middle.RSSKiB > limits.RSSGrowthKiB {
		problems = append(problems, fmt.Sprintf(
			"VmRSS grew by %d KiB from %d KiB at %q (%d reads) to %d KiB at %q (%d reads), more than the allowed %d KiB",
			end.RSSKiB-middle.RSSKiB, middle.RSSKiB, middle.Label, middle.Reads, end.RSSKiB, end.Label,
			end.Reads, limits.RSSGrowthKiB))
	}
	return problems
}

// lowerOf returns the sample with the lower value of measure, the earlier one on a tie.
func lowerOf(samples []usageSample, measure func(usageSample) int64) usageSample {
	lowest := samples[0]
	for _, s := range samples[1:] {
		if measure(s) < measure(lowest) {
			lowest = s
		}
	}
	return lowest
}

// formatSamples renders the samples as a table for the test log.
func formatSamples(samples []usageSample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %7s %9s %8s %10s %9s %4s %7s\n",
		"point", "reads", "mutations", "elapsed", "VmRSS KiB", "ΔRSS KiB", "fds", "threads")
	for i, s := range samples {
		delta := int64(0)
		if i > 0 {
			delta = s.RSSKiB - samples[i-1].RSSKiB
		}
		fmt.Fprintf(&b, "%-10s %7d %9d %8s %10d %+9d %4d %7d\n",
			s.Label, s.Reads, s.Mutations, s.Elapsed.Round(100*time.Millisecond), s.RSSKiB, delta,
			s.FDs, s.Threads)
	}
	return b.String()
}
