package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// metric is one row of the report.
type metric struct {
	Key   string
	Label string
	Unit  string
	// Format is the fmt verb for the value, e.g. "%.1f".
	Format string
	// OursOnly marks figures that only our plugin has.
	OursOnly bool
	// Issuance marks figures shown in the issuance table instead of the main table.
	Issuance bool
}

// stat is the median and range of one figure over the repetitions.
type stat struct {
	Median, Min, Max float64
	OK               bool
}

type report struct {
	Options  options
	Settings settings
	Targets  []*target
	Metrics  []metric
	Stats    map[string]map[string]stat
	Duration time.Duration
	Date     time.Time
	Machine  []string
	Steps    clientSteps
	// ExpiryCreatesOK is true when every repetition saw exactly one create for the concurrent
	// reads of an expired certificate.
	ExpiryCreatesOK bool
}

func metrics(cfg settings) []metric {
	list := []metric{
		{"start_handshake_ms", "Start to handshake line", "ms", "%.1f", false, false},
		{"start_first_answer_ms", "Start to first answered request", "ms", "%.1f", false, false},
		{"exec_handshake_ms", "Exec to handshake line, plugin alone", "ms", "%.1f", false, false},
		{"rss_handshake_mib", "RSS at the handshake line, plugin alone", "MiB", "%.1f", false, false},
		{"rss_setup_mib", "RSS after Setup", "MiB", "%.1f", false, false},
		{"rss_reads_mib", fmt.Sprintf("RSS after %d reads", cfg.Reads+cfg.WarmupReads), "MiB", "%.1f", false, false},
		{"anon_setup_mib", "Anonymous RSS after Setup", "MiB", "%.1f", false, false},
		{"anon_reads_mib", fmt.Sprintf("Anonymous RSS after %d reads", cfg.Reads+cfg.WarmupReads), "MiB", "%.1f", false, false},
	}
	list = append(list, metric{"gets_per_read", "Storage reads over the broker per cached read", "", "%.2f", false, false})
	for _, c := range concurrencies {
		list = append(list,
			metric{fmt.Sprintf("p50_c%d_us", c), fmt.Sprintf("Cached read p50, %s", callers(c)), "µs", "%.0f", false, false},
			metric{fmt.Sprintf("p99_c%d_us", c), fmt.Sprintf("Cached read p99, %s", callers(c)), "µs", "%.0f", false, false},
			metric{fmt.Sprintf("rps_c%d", c), fmt.Sprintf("Cached reads per second, %s", callers(c)), "1/s", "%.0f", false, false})
	}
	for _, kt := range keyTypes {
		list = append(list,
			metric{"issue_" + kt.Label + "_ms", "Issuance " + kt.Label + ", end to end", "ms", "%.1f", true, true},
			metric{"issue_" + kt.Label + "_writes", "Storage writes per issuance " + kt.Label, "", "%.0f", true, true},
			metric{"issue_" + kt.Label + "_calls", "Qualtrics calls per issuance " + kt.Label, "", "%.0f", true, true})
	}
	list = append(list,
		metric{"expiry_creates", fmt.Sprintf("Qualtrics creates for %d concurrent reads of an expired certificate", expiryReaders), "", "%.0f", true, false},
		metric{"expiry_last_ms", fmt.Sprintf("Time to the last of %d responses (expired certificate)", expiryReaders), "ms", "%.1f", true, false})
	return list
}

func buildReport(opts options, cfg settings, targets []*target, results map[string][]sample, machine []string, duration time.Duration) *report {
	r := &report{
		Options:         opts,
		Settings:        cfg,
		Targets:         targets,
		Metrics:         metrics(cfg),
		Stats:           map[string]map[string]stat{},
		Duration:        duration,
		Date:            time.Now().UTC(),
		Machine:         machine,
		ExpiryCreatesOK: len(results[keyOurs]) > 0,
	}
	for _, t := range targets {
		r.Stats[t.Key] = map[string]stat{}
		for _, m := range r.Metrics {
			var values []float64
			for _, s := range results[t.Key] {
				if v, ok := s[m.Key]; ok {
					values = append(values, v)
				}
			}
			r.Stats[t.Key][m.Key] = summarize(values)
		}
	}
	if len(results[keyTLSFloor]) > 0 {
		r.Stats[keyTLSFloor] = map[string]stat{}
		for _, key := range []string{"exec_handshake_ms", "rss_handshake_mib"} {
			var values []float64
			for _, s := range results[keyTLSFloor] {
				values = append(values, s[key])
			}
			r.Stats[keyTLSFloor][key] = summarize(values)
		}
	}
	for _, s := range results[keyOurs] {
		if s["expiry_creates"] != 1 {
			r.ExpiryCreatesOK = false
		}
	}
	return r
}

func summarize(values []float64) stat {
	if len(values) == 0 {
		return stat{}
	}
	sort.Float64s(values)
	median := values[len(values)/2]
	if len(values)%2 == 0 {
		median = (values[len(values)/2-1] + values[len(values)/2]) / 2
	}
	return stat{Median: median, Min: values[0], Max: values[len(values)-1], OK: true}
}

// ratio returns ours/other of the medians of one metric, or false when either is missing.
func (r *report) ratio(key, other string) (float64, bool) {
	a, b := r.Stats[keyOurs][key], r.Stats[other][key]
	if !a.OK || !b.OK || b.Median == 0 {
		return 0, false
	}
	return a.Median / b.Median, true
}

func (r *report) cell(key string, m metric) string {
	s := r.Stats[key][m.Key]
	if !s.OK {
		return "–"
	}
	text := fmt.Sprintf(m.Format, s.Median)
	if r.Options.Reps > 1 {
		text += fmt.Sprintf(" ("+m.Format+"–"+m.Format+")", s.Min, s.Max)
	}
	return text
}

func (r *report) ratioCell(m metric, other string) string {
	if v, ok := r.ratio(m.Key, other); ok {
		return fmt.Sprintf("%.2f", v)
	}
	return "–"
}

// Markdown renders the report; chart is the PNG file name to embed, or empty.
func (r *report) Markdown(chart string) string {
	var b strings.Builder
	b.WriteString("# Performance: our C++ plugin next to Go plugins\n\n")
	b.WriteString("Measured by `tests/bench/cmd/bench` in one run, with every plugin started by the same Vault SDK\n")
	b.WriteString("host harness (`tests/host/vaulthost`: go-plugin AutoMTLS, protocol 5, storage over the broker):\n\n")
	b.WriteString("- **qualtrics**: our C++ plugin, reading `cert/<role>` (issued once, then served from the plugin's memory), with the Qualtrics simulator on loopback;\n")
	b.WriteString("- **kv**: HashiCorp's `vault-plugin-secrets-kv` v0.25.0 as a version 2 store, served by `tests/bench/peer`, reading `data/bench`;\n")
	b.WriteString("- **floor**: `tests/bench/floor`, a Go SDK plugin whose read is one storage Get over the broker.\n\n")
	b.WriteString("The kv secret and the floor's entry hold the same fields as a `cert/<role>` response, so the responses have about the same size.\n")
	if r.Options.Reps == 1 {
		b.WriteString("Each figure comes from a single repetition (a smoke run), so it shows no spread. ")
	} else {
		fmt.Fprintf(&b, "Each figure is the median over %d repetitions, with the minimum and maximum in brackets. ", r.Options.Reps)
	}
	b.WriteString("Ratios are our median divided by the other plugin's median; below 1 means ours is smaller (for times and memory) and above 1 means ours is larger (for reads per second).\n\n")
	fmt.Fprintf(&b, "Each repetition starts each plugin once, sends %d unmeasured reads, then %d measured reads with each of %s.\n",
		r.Settings.WarmupReads, r.Settings.Reads, callerList())
	b.WriteString("Latency is the time of one `HandleRequest` call of the SDK client, so it includes the host side of gRPC and the broker storage calls.\n\n")
	b.WriteString("The start figures through the harness include go-plugin's work on the host side on every start: the SHA-256 check of the binary ")
	fmt.Fprintf(&b, "(binary sizes: %s) and the host's P-521 key. ", r.binarySizes())
	b.WriteString("\"Exec to handshake line, plugin alone\" starts the binary directly with the same environment and measures only the plugin.\n\n")

	fmt.Fprintf(&b, "| figure | %s | %s | %s | ours / kv | ours / floor |\n|---|---|---|---|---|---|\n",
		r.Targets[0].Label, r.Targets[1].Label, r.Targets[2].Label)
	for _, m := range r.Metrics {
		if m.Issuance {
			continue
		}
		label := m.Label
		if m.Unit != "" {
			label += " (" + m.Unit + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", label,
			r.cell(keyOurs, m), r.cell(keyPeer, m), r.cell(keyFloor, m), r.ratioCell(m, keyPeer), r.ratioCell(m, keyFloor))
	}
	b.WriteString("\nOur plugin serves a current `cert/<role>` from memory with no storage call (see the storage reads row). ")
	b.WriteString("The kv peer and the floor read storage over the broker on every request, so the cached-read rows compare whole requests, not the same work.\n\n")
	if chart != "" {
		fmt.Fprintf(&b, "![medians of start-up, memory, cached-read throughput and latency](%s)\n\n", chart)
	}

	b.WriteString("## Targets\n\n| target | measured | met |\n|---|---|---|\n")
	r.target(&b, "start to first answer at most 1/5 of kv", "start_first_answer_ms", keyPeer, 0.2, false)
	r.target(&b, "start to handshake line at most 1/5 of kv", "start_handshake_ms", keyPeer, 0.2, false)
	r.target(&b, "exec to handshake line, plugin alone, at most 1/5 of kv", "exec_handshake_ms", keyPeer, 0.2, false)
	r.target(&b, "RSS after Setup at most 1/3 of kv", "rss_setup_mib", keyPeer, 1.0/3, false)
	r.target(&b, "RSS after the reads at most 1/3 of kv", "rss_reads_mib", keyPeer, 1.0/3, false)
	r.target(&b, "anonymous RSS after the reads at most 1/3 of kv", "anon_reads_mib", keyPeer, 1.0/3, false)
	for _, c := range concurrencies {
		r.target(&b, fmt.Sprintf("cached reads per second, %s, at least 2x kv", callers(c)), fmt.Sprintf("rps_c%d", c), keyPeer, 2, true)
	}
	for _, c := range concurrencies {
		r.target(&b, fmt.Sprintf("cached read p50, %s, at most 1.3x floor", callers(c)), fmt.Sprintf("p50_c%d_us", c), keyFloor, 1.3, false)
	}
	creates := "yes"
	if !r.ExpiryCreatesOK {
		creates = "**no**"
	}
	fmt.Fprintf(&b, "| exactly 1 Qualtrics create for %d concurrent reads of an expired certificate, every repetition | %s | %s |\n\n",
		expiryReaders, r.cell(keyOurs, metric{Key: "expiry_creates", Format: "%.0f"}), creates)

	r.writeTLSFloor(&b)
	r.writeIssuance(&b)
	b.WriteString("## Machine and run\n\n")
	for _, line := range r.Machine {
		fmt.Fprintf(&b, "- %s\n", line)
	}
	fmt.Fprintf(&b, "- date: %s\n", r.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- duration of the run: %v\n", r.Duration.Round(time.Second))
	fmt.Fprintf(&b, "- command: `%s`\n", r.Options.Command)
	b.WriteString("\nThe machine may be shared with other work; the load average above shows how busy it was when the run started.\n")
	return b.String()
}

func (r *report) target(b *strings.Builder, label, key, other string, limit float64, atLeast bool) {
	v, ok := r.ratio(key, other)
	if !ok {
		fmt.Fprintf(b, "| %s | – | not measured |\n", label)
		return
	}
	met := v <= limit
	if atLeast {
		met = v >= limit
	}
	verdict := "yes"
	if !met {
		verdict = "**no**"
	}
	fmt.Fprintf(b, "| %s | %.2f | %s |\n", label, v, verdict)
}

// writeTLSFloor adds the section on the TLS floor program, when it ran.
func (r *report) writeTLSFloor(b *strings.Builder) {
	if _, ok := r.Stats[keyTLSFloor]; !ok {
		return
	}
	b.WriteString("## Lower bound of the start: the TLS set-up alone\n\n")
	b.WriteString("`tests/bench/tls_floor` does only the OpenSSL work that comes before our plugin can listen. ")
	b.WriteString("It generates the plugin's TLS identity (P-256 key and self-signed certificate, as PEM). ")
	b.WriteString("Then it makes the PEM reads that gRPC's TLS server set-up makes with it: the key, the certificate twice, and the host's certificate into the trust store. ")
	b.WriteString("libssl and libcrypto are loaded as our plugin loads them. ")
	b.WriteString("It then prints one line. It is started like the plugins in the \"plugin alone\" rows.\n\n")

	b.WriteString("| figure | TLS set-up alone | qualtrics | kv | TLS set-up / kv |\n|---|---|---|---|---|\n")
	rows := []struct{ key, label string }{
		{"exec_handshake_ms", "Exec to the first line, alone (ms)"},
		{"rss_handshake_mib", "RSS at that line (MiB)"},
	}
	for _, row := range rows {
		m := metric{Key: row.key, Format: "%.1f"}
		ratio := "–"
		floor, peer := r.Stats[keyTLSFloor][m.Key], r.Stats[keyPeer][m.Key]
		if floor.OK && peer.OK && peer.Median > 0 {
			ratio = fmt.Sprintf("%.2f", floor.Median/peer.Median)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", row.label,
			r.cell(keyTLSFloor, m), r.cell(keyOurs, m), r.cell(keyPeer, m), ratio)
	}

	floor, peer := r.Stats[keyTLSFloor]["exec_handshake_ms"], r.Stats[keyPeer]["exec_handshake_ms"]
	if floor.OK && peer.OK && peer.Median > 0 {
		share := floor.Median / peer.Median
		verdict := "gRPC's C++ credentials take the TLS identity as PEM, so a plugin built on them cannot start in 1/5 of kv's time on this OpenSSL."
		if share <= 0.2 {
			verdict = "That leaves room for the start-up target of 1/5 of kv."
		}
		fmt.Fprintf(b, "\nThe TLS set-up alone reaches its first line in %.2f of the time kv takes to its handshake line. %s", share, verdict)
	}

	// The memory targets are set against kv's RSS after Setup.
	floor, peer = r.Stats[keyTLSFloor]["rss_handshake_mib"], r.Stats[keyPeer]["rss_setup_mib"]
	if floor.OK && peer.OK {
		room := peer.Median/3 - floor.Median
		if room > 0 {
			fmt.Fprintf(b, " It has %.1f MiB resident at that line. The target of a third of kv's RSS after Setup leaves %.1f MiB for gRPC, Protobuf, Abseil and the engine.",
				floor.Median, room)
		} else {
			fmt.Fprintf(b, " It has %.1f MiB resident at that line, more than the target of a third of kv's RSS after Setup (%.1f MiB).",
				floor.Median, peer.Median/3)
		}
	}
	if r.Options.Reps == 1 {
		b.WriteString(" With one repetition, these figures rest on a single start of each program.")
	}
	b.WriteString("\n\n")
}

// machineInfo describes the CPU, memory, kernel and load of this machine.
func machineInfo() []string {
	var lines []string
	model, processors := "", 0
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			name, value, ok := strings.Cut(scanner.Text(), ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(name) {
			case "model name":
				model = strings.TrimSpace(value)
			case "processor":
				processors++
			}
		}
		f.Close()
	}
	lines = append(lines, fmt.Sprintf("CPU: %s, %d processors in /proc/cpuinfo, %d usable by this process (nproc)", model, processors, runtime.NumCPU()))
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				var kib int
				fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%d", &kib)
				lines = append(lines, fmt.Sprintf("memory: %.1f GiB", float64(kib)/1024/1024))
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		lines = append(lines, "Linux "+strings.TrimSpace(string(data))+", "+runtime.Version())
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		fields := strings.Fields(string(data))
		if len(fields) >= 3 {
			lines = append(lines, "load average at the start: "+strings.Join(fields[:3], " "))
		}
	}
	return lines
}

// callers names a number of concurrent callers.
func callers(n int) string {
	if n == 1 {
		return "1 caller"
	}
	return fmt.Sprintf("%d callers", n)
}

// writeIssuance renders the issuance table: the end-to-end time through the plugin next to the
// steps that the C++ client benchmark times on their own.
func (r *report) writeIssuance(b *strings.Builder) {
	b.WriteString("## Issuance\n\n")
	b.WriteString("The plugin logs no per-step timings. The end-to-end figure is one read of `cert/<role>` with no certificate yet, through the harness: ")
	b.WriteString("key generation, CSR, the create call over HTTPS to the simulator, the storage writes over the broker and the gRPC round trip. ")
	b.WriteString("The storage writes are counted on the host side and the Qualtrics calls (create, list, delete, token) at the simulator. ")
	if r.Steps.Err != nil {
		fmt.Fprintf(b, "The per-step times are missing: %v.\n\n", r.Steps.Err)
	} else {
		fmt.Fprintf(b, "The key and create columns come from `//backend/qualtrics:client_benchmark` (median of %d %s per key type, with the range of the create call). ", r.Steps.Runs, plural(r.Steps.Runs, "run", "runs"))
		b.WriteString("It calls the same key, CSR and client code in one process. Its create call reuses the client's open connection, as the plugin's does when its previous Qualtrics call was less than 30 s before, and includes the simulator's signing. ")
		fmt.Fprintf(b, "One list call on an empty organization, the cost of one HTTPS exchange, took %s ms. ", formatStat(r.Steps.List, "%.2f", true))
		b.WriteString("The rest is the end-to-end median minus the two step medians: Qualtrics calls other than the create, storage writes, gRPC and the engine's own work, plus noise. ")
		b.WriteString("The client benchmark runs once after the repetitions, in its own process against its own simulator, so the rest is an estimate that comes out negative when the load on the machine changed in between. ")
		b.WriteString("RSA key generation time also varies widely from key to key (it searches for primes), so for RSA the rest says little.\n\n")
	}
	b.WriteString("| key type | end to end (ms) | key + CSR (ms) | create call (ms) | rest (ms) | storage writes | Qualtrics calls |\n|---|---|---|---|---|---|---|\n")
	for _, kt := range keyTypes {
		total := r.Stats[keyOurs]["issue_"+kt.Label+"_ms"]
		prepare, create := r.Steps.Prepare[kt.Label], r.Steps.Create[kt.Label]
		rest := "–"
		if total.OK && prepare.OK && create.OK {
			rest = fmt.Sprintf("%.1f", total.Median-prepare.Median-create.Median)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", kt.Label,
			formatStat(total, "%.1f", r.Options.Reps > 1), formatStat(prepare, "%.1f", false),
			formatStat(create, "%.1f", true), rest,
			formatStat(r.Stats[keyOurs]["issue_"+kt.Label+"_writes"], "%.0f", false),
			formatStat(r.Stats[keyOurs]["issue_"+kt.Label+"_calls"], "%.0f", false))
	}
	b.WriteString("\nThe expired-certificate figures use a role with `renew_before=0` and a certificate the simulator issued with a 3-second validity; ")
	b.WriteString("all readers must receive the same new certificate.\n\n")
}

// formatStat renders a median, with its range when spread is true.
func formatStat(s stat, format string, spread bool) string {
	if !s.OK {
		return "–"
	}
	text := fmt.Sprintf(format, s.Median)
	if spread && s.Min != s.Max {
		text += fmt.Sprintf(" ("+format+"–"+format+")", s.Min, s.Max)
	}
	return text
}

// binarySizes lists the size of each plugin binary, e.g. "qualtrics 3.1 MiB, kv 35.6 MiB".
func (r *report) binarySizes() string {
	var sizes []string
	for _, t := range r.Targets {
		if info, err := os.Stat(t.Binary); err == nil {
			sizes = append(sizes, fmt.Sprintf("%s %.1f MiB", t.Key, float64(info.Size())/(1<<20)))
		}
	}
	return strings.Join(sizes, ", ")
}

// callerList names the concurrency levels, e.g. "1, 8 and 64 concurrent callers".
func callerList() string {
	var levels []string
	for _, c := range concurrencies {
		levels = append(levels, fmt.Sprint(c))
	}
	last := len(levels) - 1
	if last == 0 {
		return levels[0] + " concurrent callers"
	}
	return strings.Join(levels[:last], ", ") + " and " + levels[last] + " concurrent callers"
}

// plural returns the singular word when count is 1 and the plural word otherwise.
func plural(count int, singular, pluralWord string) string {
	if count == 1 {
		return singular
	}
	return pluralWord
}
