//go:build matprofile

package main

import (
	"bytes"
	"testing"

	"gocv.io/x/gocv"
)

// TestNoMatLeak runs the pipeline over real images and checks that every Mat it created was closed.
// Run with: go test -tags matprofile ./...
func TestNoMatLeak(t *testing.T) {
	images := []string{testImage(t, "bus.jpg"), testImage(t, "dog.jpg"), testImage(t, "horses.jpg")}
	model := testModel(t, 320)
	start := gocv.MatProfile.Count()
	func() {
		net, err := readNet(model)
		if err != nil {
			t.Fatal(err)
		}
		defer net.Close()
		p := newPipeline(&net, 320, 0.25, 0.45, 300)
		defer p.Close()
		for i := 0; i < 30; i++ {
			if _, err := p.process(images[i%len(images)]); err != nil {
				t.Fatal(err)
			}
			// Inside the loop only the pipeline's three reused Mats may be alive.
			if n := gocv.MatProfile.Count(); n != start+3 {
				t.Fatalf("iteration %d: %d Mats alive, want %d", i, n, start+3)
			}
		}
	}()
	if n := gocv.MatProfile.Count(); n != start {
		var b bytes.Buffer
		gocv.MatProfile.WriteTo(&b, 1)
		t.Fatalf("%d Mats leaked:\n%s", n-start, b.String())
	}
}
