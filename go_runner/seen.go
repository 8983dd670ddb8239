package main

import "sync"

// seenSet answers "is this the first time this image is processed?", which decides who writes an image's
// one detections record. Safe for concurrent use: in the concurrency and server scenarios any worker may
// be first. The lock is taken after an iteration's last clock read, never inside one.
type seenSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

func newSeenSet() *seenSet { return &seenSet{seen: make(map[string]bool)} }

// first marks key as seen and reports whether it was not before.
func (s *seenSet) first(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[key] {
		return false
	}
	s.seen[key] = true
	return true
}
