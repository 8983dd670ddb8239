package main

import (
	"math"
	"runtime"
	"time"
)

// Timing rules of the video (realtime) and server scenarios, as pure functions of durations so that tests
// can check them without a clock.

// frameOffset is when frame f of a stream at fps frames per second arrives, counted from the first frame.
func frameOffset(f int, fps float64) time.Duration {
	return time.Duration(math.Round(float64(f) * float64(time.Second) / fps))
}

// dropFrame is the realtime drop rule: frame f, read by readEnd (counted from the first frame's arrival), is
// dropped when frame f + 1 has already arrived, i.e. when processing it would put the runner behind the
// stream.
func dropFrame(readEnd time.Duration, f int, fps float64) bool {
	return readEnd >= frameOffset(f+1, fps)
}

// arrivalTimes turns the server's arrival offsets into times after start. The times keep Go's monotonic
// clock reading (Time.Add does), so queue_ns and latency_ns measured against them are monotonic too.
func arrivalTimes(start time.Time, offsetsNS []int64) []time.Time {
	times := make([]time.Time, len(offsetsNS))
	for k, off := range offsetsNS {
		times[k] = start.Add(time.Duration(off))
	}
	return times
}

// spinMargin: Go's timer sleeps overshoot by 0.1 to 0.3 ms on Linux, so sleepUntil wakes this much early
// and spins the rest: an arrival is then late by microseconds, not by a fraction of a millisecond, at the
// cost of at most this much CPU per wait.
const spinMargin = 300 * time.Microsecond

// sleepUntil waits until deadline: a timer sleep to spinMargin before it, then a short spin that yields
// the processor (runtime.Gosched) to other goroutines. It returns false, at once, when done is closed
// first (a nil done never is).
func sleepUntil(deadline time.Time, done <-chan struct{}) bool {
	if d := time.Until(deadline) - spinMargin; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-done:
			t.Stop()
			return false
		}
	}
	for time.Now().Before(deadline) {
		runtime.Gosched()
	}
	return true
}
