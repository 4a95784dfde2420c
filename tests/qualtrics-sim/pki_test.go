package main

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func FuzzParseCertificateRequestPEM(f *testing.F) {
	valid := newCSR(f, newECKey(f))
	f.Add(valid)
	f.Add(strings.ReplaceAll(valid, "\n", ""))
	f.Add(strings.ReplaceAll(valid, "\n", `\n`))
	f.Add("-----BEGIN CERTIFICATE REQUEST----------END CERTIFICATE REQUEST-----")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		csr, err := parseCertificateRequestPEM(text)
		if err == nil && csr.CheckSignature() != nil {
			t.Error("accepted a request whose signature does not verify")
		}
	})
}

func TestParseCertificateRequestForms(t *testing.T) {
	valid := newCSR(t, newECKey(t))
	accepted := map[string]string{
		"standard":          valid,
		"single line":       strings.ReplaceAll(valid, "\n", ""),
		"CRLF":              strings.ReplaceAll(valid, "\n", "\r\n"),
		"surrounding space": "  \n" + valid + "\n\n",
		"old label":         strings.ReplaceAll(valid, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"),
	}
	for name, text := range accepted {
		if _, err := parseCertificateRequestPEM(text); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	rejected := map[string]string{
		"escaped twice":    strings.ReplaceAll(valid, "\n", `\n`),
		"mixed labels":     strings.Replace(valid, "END CERTIFICATE REQUEST", "END NEW CERTIFICATE REQUEST", 1),
		"trailing garbage": valid + "x",
		"empty body":       "-----BEGIN CERTIFICATE REQUEST----------END CERTIFICATE REQUEST-----",
	}
	for name, text := range rejected {
		if _, err := parseCertificateRequestPEM(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestQuotaHoldsUnderConcurrentCreates(t *testing.T) {
	ts := startSim(t, nil)
	bodies := make([]map[string]string, 20)
	for i := range bodies {
		bodies[i] = map[string]string{"certificateRequest": newCSR(t, newECKey(t))}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for _, body := range bodies {
		wg.Add(1)
		go func(body map[string]string) {
			defer wg.Done()
			result, err := ts.call(http.MethodPost, ts.certificatesPath(""), body, callOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				statuses[-1]++
				return
			}
			statuses[result.status]++
		}(body)
	}
	wg.Wait()
	if statuses[http.StatusOK] != 10 || statuses[http.StatusBadRequest] != 10 {
		t.Errorf("statuses %v, expected 10 created and 10 rejected", statuses)
	}
	if used := ts.state().Organizations["simorg"].SlotsUsed; used != 10 {
		t.Errorf("slots_used %d", used)
	}
}

// BenchmarkCreate measures one create over a kept-alive TLS connection, including the client's
// JSON encoding; the CSRs are made before the timer starts.
func BenchmarkCreate(b *testing.B) {
	config := DefaultConfig()
	config.Settings.MaxActive = b.N + 1
	server, err := NewServer(config)
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()
	ts := &testSim{ready: server.Ready(), roots: newPool(b, server.CAPEM())}
	client := ts.httpClient(nil, 0)
	client.Transport.(*http.Transport).DisableKeepAlives = false
	csr := newCSR(b, newECKey(b))
	path := server.Ready().BaseURL + "/organizations/simorg/clientcertificates"
	body := string(mustJSON(b, csr))

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		request, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(body))
		request.Header.Set("X-API-TOKEN", config.APITokens[0])
		request.Header.Set("Content-Type", "application/json")
		response, err := client.Do(request)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, response.Body)
		response.Body.Close()
		if response.StatusCode != http.StatusOK {
			b.Fatalf("status %d", response.StatusCode)
		}
	}
}
