// Command gotest-summary reads `go test -json` events on standard input, prints the test output
// as `go test -v` would, and writes the counts of passed and failed tests to the file named by
// -counts as one line "PASSED FAILED". Only top-level tests are counted, not subtests. A package
// that fails without a failing test (a build error, a panic outside a test, a timeout) counts as
// one failed test, so such a failure is never lost from the total.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
)

// event is the subset of a test2json event that the summary uses.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	countsPath := flag.String("counts", "", "file to write \"PASSED FAILED\" to (required)")
	flag.Parse()
	if *countsPath == "" {
		fmt.Fprintln(os.Stderr, "Error: -counts FILE is required")
		os.Exit(1)
	}

	passed, failed := 0, 0
	var failedNames []string
	failedTests := map[string]int{}
	failedPackages := map[string]bool{}
	var notJSON []string

	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Action == "" {
			// Build errors and other go command messages arrive as plain lines.
			fmt.Println(line)
			notJSON = append(notJSON, line)
			continue
		}
		if ev.Output != "" {
			fmt.Print(ev.Output)
		}
		topLevel := ev.Test != "" && !strings.Contains(ev.Test, "/")
		switch {
		case ev.Action == "pass" && topLevel:
			passed++
		case ev.Action == "fail" && topLevel:
			failed++
			failedTests[ev.Package]++
			failedNames = append(failedNames, ev.Package+" "+ev.Test)
		case ev.Action == "fail" && ev.Test == "":
			failedPackages[ev.Package] = true
		}
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "Error reading go test output: %v\n", err)
		failed++
	}
	for pkg := range failedPackages {
		if failedTests[pkg] == 0 {
			fmt.Printf("gotest-summary: package %s failed outside any test; counted as one failure\n", pkg)
			failed++
			failedNames = append(failedNames, pkg+" (outside any test)")
		}
	}
	if passed == 0 && failed == 0 && len(notJSON) > 0 {
		fmt.Println("gotest-summary: go test produced no test results; counted as one failure")
		failed++
	}
	for _, name := range failedNames {
		fmt.Printf("gotest-summary: FAILED %s\n", name)
	}
	if err := os.WriteFile(*countsPath, []byte(fmt.Sprintf("%d %d\n", passed, failed)), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "Error writing counts: %v\n", err)
		os.Exit(1)
	}
}
