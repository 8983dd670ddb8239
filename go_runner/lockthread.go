package main

import "runtime"

// init keeps the main goroutine, which makes every OpenCV call of the single-Net scenarios, on the process's
// main OS thread, as the C++ and Python runners do: OpenCV's thread-local state (its per-thread buffers and
// allocator arenas) then stays on one thread between calls. Measured in one process, alternating locked and
// unlocked forward() calls: no difference beyond +-2.5 % (docs/methodology.md); it is here so that the three
// runners make the same native calls from the same kind of thread.
func init() { runtime.LockOSThread() }
