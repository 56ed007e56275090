// Command s3suite runs versitygw's S3 integration suite (github.com/versity/versitygw/tests/integration) against
// an S3 endpoint, the way `versitygw test full-flow` does, but leaves out by name the tests of operations the
// endpoint deliberately does not offer, each with its reason (skip.txt).
//
// The suite's own runner cannot skip a test: its groups call the tests directly. So fullflow_gen.go, written by
// ./gen from the suite's group-tests.go of the pinned version, lists the tests in the order full-flow runs
// them, and s3suite calls them one by one.
//
//	go run ./gen -groups .../tests/integration/group-tests.go > fullflow_gen.go
//	s3suite -endpoint http://127.0.0.1:7071 -access ID -secret SECRET -skip skip.txt
//
// It ends with "s3suite: N passed, N failed, N skipped" and exits 1 when a test that is not skipped fails.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/versity/versitygw/tests/integration"
)

type test struct {
	name string
	fn   integration.IntTest
	sync bool // ts.Sync: full-flow runs it after every ts.Run test, with the bucket list to itself
}

func main() {
	err := run()
	var failed testsFailed
	switch {
	case errors.As(err, &failed):
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "s3suite:", err)
		os.Exit(2)
	}
}

type testsFailed int

func (n testsFailed) Error() string { return fmt.Sprintf("%d tests failed", int(n)) }

func run() error {
	endpoint := flag.String("endpoint", "", "S3 endpoint, e.g. http://127.0.0.1:7071")
	access := flag.String("access", os.Getenv("AWS_ACCESS_KEY_ID"), "access key ID with rights over every bucket")
	region := flag.String("region", "us-east-1", "region")
	skipFile := flag.String("skip", "", "skip list: lines 'NAME-or-PREFIX*  reason'")
	only := flag.String("run", "", "run only the tests whose names match this regular expression")
	list := flag.Bool("list", false, "list the tests full-flow runs, with the reason for skipping any, and exit")
	flag.Parse()
	secret := os.Getenv("AWS_SECRET_ACCESS_KEY") // not a flag: command lines are visible to every user
	skips, err := readSkips(*skipFile, fullFlow)
	if err != nil {
		return err
	}
	if *list {
		for _, t := range fullFlow {
			fmt.Printf("%s\t%s\n", t.name, skips.reason(t.name))
		}
		return nil
	}
	if *endpoint == "" || *access == "" || secret == "" {
		return errors.New("-endpoint, -access (or AWS_ACCESS_KEY_ID) and AWS_SECRET_ACCESS_KEY are required")
	}
	var filter *regexp.Regexp
	if *only != "" {
		if filter, err = regexp.Compile(*only); err != nil {
			return fmt.Errorf("-run: %w", err)
		}
	}
	conf := integration.NewS3Conf(integration.WithAccess(*access), integration.WithSecret(secret),
		integration.WithRegion(*region), integration.WithEndpoint(*endpoint))
	return runTests(conf, fullFlow, skips, filter)
}

// runTests runs the tests in full-flow's order: the ts.Run ones first, then the ts.Sync ones.
func runTests(conf *integration.S3Conf, tests []test, skips skipList, filter *regexp.Regexp) error {
	ordered := slices.Concat(syncTests(tests, false), syncTests(tests, true))
	var passed, skipped int
	var failed []string
	start := time.Now()
	for _, t := range ordered {
		if filter != nil && !filter.MatchString(t.name) {
			continue
		}
		if reason := skips.reason(t.name); reason != "" {
			fmt.Printf("SKIP %s: %s\n", t.name, reason)
			skipped++
			continue
		}
		if err := call(t.fn, conf); err != nil {
			failed = append(failed, t.name+": "+err.Error())
			continue
		}
		passed++
	}
	fmt.Printf("\nversitygw full-flow: %d tests in %s\n", passed+len(failed)+skipped, time.Since(start).Round(time.Second))
	for _, f := range failed {
		fmt.Println("FAILED", f)
	}
	fmt.Printf("s3suite: %d passed, %d failed, %d skipped\n", passed, len(failed), skipped)
	if len(failed) > 0 {
		return testsFailed(len(failed))
	}
	return nil
}

// call runs one test; a panic is that test's failure, not the end of the run.
func call(f integration.IntTest, conf *integration.S3Conf) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
			fmt.Println("FAIL", err)
		}
	}()
	return f(conf)
}

func syncTests(tests []test, sync bool) []test {
	var out []test
	for _, t := range tests {
		if t.sync == sync {
			out = append(out, t)
		}
	}
	return out
}

// skipList maps test names (or prefixes ending in *) to the reason they are skipped.
type skipList []skipEntry

type skipEntry struct{ pattern, reason string }

func (s skipList) reason(name string) string {
	for _, e := range s {
		if p, ok := strings.CutSuffix(e.pattern, "*"); ok && strings.HasPrefix(name, p) || e.pattern == name {
			return e.reason
		}
	}
	return ""
}

// readSkips reads the skip list. An entry that matches no test of full-flow is an error, so that the list
// cannot keep names that a new version of the suite renamed.
func readSkips(path string, tests []test) (skipList, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out skipList
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pattern, reason, _ := strings.Cut(line, " ")
		reason = strings.TrimSpace(reason)
		if reason == "" {
			return nil, fmt.Errorf("%s:%d: %s has no reason", path, n, pattern)
		}
		e := skipEntry{pattern: pattern, reason: reason}
		if !slices.ContainsFunc(tests, func(t test) bool { return skipList{e}.reason(t.name) != "" }) {
			return nil, fmt.Errorf("%s:%d: %s matches no test of full-flow", path, n, pattern)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
