package main

import (
	"testing"

	"gocv.io/x/gocv"
)

// BenchmarkDecodeRows640 times the decode loop alone on a real [1, 25200, 85] output of bus.jpg.
// go test -run '^$' -bench DecodeRows
func BenchmarkDecodeRows640(b *testing.B) {
	p := newTestPipeline(b, testModel(b, 640), 640)
	img := gocv.IMRead(testImage(b, "bus.jpg"), gocv.IMReadColor)
	defer img.Close()
	p.preprocess(img)
	out, err := p.inf.infer(p.blob)
	if err != nil {
		b.Fatal(err)
	}
	defer out.close()
	data, _, err := out.rows()
	if err != nil {
		b.Fatal(err)
	}
	var c candidates
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.reset()
		decodeRows(data, 85, 0.25, &c)
	}
	b.ReportMetric(float64(len(c.rects)), "candidates")
}

// BenchmarkProcess320 times one whole iteration (all four phases) and counts its Go allocations.
func BenchmarkProcess320(b *testing.B) {
	p := newTestPipeline(b, testModel(b, 320), 320)
	path := testImage(b, "bus.jpg")
	if _, err := p.process(path); err != nil { // the cold forward
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.process(path); err != nil {
			b.Fatal(err)
		}
	}
}
