package main

import "time"

// runConcurrency runs the "concurrency" scenario (mode goroutines): N workers start and warm up at once,
// then are released together onto one queue that already holds every request, closed loop: a worker takes
// the next request as soon as it finishes one.
func runConcurrency(s *spec, out *recordWriter) error {
	if err := begin(s, out); err != nil {
		return err
	}
	pl, startupNS, err := startPool(s, out)
	if err != nil {
		return err
	}
	defer pl.Close()

	queue := make(chan request, s.Iterations)
	for k := 0; k < s.Iterations; k++ {
		queue <- request{k: k}
	}
	close(queue)
	release := make(chan struct{})
	wg := pl.launch(release, queue, concurrencyRecord)
	released := time.Now()
	close(release)
	wg.Wait()
	if err := pl.stop.firstError(); err != nil {
		return err
	}

	completed, lastEnd := pl.totals()
	res := concurrencyResultRecord{
		Type: "result", Scenario: "concurrency", Workers: s.Workers, Mode: s.Mode, StartupNS: startupNS,
		MeasuredWallNS: lastEnd.Sub(released).Nanoseconds(), Completed: completed,
	}
	if err := pl.out.write(res); err != nil {
		return err
	}
	return pl.finish()
}

func concurrencyRecord(w *worker, req request, image string, res result) any {
	return workerIterationRecord{newIterationRecord(req.k, false, image, res.times, len(res.dets)), w.id}
}
