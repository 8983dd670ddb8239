package main

import "time"

// runServer runs the "server" scenario (mode goroutines): workers start and warm up as in concurrency, then
// an open-loop schedule feeds them: request k arrives at start + arrivals_ns[k] whether or not a worker is
// free. This goroutine is the dispatcher; the queue holds every request, so enqueueing never blocks.
func runServer(s *spec, out *recordWriter) error {
	if err := begin(s, out); err != nil {
		return err
	}
	pl, startupNS, err := startPool(s, out)
	if err != nil {
		return err
	}
	defer pl.Close()

	queue := make(chan request, len(s.ArrivalsNS))
	release := make(chan struct{})
	wg := pl.launch(release, queue, serverRecord)
	start := time.Now() // the clock of the schedule starts once every worker is ready
	close(release)
	arrivals := arrivalTimes(start, s.ArrivalsNS)
	dispatch(queue, arrivals, pl.stop.done)
	wg.Wait()
	if err := pl.stop.firstError(); err != nil {
		return err
	}

	completed, lastEnd := pl.totals()
	res := serverResultRecord{
		Type: "result", Scenario: "server", Workers: s.Workers, Mode: s.Mode, Rate: jsonFloat(s.Rate),
		StartupNS: startupNS, MeasuredWallNS: lastEnd.Sub(arrivals[0]).Nanoseconds(), Completed: completed,
	}
	if err := pl.out.write(res); err != nil {
		return err
	}
	return pl.finish()
}

// dispatch enqueues request k at arrivals[k], then closes the queue; it stops early when done closes (a
// worker failed). A request carries its scheduled arrival, not the moment it was enqueued: a client's
// request has arrived at that time even if the dispatcher wakes a little late.
func dispatch(queue chan<- request, arrivals []time.Time, done <-chan struct{}) {
	defer close(queue)
	for k, at := range arrivals {
		if !sleepUntil(at, done) {
			return
		}
		queue <- request{k: k, arrival: at}
	}
}

// serverRecord adds the request's queueing to the service's phases: queue_ns from arrival to the start of
// service, latency_ns from arrival to the result.
func serverRecord(w *worker, req request, image string, res result) any {
	it := workerIterationRecord{newIterationRecord(req.k, false, image, res.times, len(res.dets)), w.id}
	return serverIterationRecord{
		workerIterationRecord: it,
		QueueNS:               res.start.Sub(req.arrival).Nanoseconds(),
		LatencyNS:             res.end.Sub(req.arrival).Nanoseconds(),
	}
}
