package main

import (
	"path/filepath"
	"sync"
	"time"
)

// The worker pool of the concurrency and server scenarios (mode goroutines): N goroutines, each with its own
// inferer (Net or ORT session) and its own reusable Mats (a Net is not safe for concurrent use), serving requests from one shared
// channel. Only the record writer and the seen set are shared, both behind a mutex taken outside any timed
// region: nothing else serialises the workers.

// request is one measured request: its number k (it processes images[k % len(images)]) and, in the server
// scenario, its scheduled arrival.
type request struct {
	k       int
	arrival time.Time
}

// abort lets the first failure stop every goroutine of a run.
type abort struct {
	once sync.Once
	done chan struct{}
	err  error
}

func newAbort() *abort { return &abort{done: make(chan struct{})} }

// fail records err if it is the first failure and closes done.
func (a *abort) fail(err error) {
	a.once.Do(func() {
		a.err = err
		close(a.done)
	})
}

func (a *abort) failed() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// guard runs fn and turns its error, or its panic, into the run's failure: main's recover only sees its
// own goroutine, so a panic in a worker would otherwise end the process with no error record.
func (a *abort) guard(fn func() error) {
	defer func() {
		if r := recover(); r != nil {
			a.fail(newError(codeInternal, "panic: %v", r))
		}
	}()
	if err := fn(); err != nil {
		a.fail(err)
	}
}

// firstError is the first failure, or nil. Reading err after seeing done closed is race-free: the close
// happens after the write.
func (a *abort) firstError() error {
	if a.failed() {
		return a.err
	}
	return nil
}

// worker is one goroutine's state. Its fields are touched by its own goroutine alone until the pool's
// WaitGroup says it has finished.
type worker struct {
	id        int
	inf       inferer
	p         *pipeline // nil until the inferer is loaded
	startup   []any     // load, warm-up iteration and detections records, written after the barrier
	completed int
	lastEnd   time.Time // end of its last measured iteration
}

type pool struct {
	s       *spec
	loader  *modelLoader
	out     *recordWriter
	seen    *seenSet
	stop    *abort
	workers []*worker
	started time.Time // the clock read before the first worker was started
	ready   time.Time // the clock read after the last worker finished its warm-up
}

// recordFunc makes the record of a measured iteration: concurrency and server records differ.
type recordFunc func(w *worker, req request, image string, res result) any

// startPool starts s.Workers workers at once; each loads its own inferer and runs its warm-up. It returns at
// the barrier, when the last one is ready, with startup_ns. The workers' records are held back until then and
// written by this goroutine, so that no write falls inside startup_ns. The caller closes the pool.
func startPool(s *spec, out *recordWriter) (*pool, int64, error) {
	pl, err := warmPool(s, out)
	if pl == nil {
		return nil, 0, err
	}
	if werr := pl.writeStartupRecords(); err == nil {
		err = werr
	}
	if err != nil {
		pl.Close()
		return nil, 0, err
	}
	return pl, pl.ready.Sub(pl.started).Nanoseconds(), nil
}

// warmPool loads and warms up every worker at once and returns at the barrier, the workers' records still
// held (the caller writes them with writeStartupRecords, outside whatever it times). The model loader is
// prepared before the clock starts: its work is done once, not per worker. With a worker's failure it returns
// the pool too, so that the records of the others can still be written; the caller closes it. A nil pool
// means nothing was started.
func warmPool(s *spec, out *recordWriter) (*pool, error) {
	loader, err := newModelLoader(s, 1)
	if err != nil {
		return nil, err
	}
	pl := &pool{s: s, loader: loader, out: out, seen: newSeenSet(), stop: newAbort(), workers: make([]*worker, s.Workers)}
	for i := range pl.workers {
		pl.workers[i] = &worker{id: i}
	}
	pl.started = time.Now()
	var wg sync.WaitGroup
	for _, w := range pl.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pl.stop.guard(func() error { return w.warmUp(pl) })
		}()
	}
	wg.Wait()
	pl.ready = time.Now()
	return pl, pl.stop.firstError()
}

// warmUp loads the worker's inferer and runs its warm-up iterations, keeping their records.
func (w *worker) warmUp(pl *pool) error {
	s := pl.s
	inf, load, err := pl.loader.load()
	if err != nil {
		return err
	}
	w.inf = inf
	w.p = newSpecPipeline(s, inf)
	w.startup = append(w.startup, workerLoadRecord{load, w.id})
	for i := 0; i < s.Warmup && !pl.stop.failed(); i++ {
		path := s.Images[i%len(s.Images)]
		res, err := w.p.process(path)
		if err != nil {
			return err
		}
		it := newIterationRecord(i, true, filepath.Base(path), res.times, len(res.dets))
		w.startup = append(w.startup, workerIterationRecord{it, w.id})
		if pl.seen.first(path) {
			w.startup = append(w.startup, newDetectionsRecord(path, res))
		}
	}
	return nil
}

// writeStartupRecords writes the records that the workers held back during start-up, worker by worker.
func (pl *pool) writeStartupRecords() error {
	for _, w := range pl.workers {
		for _, rec := range w.startup {
			if err := pl.out.write(rec); err != nil {
				return err
			}
		}
		w.startup = nil
	}
	return nil
}

// launch starts one goroutine per worker; each waits for release to close, then serves requests from
// queue until the queue is closed and drained or the run fails. The caller closes release, feeds and closes
// queue, and waits on the returned WaitGroup.
func (pl *pool) launch(release <-chan struct{}, queue <-chan request, record recordFunc) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, w := range pl.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			pl.stop.guard(func() error { return w.serve(pl, queue, record) })
		}()
	}
	return &wg
}

// serve processes requests; the iteration's records are written after its last clock read.
func (w *worker) serve(pl *pool, queue <-chan request, record recordFunc) error {
	images := pl.s.Images
	for req := range queue {
		if pl.stop.failed() {
			return nil
		}
		path := images[req.k%len(images)]
		res, err := w.p.process(path)
		if err != nil {
			return err
		}
		w.completed++
		w.lastEnd = res.end
		if err := pl.out.write(record(w, req, filepath.Base(path), res)); err != nil {
			return err
		}
		if pl.seen.first(path) {
			if err := pl.out.write(newDetectionsRecord(path, res)); err != nil {
				return err
			}
		}
	}
	return nil
}

// totals sums the workers' measured work: completed requests and the end of the last one. Call after the
// workers have finished.
func (pl *pool) totals() (completed int, lastEnd time.Time) {
	for _, w := range pl.workers {
		completed += w.completed
		if w.lastEnd.After(lastEnd) {
			lastEnd = w.lastEnd
		}
	}
	return completed, lastEnd
}

// finish gives the images no request reached their detections record (with worker 0's pipeline: the
// workers have stopped) and writes end.
func (pl *pool) finish() error {
	if err := reportUnseen(pl.s.Images, pl.seen, pl.workers[0].p, pl.out); err != nil {
		return err
	}
	return writeEnd(pl.out, pl.s.Iterations, pl.s.Warmup)
}

// Close releases every loaded worker's Mats and inferer.
func (pl *pool) Close() {
	for _, w := range pl.workers {
		if w.p != nil {
			w.p.Close()
			w.inf.Close()
		}
	}
}
