// Command go_runner is the Go/gocv runner of the benchmark: it reads one JSON spec and writes JSON Lines
// records to stdout, as docs/protocol.md defines.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	installTerminateHandler()
	os.Exit(runMain(os.Args[1:], os.Stdin, recordsOutput(), os.Stderr))
}

// runMain returns the exit status: 0 run completed, 1 after an error record, 2 bad command line.
func runMain(args []string, stdin io.Reader, stdout, stderr io.Writer) (status int) {
	out := newRecordWriter(stdout)
	fail := func(err error) int {
		re := asRunnerError(err)
		fmt.Fprintf(stderr, "go_runner: %s: %s\n", re.code, re.msg)
		if werr := out.write(errorRecord{Type: "error", Code: re.code, Message: re.msg, Fatal: true}); werr != nil {
			fmt.Fprintf(stderr, "go_runner: cannot write error record: %v\n", werr)
		}
		return 1
	}

	fs := flag.NewFlagSet("go_runner", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specPath := fs.String("spec", "", `spec file (JSON); "-" reads it from stdin`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fail(newError(codeSpec, "bad command line: %v (usage: go_runner --spec PATH)", err))
		return 2
	}
	if *specPath == "" || fs.NArg() > 0 {
		fs.Usage()
		fail(newError(codeSpec, "bad command line %q (usage: go_runner --spec PATH)", args))
		return 2
	}

	// A panic (a bug, or gocv's own panics) still ends with an error record.
	defer func() {
		if r := recover(); r != nil {
			status = fail(newError(codeInternal, "panic: %v", r))
		}
	}()
	s, err := readSpec(*specPath, stdin)
	if err != nil {
		return fail(err)
	}
	s.stdin, s.stderr = stdin, stderr
	if err := runScenario(s, out); err != nil {
		return fail(err)
	}
	return 0
}

// scenarios maps spec.scenario to its runner (docs/protocol.md, "Scenarios").
var scenarios = map[string]func(*spec, *recordWriter) error{
	"single":        runSingle,
	"video":         runVideo,
	"concurrency":   runConcurrency,
	"server":        runServer,
	"batch":         runBatch,
	"call_overhead": runCallOverhead,
	"spawn":         runSpawn,
	"http":          runHTTP,
}

// goroutineScenarios are the scenarios with a "mode": Go runs them as goroutines and nothing else.
var goroutineScenarios = map[string]bool{"concurrency": true, "server": true, "spawn": true, "http": true}

// runScenario dispatches on spec.scenario. An unknown scenario, or a concurrency mode that Go cannot run
// (threads, processes, asyncio: Go's unit of concurrency is the goroutine), fails before hello, as nothing
// was set up.
func runScenario(s *spec, out *recordWriter) error {
	run, ok := scenarios[s.Scenario]
	if !ok {
		return newError(codeUnsupportedScenario, "scenario %q is not supported by go_runner (supported: %s)",
			s.Scenario, strings.Join(sortedKeys(scenarios), ", "))
	}
	if goroutineScenarios[s.Scenario] && s.Mode != "goroutines" {
		return newError(codeUnsupportedScenario, "scenario %s with mode %q is not supported by go_runner "+
			"(its mode is goroutines)", s.Scenario, s.Mode)
	}
	return run(s, out)
}
