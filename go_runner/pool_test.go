package main

import (
	"errors"
	"sync"
	"testing"
)

func TestAbort(t *testing.T) {
	a := newAbort()
	if a.failed() || a.firstError() != nil {
		t.Fatal("a new abort has failed")
	}
	a.guard(func() error { return nil })
	if a.failed() {
		t.Fatal("a nil error failed the run")
	}
	// The first failure wins, whichever goroutine reports it; later ones are dropped.
	first := errors.New("first")
	a.fail(first)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.guard(func() error { return errors.New("later") })
		}()
	}
	wg.Wait()
	if !a.failed() || a.firstError() != first {
		t.Errorf("firstError %v, want %v", a.firstError(), first)
	}
	select {
	case <-a.done:
	default:
		t.Error("done is not closed")
	}
}

// A panic in a worker goroutine becomes the run's internal error instead of killing the process.
func TestAbortGuardPanic(t *testing.T) {
	a := newAbort()
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.guard(func() error { panic("boom") })
	}()
	<-done
	if re := asRunnerError(a.firstError()); re.code != codeInternal || re.msg != "panic: boom" {
		t.Errorf("got %v", a.firstError())
	}
}

func TestSeenSet(t *testing.T) {
	s := newSeenSet()
	var wg sync.WaitGroup
	firsts := make(chan string, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []string{"a.jpg", "b.jpg"}[i%2]
			if s.first(key) {
				firsts <- key
			}
		}()
	}
	wg.Wait()
	close(firsts)
	var got []string
	for k := range firsts {
		got = append(got, k)
	}
	if len(got) != 2 || got[0] == got[1] {
		t.Errorf("first() was true for %v, want once per key", got)
	}
}
