package soak

import (
	"fmt"
	"strings"
	"testing"
)

// planSamples returns synthetic samples at the read counts of TestPluginSoak's plan (after
// warm-up and after each phase), with usage from the given function of the sample index and
// read count.
func planSamples(usage func(i, reads int) (rssKiB int64, fds, threads int)) []usageSample {
	var samples []usageSample
	for i := 0; i <= phases; i++ {
		reads := warmupReads + i*phaseReads
		rss, fds, threads := usage(i, reads)
		label := "warm-up"
		if i > 0 {
			label = fmt.Sprintf("phase %d", i)
		}
		samples = append(samples, usageSample{Label: label, Reads: reads, RSSKiB: rss, FDs: fds, Threads: threads})
	}
	return samples
}

// noisyRSS alternates 500 KiB around 30 MiB, the largest step between two samples seen in
// test runs of the soak test.
func noisyRSS(i int) int64 {
	if i%2 == 0 {
		return 30*1024 + 250
	}
	return 30*1024 - 250
}

func TestCheckFlatAcceptsNoise(t *testing.T) {
	samples := planSamples(func(i, reads int) (int64, int, int) {
		threads := 14
		if i == phases {
			// One transient peak in the last sample.
			threads = 24
		}
		fds := 12
		if i == phases-1 {
			fds = 20
		}
		return noisyRSS(i), fds, threads
	})
	if problems := checkFlat(samples, soakLimits); len(problems) != 0 {
		t.Errorf("flat series with noise reported as a leak:\n%s", strings.Join(problems, "\n"))
	}
}

// The smallest per-read leak the bounds are meant to catch is 256 bytes.
func TestCheckFlatRejectsMemoryLeak(t *testing.T) {
	const leakBytes = 256
	samples := planSamples(func(i, reads int) (int64, int, int) {
		return noisyRSS(i) + int64(reads*leakBytes/1024), 12, 14
	})
	problems := checkFlat(samples, soakLimits)
	if len(problems) != 1 || !strings.Contains(problems[0], "VmRSS") {
		t.Errorf("leak of %d bytes per read: expected one VmRSS problem, got %q", leakBytes, problems)
	}
}

func TestCheckFlatRejectsDescriptorLeak(t *testing.T) {
	// One descriptor per phase, as a connection left open by each issuance would leak.
	samples := planSamples(func(i, reads int) (int64, int, int) {
		return noisyRSS(i), 12 + i, 14
	})
	problems := checkFlat(samples, soakLimits)
	if len(problems) != 1 || !strings.Contains(problems[0], "open descriptors") {
		t.Errorf("leak of one descriptor per phase: expected one descriptor problem, got %q", problems)
	}
}

func TestCheckFlatRejectsThreadLeak(t *testing.T) {
	// One thread per phase, as a worker started and never joined by each issuance would leak.
	samples := planSamples(func(i, reads int) (int64, int, int) {
		return noisyRSS(i), 12, 14 + i
	})
	problems := checkFlat(samples, soakLimits)
	if len(problems) != 1 || !strings.Contains(problems[0], "threads") {
		t.Errorf("leak of one thread per phase: expected one thread problem, got %q", problems)
	}
}

func TestCheckFlatRejectsShortSeries(t *testing.T) {
	samples := planSamples(func(i, reads int) (int64, int, int) { return 30 * 1024, 12, 14 })[:3]
	if problems := checkFlat(samples, soakLimits); len(problems) != 1 {
		t.Errorf("3 samples: expected one problem, got %q", problems)
	}
}

func TestMiddleSampleOfPlan(t *testing.T) {
	samples := planSamples(func(i, reads int) (int64, int, int) { return 0, 0, 0 })
	middle := samples[middleSample(samples)]
	if middle.Reads != 45000 {
		t.Errorf("middle sample at %d reads, expected 45000 as the soakLimits comment assumes", middle.Reads)
	}
	if between := samples[len(samples)-2].Reads - middle.Reads; between != 28000 {
		t.Errorf("%d reads between the middle and the second-to-last sample, expected 28000 as the soakLimits comment assumes", between)
	}
}
