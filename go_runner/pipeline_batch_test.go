package main

import (
	"testing"

	"gocv.io/x/gocv"
)

func TestImageRows(t *testing.T) {
	// [3, 2, 4]: image j's rows hold the values j*8 .. j*8+7.
	data := make([]float32, 3*2*4)
	for i := range data {
		data[i] = float32(i)
	}
	for j := 0; j < 3; j++ {
		rows := imageRows(data, j, 2, 4)
		if len(rows) != 8 || cap(rows) != 8 || rows[0] != float32(j*8) || rows[7] != float32(j*8+7) {
			t.Errorf("image %d: rows %v (cap %d)", j, rows, cap(rows))
		}
	}
	// A view, not a copy: the decoder reads the network's buffer in place.
	imageRows(data, 1, 2, 4)[0] = -1
	if data[8] != -1 {
		t.Error("imageRows copied the data")
	}
}

func TestOutputRows(t *testing.T) {
	cases := []struct {
		dims      []int
		batch     int
		n, stride int
		ok        bool
	}{
		{[]int{1, 6300, 85}, 1, 6300, 85, true},
		{[]int{6300, 85}, 1, 6300, 85, true},
		{[]int{4, 6300, 85}, 4, 6300, 85, true},
		{[]int{1, 6300, 85}, 4, 0, 0, false}, // a batch-1 model given B = 4
		{[]int{4, 6300, 85}, 1, 0, 0, false},
		{[]int{6300, 85}, 2, 0, 0, false},
		{[]int{1, 6300, 5}, 1, 0, 0, false}, // no class column
		{[]int{1, 1, 6300, 85}, 1, 0, 0, false},
	}
	for _, c := range cases {
		n, stride, err := outputRows(c.dims, c.batch)
		if (err == nil) != c.ok || n != c.n || stride != c.stride {
			t.Errorf("outputRows(%v, %d) = %d, %d, %v", c.dims, c.batch, n, stride, err)
		}
	}
}

// Each image of a batch is decoded from its own slice of the [B, N, 85] output with its own letterbox.
func TestBatchPostprocess(t *testing.T) {
	const n, stride = 2, 8
	m := gocv.NewMatWithSizes([]int{2, n, stride}, gocv.MatTypeCV32F)
	defer m.Close()
	buf, err := m.DataPtrFloat32()
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, flatten(
		row(100, 100, 50, 50, 0.9, 0.9, 0, 0), // image 0: class 0
		row(10, 10, 4, 4, 0.1, 1, 1, 1),       // image 0: below threshold
		row(160, 160, 20, 20, 0.8, 0, 0, 0.9), // image 1: class 2
		row(60, 60, 20, 20, 0.7, 0, 0.9, 0),   // image 1: class 1, lower score
	))
	b := newBatchPipeline(nil, 2, 320, 0.25, 0.45, 300)
	defer b.Close()
	b.geoms[0] = computeLetterbox(320, 320, 320) // identity
	b.geoms[1] = computeLetterbox(640, 640, 320) // r = 0.5: boxes double
	if err := b.postprocess(matOutput(m)); err != nil {
		t.Fatal(err)
	}
	want := [][]detection{
		{{ClassID: 0, Score: float32(0.9) * float32(0.9), Box: [4]float32{75, 75, 125, 125}}},
		{
			{ClassID: 2, Score: float32(0.8) * float32(0.9), Box: [4]float32{300, 300, 340, 340}},
			{ClassID: 1, Score: float32(0.7) * float32(0.9), Box: [4]float32{100, 100, 140, 140}},
		},
	}
	for j, w := range want {
		r := b.results[j]
		if r.width != b.geoms[j].w || r.height != b.geoms[j].h || len(r.dets) != len(w) {
			t.Fatalf("image %d: %dx%d %+v, want %+v", j, r.width, r.height, r.dets, w)
		}
		for i := range w {
			if r.dets[i] != w[i] {
				t.Errorf("image %d detection %d = %+v, want %+v", j, i, r.dets[i], w[i])
			}
		}
	}
	if countDetections(b.results) != 3 {
		t.Errorf("countDetections = %d, want 3", countDetections(b.results))
	}
	// A batch-1 output given to a batch-2 pipeline is an error, not a misread.
	one := gocv.NewMatWithSizes([]int{1, n, stride}, gocv.MatTypeCV32F)
	defer one.Close()
	if err := b.postprocess(matOutput(one)); err == nil {
		t.Error("a [1, N, 8] output accepted for a batch of 2")
	}
}
