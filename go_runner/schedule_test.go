package main

import (
	"strings"
	"testing"
	"time"
)

func TestFrameOffset(t *testing.T) {
	cases := []struct {
		f    int
		fps  float64
		want time.Duration
	}{
		{0, 10, 0},
		{1, 10, 100 * time.Millisecond},
		{795, 10, 79500 * time.Millisecond},
		{1, 30000.0 / 1001, 33366667 * time.Nanosecond}, // NTSC: 33.3666... ms, rounded to the nanosecond
		{3, 3, time.Second},
	}
	for _, c := range cases {
		if got := frameOffset(c.f, c.fps); got != c.want {
			t.Errorf("frameOffset(%d, %v) = %v, want %v", c.f, c.fps, got, c.want)
		}
	}
}

// The drop rule: after reading frame f, drop it when frame f + 1 has already arrived.
func TestDropFrame(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		readEnd time.Duration // end of frame f's read, counted from frame 0's arrival
		f       int
		want    bool
	}{
		{0, 0, false},          // the very first read
		{99 * ms, 0, false},    // frame 1 (100 ms) has not arrived yet
		{100*ms - 1, 0, false}, // one nanosecond before it
		{100 * ms, 0, true},    // it arrives exactly now: already there, drop
		{100 * ms, 1, false},   // frame 1 read as it arrives
		{199 * ms, 1, false},   // a slow read, still before frame 2
		{250 * ms, 1, true},    // frame 2 (200 ms) has arrived
		{250 * ms, 2, false},   // frame 3 (300 ms) has not
		{10000 * ms, 50, true}, // far behind the stream
		{5050 * ms, 50, false}, // caught up again
	}
	for _, c := range cases {
		if got := dropFrame(c.readEnd, c.f, 10); got != c.want {
			t.Errorf("dropFrame(%v, %d, 10 fps) = %v, want %v", c.readEnd, c.f, got, c.want)
		}
	}
}

func TestArrivalTimes(t *testing.T) {
	start := time.Now()
	offsets := []int64{0, 81234567, 81234567, 2e9}
	got := arrivalTimes(start, offsets)
	if len(got) != len(offsets) {
		t.Fatalf("%d times for %d offsets", len(got), len(offsets))
	}
	for k, at := range got {
		if d := at.Sub(start); d != time.Duration(offsets[k]) {
			t.Errorf("arrival %d at start + %v, want + %v", k, d, time.Duration(offsets[k]))
		}
	}
	// The times keep the monotonic clock reading (String prints it as m=+...), so the durations measured
	// against them are monotonic.
	if !strings.Contains(got[3].String(), "m=+") {
		t.Errorf("arrival time %v has no monotonic reading", got[3])
	}
}

func TestSleepUntil(t *testing.T) {
	for _, d := range []time.Duration{-time.Millisecond, 0, 200 * time.Microsecond, 3 * time.Millisecond} {
		deadline := time.Now().Add(d)
		if !sleepUntil(deadline, nil) {
			t.Fatalf("sleepUntil(+%v) returned false with no done channel", d)
		}
		if late := time.Since(deadline); late < 0 || late > 50*time.Millisecond {
			t.Errorf("sleepUntil(+%v) returned %v after the deadline", d, late)
		}
	}
	// A closed done channel ends a long wait at once.
	done := make(chan struct{})
	close(done)
	t0 := time.Now()
	if sleepUntil(t0.Add(time.Hour), done) {
		t.Error("sleepUntil returned true although done was closed")
	}
	if waited := time.Since(t0); waited > time.Second {
		t.Errorf("sleepUntil waited %v after done", waited)
	}
}
