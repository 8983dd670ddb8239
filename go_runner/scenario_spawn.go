package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// runSpawn runs the "spawn" scenario (mode goroutines): the article's section 4.3 as it wrote it. Each sample
// starts N goroutines that take tasks from one channel, puts M tasks in it and closes it; every task sleeps.
// No model is loaded and no input is read: the sample measures the language's workers and nothing else. A
// spawn_sample record follows each sample, once its workers are joined.
func runSpawn(s *spec, out *recordWriter) error {
	if err := begin(s, out); err != nil {
		return err
	}
	var log io.Writer
	if s.Spawn.Print {
		log = concurrentWriter(s.stderr)
	}
	for i := 0; i < s.Warmup+s.Iterations; i++ {
		rec, err := spawnSample(s.Workers, s.Spawn.Tasks, time.Duration(s.Spawn.TaskSleepNS), log)
		if err != nil {
			return err
		}
		rec.Index, rec.Warmup = i, i < s.Warmup
		if err := out.write(rec); err != nil {
			return err
		}
	}
	return writeEnd(out, s.Iterations, s.Warmup)
}

// spawnSample runs one sample (docs/protocol.md, "spawn"): the resident set, n workers started and counted
// in (startup_ns), the resident set with them blocked on the empty channel, then m tasks through them until
// every worker has returned (tasks_ns). log, when not nil, gets the article's line per task.
func spawnSample(n, m int, sleep time.Duration, log io.Writer) (spawnSampleRecord, error) {
	// The channel exists before the first reading, so that its buffer is not counted as the workers' memory.
	tasks := make(chan int, m)
	before, err := residentBytes()
	if err != nil {
		return spawnSampleRecord{}, newError(codeInternal, "cannot read the resident set size: %v", err)
	}
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	t0 := time.Now()
	for w := 0; w < n; w++ {
		go spawnWorker(w, tasks, sleep, log, &ready, &done)
	}
	ready.Wait()
	t1 := time.Now()
	alive, rssErr := residentBytes()
	t2 := time.Now()
	for k := 0; k < m; k++ {
		tasks <- k
	}
	close(tasks)
	done.Wait()
	t3 := time.Now()
	if rssErr != nil {
		return spawnSampleRecord{}, newError(codeInternal, "cannot read the resident set size: %v", rssErr)
	}
	return spawnSampleRecord{
		Type: "spawn_sample", Workers: n, Tasks: m, StartupNS: t1.Sub(t0).Nanoseconds(),
		TasksNS: t3.Sub(t2).Nanoseconds(), RSSBeforeBytes: before, RSSBytes: alive,
	}, nil
}

// spawnWorker is the article's worker: it counts itself in, then takes tasks until the channel is closed and
// drained, sleeping for each (and printing its line when log is set).
func spawnWorker(w int, tasks <-chan int, sleep time.Duration, log io.Writer, ready, done *sync.WaitGroup) {
	defer done.Done()
	ready.Done()
	for task := range tasks {
		time.Sleep(sleep)
		if log != nil {
			fmt.Fprintf(log, "Worker %d processed %d\n", w, task)
		}
	}
}

// concurrentWriter returns w as it is when it is a file (each Write is one system call, safe from any
// goroutine, as the article's fmt.Println to stdout was), or behind a mutex otherwise (a test's buffer).
func concurrentWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	if f, ok := w.(*os.File); ok {
		return f
	}
	return &lockedWriter{w: w}
}

// lockedWriter serialises the writes of many goroutines to a writer that is not safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
