package main

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestFaultLatency(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "list", "kind": "latency", "delay_ms": 300})
	start := time.Now()
	result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("delayed call took %s, expected at least 300ms", elapsed)
	}
	if result.status != http.StatusOK {
		t.Errorf("status %d", result.status)
	}
	start = time.Now()
	ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	if elapsed := time.Since(start); elapsed > 250*time.Millisecond {
		t.Errorf("second call took %s though the rule had count 1", elapsed)
	}
}

func TestFaultStatusSequence(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "create", "kind": "status", "status": 503, "count": 2})
	for i := 0; i < 2; i++ {
		result, _ := ts.create(callOptions{})
		expectStatus(t, "injected 503", result, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	}
	if result, _ := ts.create(callOptions{}); result.status != http.StatusOK {
		t.Fatalf("third create: status %d", result.status)
	}
	state := ts.state()
	if state.Organizations["simorg"].SlotsUsed != 1 {
		t.Errorf("slots_used %d, expected only the third create to commit", state.Organizations["simorg"].SlotsUsed)
	}
	if got := state.Requests["create"]; got.Total != 3 || got.ByStatus["503"] != 2 || got.ByStatus["200"] != 1 {
		t.Errorf("create counter %+v", got)
	}
	if state.FaultsPending != 0 {
		t.Errorf("faults_pending %d", state.FaultsPending)
	}
}

func TestFaultStatusCodes(t *testing.T) {
	ts := startSim(t, nil)
	for status, code := range map[int]string{500: "INTERNAL_SERVER_ERROR", 502: "BAD_GATEWAY", 504: "GATEWAY_TIMEOUT", 418: "INJECTED_FAULT"} {
		ts.addFault(map[string]any{"match": "any", "kind": "status", "status": status})
		result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
		expectStatus(t, "injected status", result, status, code)
	}
}

func TestFaultRetryAfter(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "list", "kind": "retry_after", "retry_after": "2"})
	result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	expectStatus(t, "rate limited", result, http.StatusTooManyRequests, "RATE_LIMITED")
	if got := result.header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %q, expected 2", got)
	}

	ts.addFault(map[string]any{"match": "list", "kind": "retry_after", "retry_after": "+3s"})
	result = ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	date, err := http.ParseTime(result.header.Get("Retry-After"))
	if err != nil {
		t.Fatalf("Retry-After %q is not an HTTP date: %v", result.header.Get("Retry-After"), err)
	}
	if until := time.Until(date); until < time.Second || until > 4*time.Second {
		t.Errorf("Retry-After date is %s away, expected about 3s", until)
	}

	ts.addFault(map[string]any{"match": "token", "kind": "retry_after"})
	status, _ := ts.requestToken(t, clientCredentials(""), ts.ready.OAuthClientID, ts.ready.OAuthClientSecret, nil)
	if status != http.StatusTooManyRequests {
		t.Errorf("token endpoint: status %d, expected 429", status)
	}

	ts.addFault(map[string]any{"match": "create", "kind": "status", "status": 503, "retry_after": "5"})
	result, _ = ts.create(callOptions{})
	if result.status != http.StatusServiceUnavailable || result.header.Get("Retry-After") != "5" {
		t.Errorf("503 with Retry-After: status %d, header %q", result.status, result.header.Get("Retry-After"))
	}
}

func TestFaultDrop(t *testing.T) {
	for _, reset := range []bool{false, true} {
		ts := startSim(t, nil)
		ts.addFault(map[string]any{"match": "create", "kind": "drop", "reset": reset})
		key := newECKey(t)
		_, err := ts.call(http.MethodPost, ts.certificatesPath(""), map[string]string{"certificateRequest": newCSR(t, key)}, callOptions{})
		if err == nil {
			t.Fatalf("reset=%t: dropped call returned a response", reset)
		}
		state := ts.state()
		if state.Organizations["simorg"].SlotsUsed != 0 {
			t.Errorf("reset=%t: a dropped create committed a certificate", reset)
		}
		if got := state.Requests["create"].ByStatus["dropped"]; got != 1 {
			t.Errorf("reset=%t: dropped counter %d", reset, got)
		}
	}
}

func TestFaultLostResponseCommits(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "create", "kind": "lost_response"})
	key := newECKey(t)
	if _, err := ts.call(http.MethodPost, ts.certificatesPath(""), map[string]string{"certificateRequest": newCSR(t, key)}, callOptions{}); err == nil {
		t.Fatal("lost response arrived")
	}
	listed := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	elements, _ := listed.result()["elements"].([]any)
	if len(elements) != 1 {
		t.Fatalf("%d certificates after a lost response, expected the committed one", len(elements))
	}
	cert := parseCertificatePEM(t, elements[0].(map[string]any)["certificate"].(string))
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("committed certificate does not carry the request's key")
	}
}

// createInBackground starts a create and returns a channel with its status, or -1 on a
// transport error.
func (ts *testSim) createInBackground(timeout time.Duration) <-chan int {
	done := make(chan int, 1)
	key := newECKey(ts.t)
	body := map[string]string{"certificateRequest": newCSR(ts.t, key)}
	go func() {
		result, err := ts.call(http.MethodPost, ts.certificatesPath(""), body, callOptions{timeout: timeout})
		if err != nil {
			done <- -1
			return
		}
		done <- result.status
	}()
	return done
}

func (ts *testSim) waitHeld(minimum int) []any {
	ts.t.Helper()
	held := ts.mustControl(http.MethodGet, "/held?min="+strconv.Itoa(minimum)+"&wait_ms=5000", nil)
	list, _ := held["held"].([]any)
	if len(list) < minimum {
		ts.t.Fatalf("%d requests held, expected %d", len(list), minimum)
	}
	return list
}

func TestFaultHoldBeforeCommit(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "create", "kind": "hold"})
	done := ts.createInBackground(10 * time.Second)
	held := ts.waitHeld(1)
	entry := held[0].(map[string]any)
	if entry["endpoint"] != "create" || entry["phase"] != "before_commit" || entry["organization_id"] != "simorg" {
		t.Errorf("held entry %v", entry)
	}
	if ts.state().Organizations["simorg"].SlotsUsed != 0 {
		t.Error("held create committed before release")
	}
	released := ts.mustControl(http.MethodPost, "/release", map[string]any{"id": entry["id"]})
	if released["released"] != float64(1) {
		t.Errorf("release returned %v", released)
	}
	if status := <-done; status != http.StatusOK {
		t.Fatalf("released create: status %d", status)
	}
	if ts.state().Organizations["simorg"].SlotsUsed != 1 {
		t.Error("released create did not commit")
	}
	status, _ := ts.control(http.MethodPost, "/release", map[string]any{"id": entry["id"]})
	if status != http.StatusNotFound {
		t.Errorf("second release: status %d", status)
	}
}

func TestFaultHoldReleaseDrop(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "create", "kind": "hold", "count": 2})
	first := ts.createInBackground(10 * time.Second)
	second := ts.createInBackground(10 * time.Second)
	ts.waitHeld(2)
	if released := ts.mustControl(http.MethodPost, "/release", map[string]any{"action": "drop"}); released["released"] != float64(2) {
		t.Errorf("release all returned %v", released)
	}
	if <-first != -1 || <-second != -1 {
		t.Error("dropped held requests got a response")
	}
	if ts.state().Organizations["simorg"].SlotsUsed != 0 {
		t.Error("dropped held creates committed")
	}
}

func TestFaultHoldAfterCommit(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "create", "kind": "hold", "phase": "after_commit"})
	done := ts.createInBackground(10 * time.Second)
	held := ts.waitHeld(1)
	if phase := held[0].(map[string]any)["phase"]; phase != "after_commit" {
		t.Errorf("phase %v", phase)
	}
	if ts.state().Organizations["simorg"].SlotsUsed != 1 {
		t.Error("create held after commit has not committed")
	}
	ts.mustControl(http.MethodPost, "/release", map[string]any{})
	if status := <-done; status != http.StatusOK {
		t.Errorf("released create: status %d", status)
	}
}

func TestFaultHoldClientGoesAway(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "create", "kind": "hold"})
	done := ts.createInBackground(500 * time.Millisecond)
	ts.waitHeld(1)
	if status := <-done; status != -1 {
		t.Fatalf("status %d, expected a client timeout", status)
	}
	held := ts.mustControl(http.MethodGet, "/held?min=0", nil)["held"].([]any)
	for deadline := time.Now().Add(5 * time.Second); len(held) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		held = ts.mustControl(http.MethodGet, "/held", nil)["held"].([]any)
	}
	if len(held) != 0 {
		t.Fatalf("request still held after the client went away: %v", held)
	}
	state := ts.state()
	if state.Organizations["simorg"].SlotsUsed != 0 {
		t.Error("abandoned held create committed")
	}
	if got := state.Requests["create"].ByStatus["client_closed"]; got != 1 {
		t.Errorf("client_closed counter %d", got)
	}
}

func TestFaultHoldTimesOut(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "list", "kind": "hold", "delay_ms": 200})
	start := time.Now()
	result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	if result.status != http.StatusOK || time.Since(start) < 200*time.Millisecond {
		t.Errorf("status %d after %s", result.status, time.Since(start))
	}
}

func TestFaultSlowBody(t *testing.T) {
	ts := startSim(t, nil)
	ts.mustCreate()
	ts.addFault(map[string]any{"match": "list", "kind": "slow_body", "chunk_bytes": 200, "delay_ms": 40})
	start := time.Now()
	result := ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
	elapsed := time.Since(start)
	chunks := (len(result.rawBody) + 199) / 200
	if minimum := time.Duration(chunks-1) * 40 * time.Millisecond; elapsed < minimum {
		t.Errorf("%d-byte body in %s, expected at least %s", len(result.rawBody), elapsed, minimum)
	}
	if result.status != http.StatusOK || len(result.result()["elements"].([]any)) != 1 {
		t.Errorf("slow body is not the full response: %s", result.rawBody)
	}

	ts.addFault(map[string]any{"match": "list", "kind": "slow_body", "chunk_bytes": 10, "delay_ms": 200})
	if _, err := ts.call(http.MethodGet, ts.certificatesPath(""), nil, callOptions{timeout: 300 * time.Millisecond}); err == nil {
		t.Error("a client timeout shorter than the trickle did not fail")
	}
}

func TestFaultSkipAndOrganization(t *testing.T) {
	ts := startSim(t, func(c *Config) { c.Organizations = []string{"orgA", "orgB"} })
	ts.addFault(map[string]any{"match": "any", "kind": "status", "status": 502, "organization_id": "orgB", "skip": 1, "count": -1})
	if result := ts.mustCall(http.MethodGet, ts.certificatesPath("orgA"), nil, callOptions{}); result.status != http.StatusOK {
		t.Errorf("orgA: status %d", result.status)
	}
	if result := ts.mustCall(http.MethodGet, ts.certificatesPath("orgB"), nil, callOptions{}); result.status != http.StatusOK {
		t.Errorf("first orgB call is skipped: status %d", result.status)
	}
	for i := 0; i < 3; i++ {
		if result := ts.mustCall(http.MethodGet, ts.certificatesPath("orgB"), nil, callOptions{}); result.status != http.StatusBadGateway {
			t.Errorf("orgB call %d: status %d", i, result.status)
		}
	}
	rules := ts.mustControl(http.MethodGet, "/faults", nil)["rules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("%d rules pending, expected the unlimited one", len(rules))
	}
	if cleared := ts.mustControl(http.MethodDelete, "/faults", nil); cleared["cleared"] != float64(1) {
		t.Errorf("clear returned %v", cleared)
	}
	if result := ts.mustCall(http.MethodGet, ts.certificatesPath("orgB"), nil, callOptions{}); result.status != http.StatusOK {
		t.Errorf("after clearing: status %d", result.status)
	}
}

func TestFaultRulesInOrder(t *testing.T) {
	ts := startSim(t, nil)
	added := ts.mustControl(http.MethodPost, "/faults", map[string]any{"rules": []map[string]any{
		{"match": "list", "kind": "status", "status": 500},
		{"match": "list", "kind": "retry_after"},
	}})
	if ids := added["ids"].([]any); len(ids) != 2 {
		t.Fatalf("ids %v", ids)
	}
	var statuses []int
	for i := 0; i < 3; i++ {
		statuses = append(statuses, ts.mustCall(http.MethodGet, ts.certificatesPath(""), nil, callOptions{}).status)
	}
	if statuses[0] != 500 || statuses[1] != 429 || statuses[2] != 200 {
		t.Errorf("statuses %v, expected [500 429 200]", statuses)
	}
}

func TestFaultRuleValidation(t *testing.T) {
	ts := startSim(t, nil)
	for _, rule := range []map[string]any{
		{"match": "everything", "kind": "drop"},
		{"match": "create", "kind": "explode"},
		{"match": "create", "kind": "drop", "count": 0},
		{"match": "create", "kind": "drop", "phase": "after_commit"},
		{"match": "create", "kind": "hold", "phase": "later"},
		{"match": "create", "kind": "latency", "delay_ms": -1},
		{"match": "create", "kind": "status", "status": 99},
		{"match": "create", "kind": "retry_after", "retry_after": "+soon"},
		{"match": "create", "kind": "drop", "typo": true},
	} {
		status, body := ts.control(http.MethodPost, "/faults", rule)
		if message, _ := body["error"].(string); status != http.StatusBadRequest || message == "" {
			t.Errorf("rule %v: status %d body %v, expected 400 with an error", rule, status, body)
		}
	}
	if pending := ts.state().FaultsPending; pending != 0 {
		t.Errorf("%d invalid rules were queued", pending)
	}
}

func TestFaultsAreConsumedOnceUnderConcurrency(t *testing.T) {
	ts := startSim(t, nil)
	ts.addFault(map[string]any{"match": "list", "kind": "status", "status": 503, "count": 5})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			result, err := ts.call(http.MethodGet, ts.certificatesPath(""), nil, callOptions{})
			if err == nil && result.status == http.StatusServiceUnavailable {
				mu.Lock()
				failures++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failures != 5 {
		t.Errorf("%d calls failed, expected exactly 5", failures)
	}
}
