package soak

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost"
	"github.com/vault-plugin-secrets-qualtrics/tests/host/vaulthost/hosttest"
)

// The load plan: a warm-up phase, then equal measured phases with one sample after each. Reads
// go to the cached certificates of baseRoles roles. Each phase also runs one round of
// mutations (two rotations, one issuance for a new role that is then deleted, one tidy), spread
// over its reads.
const (
	callers     = 16
	baseRoles   = 3
	warmupReads = 10000
	phaseReads  = 7000
	phases      = 10
	totalReads  = warmupReads + phases*phaseReads
	mountPath   = "qualtrics/"
	// requestLimit bounds each request.
	requestLimit = 30 * time.Second
	// runLimit stops a run that hangs. The load itself took 12 to 16 s on a 2-core machine
	// with a load average of about 12 from other builds.
	runLimit = 4 * time.Minute
	// settleTime is the idle pause before each sample, long enough for gRPC's extra server
	// threads to exit after a burst.
	settleTime = 200 * time.Millisecond
	// simulatorQuota is qualtrics-sim's default -max-active: active certificates per organization.
	simulatorQuota = 10
)

// soakLimits are the bounds of the run, chosen so that noise passes and a leak fails. checkFlat
// takes the end of the run as the lower of the last two samples.
//
// Memory is compared between the middle sample (45,000 reads) and the end (at least 73,000
// reads), so at least 28,000 reads lie between them. A leak of 256 bytes per read would add
// 28,000 × 256 B = 7,000 KiB there. The 2,048 KiB bound catches any per-read leak above
// 2,097,152 B / 28,000 ≈ 75 bytes, and leaves room for allocator noise, which moved VmRSS by up
// to 500 KiB between two samples after the first phase in test runs. A cached read passes a
// certificate PEM of several hundred bytes through the plugin, so leaking any copy of a response
// exceeds the bound. A build of the plugin with a 256-byte malloc leaked in each read failed the
// check with 8,280 KiB of growth. VmRSS also creeps up early in a run and then levels off: in one
// run of 510,000 reads it grew by 1.7 MiB over the first 330,000 reads and then by less than
// 250 KiB. Comparing from the middle sample leaves out most of that creep, and what remains
// stayed under 450 KiB in test runs.
//
// Descriptors: the plugin holds its listener, the gRPC connection, broker connections and a few
// pooled HTTPS connections to the simulator. One leaked descriptor per phase (per issuance or
// tidy) would add 9 by the end and one per read thousands, so a margin of 4 catches both. The
// same leaky build, which also opened one descriptor per rotation, failed with 18 more.
//
// Threads: one thread kept per phase would add 9, so the margin is 8. Transient gRPC threads
// raised a single sample by 6 in test runs.
var soakLimits = flatLimits{FDMargin: 4, ThreadMargin: 8, RSSGrowthKiB: 2048}

// TestPluginSoak runs 80,000 cached certificate reads from 16 concurrent callers, with
// rotations, issuances and tidies mixed in, and checks that the plugin's resident memory, open
// descriptors and threads stay flat.
func TestPluginSoak(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads process usage from /proc, which only Linux has")
	}
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	simulator := hosttest.StartSimulator(t, "-max-lifetime", (runLimit + time.Minute).String())
	catalog, _ := hosttest.NewCatalog(t)
	mount := hosttest.Enable(t, catalog, vaulthost.MountOptions{Path: mountPath})
	proc := mount.Process()
	if proc == nil || proc.PID == 0 {
		t.Fatal("plugin process id unknown")
	}
	ctx := hosttest.Context(t, runLimit)
	load := &soakLoad{t: t, ctx: ctx, mount: mount}

	load.mustDo(logical.UpdateOperation, "config", map[string]interface{}{
		"base_url":          simulator.BaseURL,
		"organization_id":   simulator.OrganizationID,
		"api_token":         simulator.APIToken,
		"ca_bundle":         simulator.CAPEM,
		"verify_connection": true,
		"request_timeout":   "20s",
	})
	for i := 0; i < baseRoles; i++ {
		load.writeRole(baseRoleName(i))
		load.mustDo(logical.ReadOperation, "cert/"+baseRoleName(i), nil)
	}

	var samples []usageSample
	start := time.Now()
	takeSample := func(label string) {
		time.Sleep(settleTime)
		rss, fds, threads, err := readUsage(proc.PID)
		if err != nil {
			t.Fatalf("read usage of plugin process %d: %v", proc.PID, err)
		}
		samples = append(samples, usageSample{
			Label:     label,
			Reads:     int(load.reads.Load()),
			Mutations: int(load.mutations.Load()),
			Elapsed:   time.Since(start),
			RSSKiB:    rss,
			FDs:       fds,
			Threads:   threads,
		})
	}
	load.runPhase(warmupReads)
	takeSample("warm-up")
	for p := 1; p <= phases; p++ {
		load.runPhase(phaseReads)
		takeSample(fmt.Sprintf("phase %d", p))
	}
	duration := time.Since(start)

	t.Logf("plugin process %d, %d callers, %d reads and %d mutations in %s:\n%s",
		proc.PID, callers, load.reads.Load(), load.mutations.Load(), duration.Round(100*time.Millisecond),
		formatSamples(samples))
	if got := int(load.reads.Load()); got != totalReads {
		t.Errorf("completed %d reads, expected %d", got, totalReads)
	}
	heldCount := load.heldCertificates()
	t.Logf("certificates held at the end: %d (quota %d)", heldCount, simulatorQuota)
	if heldCount != baseRoles {
		t.Errorf("mount holds %d certificates after the final tidy, expected %d (the current one of each base role)",
			heldCount, baseRoles)
	}
	for _, problem := range checkFlat(samples, soakLimits) {
		t.Error(problem)
	}
}

func baseRoleName(i int) string { return fmt.Sprintf("soak-%d", i) }

// soakLoad sends the requests of one run and counts them.
type soakLoad struct {
	t     *testing.T
	ctx   context.Context
	mount *vaulthost.Mount

	reads     atomic.Int64
	mutations atomic.Int64
	// issued numbers the roles created for issuances, so each has a new name.
	issued int

	mu       sync.Mutex
	failures []string
	failed   int
}

// do sends one request with requestLimit.
func (l *soakLoad) do(op logical.Operation, path string, data map[string]interface{}) *vaulthost.Result {
	ctx, cancel := context.WithTimeout(l.ctx, requestLimit)
	defer cancel()
	return l.mount.Do(ctx, op, mountPath+path, data)
}

// mustDo sends one request from the test goroutine and stops the test when it fails.
func (l *soakLoad) mustDo(op logical.Operation, path string, data map[string]interface{}) *vaulthost.Result {
	l.t.Helper()
	res := l.do(op, path, data)
	if res.Err != nil || res.Status >= 400 {
		l.t.Fatalf("%s %s: status %d: %v", op, path, res.Status, res.Err)
	}
	return res
}

// fail records a failure from any goroutine. runPhase reports the first few when it ends.
func (l *soakLoad) fail(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed++
	if len(l.failures) < 5 {
		l.failures = append(l.failures, fmt.Sprintf(format, args...))
	}
}

// writeRole creates an EC P-256 role whose superseded certificates are revoked at once: with
// max_certificates 1 a rotation revokes the previous certificate, and with revoke_grace 0 tidy
// revokes the certificate of a deleted role. That keeps the organization under its quota.
func (l *soakLoad) writeRole(name string) {
	l.t.Helper()
	l.mustDo(logical.UpdateOperation, "roles/"+name, map[string]interface{}{
		"key_type":         "ec",
		"key_bits":         256,
		"common_name":      name + ".example.com",
		"revoke_grace":     "0s",
		"max_certificates": 1,
	})
}

// runPhase sends reads cached certificate reads from the callers and, spread over them, one
// round of mutations from one more goroutine. It returns when all are done and stops the test
// when any request failed.
func (l *soakLoad) runPhase(reads int) {
	l.t.Helper()
	phaseStart := l.reads.Load()
	var next atomic.Int64
	var wg sync.WaitGroup
	readersDone := make(chan struct{})
	var readers sync.WaitGroup
	for c := 0; c < callers; c++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				i := next.Add(1)
				if i > int64(reads) || l.ctx.Err() != nil {
					return
				}
				l.readCached(baseRoleName(int(i) % baseRoles))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		steps := l.mutationSteps()
		for k, step := range steps {
			// Step k starts once k+1 of len(steps)+1 equal parts of the phase's reads are done.
			threshold := phaseStart + int64((k+1)*reads/(len(steps)+1))
			l.waitReads(threshold, readersDone)
			step()
		}
	}()
	readers.Wait()
	close(readersDone)
	wg.Wait()

	if err := l.ctx.Err(); err != nil {
		l.t.Fatalf("soak run did not finish within %s: %v", runLimit, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed > 0 {
		l.t.Fatalf("%d requests failed; the first ones:\n%s", l.failed, strings.Join(l.failures, "\n"))
	}
}

// waitReads waits until threshold reads are done or the readers have stopped.
func (l *soakLoad) waitReads(threshold int64, readersDone <-chan struct{}) {
	for l.reads.Load() < threshold {
		select {
		case <-readersDone:
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// readCached reads a base role's certificate, which must come from storage without an issuance.
func (l *soakLoad) readCached(role string) {
	res := l.do(logical.ReadOperation, "cert/"+role, nil)
	l.reads.Add(1)
	if res.Err != nil || res.Status != 200 || res.Response == nil {
		l.fail("read cert/%s: status %d: %v", role, res.Status, res.Err)
		return
	}
	if cert, _ := res.Response.Data["certificate"].(string); !strings.Contains(cert, "BEGIN CERTIFICATE") {
		l.fail("read cert/%s: response has no certificate PEM", role)
	}
	if cached, _ := res.Response.Data["from_storage"].(bool); !cached {
		l.fail("read cert/%s: from_storage is %v, expected true because the role has a current certificate",
			role, res.Response.Data["from_storage"])
	}
}

// mutate sends one mutation from the mutation goroutine and records a failure.
func (l *soakLoad) mutate(op logical.Operation, path string, data map[string]interface{}) *vaulthost.Result {
	res := l.do(op, path, data)
	l.mutations.Add(1)
	if res.Err != nil || res.Status >= 400 {
		l.fail("%s %s: status %d: %v", op, path, res.Status, res.Err)
	}
	return res
}

// mutationSteps returns one phase's mutations: rotate a base role, issue a certificate for a new
// role and delete that role, rotate another base role, then tidy, which revokes the deleted
// role's certificate. At most baseRoles+2 certificates are active at any time.
func (l *soakLoad) mutationSteps() []func() {
	l.issued++
	n := l.issued
	role := fmt.Sprintf("issue-%d", n)
	return []func(){
		func() { l.mutate(logical.UpdateOperation, "rotate/"+baseRoleName(n%baseRoles), nil) },
		func() {
			l.mutate(logical.UpdateOperation, "roles/"+role, map[string]interface{}{
				"key_type":     "ec",
				"key_bits":     256,
				"common_name":  role + ".example.com",
				"revoke_grace": "0s",
			})
			first := l.mutate(logical.ReadOperation, "cert/"+role, nil)
			if first.Response != nil {
				if cached, _ := first.Response.Data["from_storage"].(bool); cached {
					l.fail("first read of cert/%s: from_storage is true, expected an issuance", role)
				}
			}
			l.mutate(logical.DeleteOperation, "roles/"+role, nil)
		},
		func() { l.mutate(logical.UpdateOperation, "rotate/"+baseRoleName((n+1)%baseRoles), nil) },
		func() { l.mutate(logical.UpdateOperation, "tidy", nil) },
	}
}

// heldCertificates returns how many certificates the mount lists under certs/.
func (l *soakLoad) heldCertificates() int {
	l.t.Helper()
	res := l.mustDo(logical.ListOperation, "certs", nil)
	if res.Response == nil {
		return 0
	}
	switch keys := res.Response.Data["keys"].(type) {
	case []string:
		return len(keys)
	case []interface{}:
		return len(keys)
	}
	return 0
}
