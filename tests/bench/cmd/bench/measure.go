package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
)

// concurrencies are the numbers of concurrent callers of the cached-read benchmark.
var concurrencies = []int{1, 8, 64}

// keyTypes are the role settings whose issuance the benchmark times, by report label.
var keyTypes = []struct {
	Label  string
	Fields map[string]interface{}
}{
	{"ec-p256", map[string]interface{}{"key_type": "ec", "key_bits": 256}},
	{"ec-p384", map[string]interface{}{"key_type": "ec", "key_bits": 384}},
	{"ed25519", map[string]interface{}{"key_type": "ed25519"}},
	{"rsa-2048", map[string]interface{}{"key_type": "rsa", "key_bits": 2048}},
	{"rsa-4096", map[string]interface{}{"key_type": "rsa", "key_bits": 4096}},
}

// expiryReaders is the number of concurrent reads of an expired certificate.
const expiryReaders = 100

// settings are the sizes of one benchmark run.
type settings struct {
	// Reads is the number of measured reads per concurrency level.
	Reads int
	// WarmupReads are sent before the measured reads and not timed.
	WarmupReads int
}

// sample holds the figures of one plugin in one repetition, by metric key.
type sample map[string]float64

// measureTarget starts one plugin process, measures it and stops it.
func measureTarget(ctx context.Context, t *target, sim *simulator, starter *execStarter, cfg settings) (sample, error) {
	s := sample{}
	if err := starter.startAlone(t.Binary, "1|5|", s); err != nil {
		return nil, err
	}

	storage := &countingStorage{}
	started := time.Now()
	mount, err := t.catalog.Enable(ctx, vaulthost.MountOptions{Path: t.Key + "/", Storage: storage, Options: t.Options})
	if err != nil {
		return nil, err
	}
	defer mount.Disable(context.Background())
	proc := mount.Process()
	if err := recordMemory(proc.PID, "setup", s); err != nil {
		return nil, err
	}
	if err := firstAnswer(ctx, mount, t.FirstPath); err != nil {
		return nil, err
	}
	s["start_first_answer_ms"] = ms(time.Since(started))
	s["start_handshake_ms"] = ms(proc.HandshakeDuration)

	readPath, err := t.Seed(ctx, mount)
	if err != nil {
		return nil, err
	}
	if _, _, err := readLoad(ctx, mount, t, readPath, 1, cfg.WarmupReads); err != nil {
		return nil, err
	}
	for i, c := range concurrencies {
		getsBefore := storage.gets.Load()
		latencies, elapsed, err := readLoad(ctx, mount, t, readPath, c, cfg.Reads)
		if err != nil {
			return nil, err
		}
		sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
		s[fmt.Sprintf("p50_c%d_us", c)] = us(percentile(latencies, 0.50))
		s[fmt.Sprintf("p99_c%d_us", c)] = us(percentile(latencies, 0.99))
		s[fmt.Sprintf("rps_c%d", c)] = float64(len(latencies)) / elapsed.Seconds()
		if i == 0 {
			s["gets_per_read"] = float64(storage.gets.Load()-getsBefore) / float64(len(latencies))
			if err := recordMemory(proc.PID, "reads", s); err != nil {
				return nil, err
			}
		}
	}

	if t.Key == keyOurs {
		if err := measureIssuance(ctx, mount, storage, sim, s); err != nil {
			return nil, err
		}
		if err := measureExpiry(ctx, mount, sim, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// firstAnswer reads path until the plugin returns a response without an error, for at most 30
// seconds.
func firstAnswer(ctx context.Context, m *vaulthost.Mount, path string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := m.NewRequest(logical.ReadOperation, m.Path+path, nil)
		if err != nil {
			return err
		}
		_, err = m.Backend.HandleRequest(ctx, req)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to a read of %s within 30s: %w", path, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// readLoad sends n reads of path from `callers` goroutines and returns each read's latency and
// the wall time of all of them. Every response is checked, so a failing plugin cannot look fast.
func readLoad(ctx context.Context, m *vaulthost.Mount, t *target, path string, callers, n int) ([]time.Duration, time.Duration, error) {
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	results := make([][]time.Duration, callers)
	var wg sync.WaitGroup

	started := time.Now()
	for w := 0; w < callers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := make([]time.Duration, 0, n/callers+1)
			for next.Add(1) <= int64(n) {
				req, err := m.NewRequest(logical.ReadOperation, m.Path+path, nil)
				if err == nil {
					began := time.Now()
					var resp *logical.Response
					resp, err = m.Backend.HandleRequest(ctx, req)
					local = append(local, time.Since(began))
					if err == nil {
						err = t.CheckRead(resp)
					}
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("read of %s%s failed: %w", m.Path, path, err) })
					next.Store(int64(n))
					break
				}
			}
			results[w] = local
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(started)

	if firstErr != nil {
		return nil, 0, firstErr
	}
	var all []time.Duration
	for _, local := range results {
		all = append(all, local...)
	}
	return all, elapsed, nil
}

// measureIssuance times one issue-on-read per key type and counts the storage writes and the
// Qualtrics calls it makes.
func measureIssuance(ctx context.Context, m *vaulthost.Mount, storage *countingStorage, sim *simulator, s sample) error {
	for _, kt := range keyTypes {
		role := "issue-" + kt.Label
		if err := writeRole(ctx, m, role, kt.Fields); err != nil {
			return err
		}
		callsBefore, err := sim.Calls()
		if err != nil {
			return err
		}
		writesBefore := storage.writes()
		began := time.Now()
		resp, err := readOK(ctx, m, "cert/"+role)
		elapsed := time.Since(began)
		if err != nil {
			return err
		}
		callsAfter, err := sim.Calls()
		if err != nil {
			return err
		}
		if resp.Data["from_storage"] != false {
			return fmt.Errorf("cert/%s was served from storage on its first read", role)
		}
		s["issue_"+kt.Label+"_ms"] = ms(elapsed)
		s["issue_"+kt.Label+"_writes"] = float64(storage.writes() - writesBefore)
		s["issue_"+kt.Label+"_calls"] = float64(callsAfter - callsBefore)
	}
	return nil
}

// measureExpiry issues a certificate that expires a few seconds later, waits until it has
// expired, then reads it from expiryReaders goroutines at once. It records how many certificates
// the simulator created for those reads and the time until the last read returned.
func measureExpiry(ctx context.Context, m *vaulthost.Mount, sim *simulator, s sample) error {
	if err := writeRole(ctx, m, "expiry", map[string]interface{}{"key_type": "ec", "renew_before": 0}); err != nil {
		return err
	}
	if err := sim.SetCertValidity("3s"); err != nil {
		return err
	}
	resp, err := readOK(ctx, m, "cert/expiry")
	if restoreErr := sim.SetCertValidity("8760h"); restoreErr != nil && err == nil {
		err = restoreErr
	}
	if err != nil {
		return err
	}
	expiration, err := unixSeconds(resp.Data["expiration"])
	if err != nil {
		return err
	}
	oldSerial := resp.Data["serial_number"]
	// The engine compares whole seconds, so wait until one second past the expiry.
	wait := time.Until(time.Unix(expiration+1, 0).Add(100 * time.Millisecond))
	if wait > time.Minute {
		return fmt.Errorf("the short-lived certificate expires in %v, expected a few seconds", wait)
	}
	time.Sleep(wait)

	createsBefore, err := sim.Creates()
	if err != nil {
		return err
	}
	start := make(chan struct{})
	serials := make([]interface{}, expiryReaders)
	errs := make([]error, expiryReaders)
	var wg sync.WaitGroup
	for i := 0; i < expiryReaders; i++ {
		req, err := m.NewRequest(logical.ReadOperation, m.Path+"cert/expiry", nil)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func(i int, req *logical.Request) {
			defer wg.Done()
			<-start
			resp, err := m.Backend.HandleRequest(ctx, req)
			switch {
			case err != nil:
				errs[i] = err
			case resp == nil:
				errs[i] = errors.New("no response")
			default:
				serials[i] = resp.Data["serial_number"]
			}
		}(i, req)
	}
	began := time.Now()
	close(start)
	wg.Wait()
	s["expiry_last_ms"] = ms(time.Since(began))
	for i := range errs {
		if errs[i] != nil {
			return fmt.Errorf("read %d of the expired cert/expiry failed: %w", i+1, errs[i])
		}
		if serials[i] == oldSerial || serials[i] != serials[0] {
			return fmt.Errorf("read %d of the expired cert/expiry returned serial %v, expected one new certificate shared by all readers (old %v, first %v)",
				i+1, serials[i], oldSerial, serials[0])
		}
	}
	createsAfter, err := sim.Creates()
	if err != nil {
		return err
	}
	s["expiry_creates"] = float64(createsAfter - createsBefore)
	return nil
}

// unixSeconds converts a JSON number from a response into Unix seconds.
func unixSeconds(v interface{}) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		return n.Int64()
	case float64:
		return int64(n), nil
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case string:
		if parsed, err := time.Parse(time.RFC3339, n); err == nil {
			return parsed.Unix(), nil
		}
		return strconv.ParseInt(n, 10, 64)
	}
	return 0, fmt.Errorf("invalid expiration %v (%T)", v, v)
}

// recordMemory reads VmRSS and RssAnon of a process from /proc/PID/status into
// rss_<when>_mib and anon_<when>_mib. RssAnon leaves out the pages of mapped files, such as
// shared libraries that other processes may share.
func recordMemory(pid int, when string, s sample) error {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return fmt.Errorf("reading the memory of process %d failed: %w", pid, err)
	}
	defer f.Close()
	found := 0
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 2 || (fields[0] != "VmRSS:" && fields[0] != "RssAnon:") {
			continue
		}
		kib, err := strconv.Atoi(fields[1])
		if err != nil {
			return fmt.Errorf("invalid %s line in /proc/%d/status: %w", fields[0], pid, err)
		}
		key := "rss_" + when + "_mib"
		if fields[0] == "RssAnon:" {
			key = "anon_" + when + "_mib"
		}
		s[key] = float64(kib) / 1024
		found++
	}
	if found != 2 {
		return fmt.Errorf("no VmRSS or RssAnon line in /proc/%d/status", pid)
	}
	return nil
}

// percentile returns the q-quantile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.5) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return sorted[rank]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func jsonString(v interface{}) (string, error) {
	encoded, err := json.Marshal(v)
	return string(encoded), err
}
