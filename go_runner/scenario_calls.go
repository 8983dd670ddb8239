package main

import (
	"time"

	"gocv.io/x/gocv"
)

// runCallOverhead runs the "call_overhead" scenario: no model, no image; samples of K calls of "empty" (an
// empty C function through cgo), "opencv" (cv::countNonZero on a 1x1 8-bit Mat), "mat" (a new 1x1 Mat,
// counted and closed, each call) and "loop" (the loop alone, the baseline), interleaved sample by sample so
// that drift in the machine's state hits all alike. A call_sample record follows each sample.
func runCallOverhead(s *spec, out *recordWriter) error {
	if err := begin(s, out); err != nil {
		return err
	}
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), 1, 1, gocv.MatTypeCV8UC1)
	defer m.Close()
	k := s.CallsPerSample
	for i := 0; i < s.Warmup+s.Iterations; i++ {
		warm := i < s.Warmup
		if err := out.write(callSample("empty", i, warm, k, timeEmptyCalls(k))); err != nil {
			return err
		}
		if err := out.write(callSample("opencv", i, warm, k, timeCountNonZero(m, k))); err != nil {
			return err
		}
		if err := out.write(callSample("mat", i, warm, k, timeMatCountClose(k))); err != nil {
			return err
		}
		if err := out.write(callSample("loop", i, warm, k, timeLoop(k))); err != nil {
			return err
		}
	}
	return writeEnd(out, s.Iterations, s.Warmup)
}

func callSample(call string, index int, warmup bool, calls int, totalNS int64) callSampleRecord {
	return callSampleRecord{Type: "call_sample", Call: call, Index: index, Warmup: warmup, Calls: calls,
		TotalNS: totalNS}
}

// timeEmptyCalls times k empty cgo calls between two clock reads.
func timeEmptyCalls(k int) int64 {
	t0 := time.Now()
	for j := 0; j < k; j++ {
		emptyCall()
	}
	return time.Since(t0).Nanoseconds()
}

// timeCountNonZero times k gocv.CountNonZero calls on m between two clock reads. A cgo call is never
// optimised away, so the results need no sink.
func timeCountNonZero(m gocv.Mat, k int) int64 {
	t0 := time.Now()
	for j := 0; j < k; j++ {
		gocv.CountNonZero(m)
	}
	return time.Since(t0).Nanoseconds()
}

// timeMatCountClose times k rounds of: allocate a zero-filled 1x1 Mat, count it, close it (three cgo calls,
// what a Go caller pays for the operation; Python pays np.zeros and one binding call, C++ a local cv::Mat).
func timeMatCountClose(k int) int64 {
	t0 := time.Now()
	for j := 0; j < k; j++ {
		m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), 1, 1, gocv.MatTypeCV8UC1)
		gocv.CountNonZero(m)
		m.Close()
	}
	return time.Since(t0).Nanoseconds()
}

// loopSink keeps the baseline loop from being optimised away: written, never read, by design.
//
//lint:ignore U1000 a sink is only written
var loopSink int

// timeLoop times the loop alone: k iterations that only count.
func timeLoop(k int) int64 {
	n := 0
	t0 := time.Now()
	for j := 0; j < k; j++ {
		n += j & 1
	}
	elapsed := time.Since(t0).Nanoseconds()
	loopSink = n
	return elapsed
}
