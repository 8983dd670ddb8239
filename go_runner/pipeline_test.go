package main

import (
	"image"
	"math"
	"testing"

	"gocv.io/x/gocv"
)

func TestComputeLetterbox(t *testing.T) {
	cases := []struct {
		w, h, s                  int
		newW, newH               int
		left, right, top, bottom int
	}{
		{810, 1080, 640, 480, 640, 80, 80, 0, 0},   // bus.jpg
		{1280, 720, 640, 640, 360, 0, 0, 140, 140}, // zidane.jpg
		{810, 1080, 320, 240, 320, 40, 40, 0, 0},
		{333, 101, 320, 320, 97, 0, 0, 111, 112}, // odd padding goes to bottom
		{100, 201, 320, 159, 320, 80, 81, 0, 0},  // odd padding goes to right
		{320, 320, 320, 320, 320, 0, 0, 0, 0},    // no resize, no padding
		{17, 17, 320, 320, 320, 0, 0, 0, 0},      // upscaling
		{5, 10, 3, 2, 3, 0, 1, 0, 0},             // 5 * 0.3 + 0.5 rounds up to 2
		{4000, 1, 640, 640, 1, 0, 0, 319, 320},   // a strip keeps one row (0.16 + 0.5 floors to 0)
		{1, 4000, 320, 1, 320, 159, 160, 0, 0},   // and one column
	}
	for _, c := range cases {
		g := computeLetterbox(c.w, c.h, c.s)
		want := math.Min(float64(c.s)/float64(c.h), float64(c.s)/float64(c.w))
		if g.r != want || g.newW != c.newW || g.newH != c.newH || g.left != c.left || g.right != c.right ||
			g.top != c.top || g.bottom != c.bottom || g.w != c.w || g.h != c.h {
			t.Errorf("computeLetterbox(%d, %d, %d) = %v, want %dx%d pad l%d r%d t%d b%d", c.w, c.h, c.s, g,
				c.newW, c.newH, c.left, c.right, c.top, c.bottom)
		}
		if g.newW+g.left+g.right != c.s || g.newH+g.top+g.bottom != c.s {
			t.Errorf("computeLetterbox(%d, %d, %d) = %v does not fill %d", c.w, c.h, c.s, g, c.s)
		}
	}
}

// row builds one output row: cx, cy, w, h, obj, class scores.
func row(cx, cy, w, h, obj float32, cls ...float32) []float32 {
	return append([]float32{cx, cy, w, h, obj}, cls...)
}

func flatten(rows ...[]float32) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func TestDecodeRows(t *testing.T) {
	nan := float32(math.NaN())
	data := flatten(
		row(100, 50, 20, 10, 0.9, 0.1, 0.8, 0.8),   // kept: tie between classes 1 and 2 -> first (1)
		row(100, 50, 20, 10, 0.2, 1, 1, 1),         // obj below threshold
		row(100, 50, 20, 10, 0.5, 0.4, 0.3, 0.2),   // obj passes, obj*class (0.2) does not
		row(100, 50, 20, 10, 0.25, 1, 1, 1),        // obj == threshold: the test is strict
		row(10.5, 20.25, 3.3, 7.9, 1, 0, 0, 0.9),   // kept: class 2
		row(1, 2, 5, 7, 0.95, 0.3, 0.99, 0),        // kept: negative x1, y1 truncate toward zero
		row(100, 50, 20, 10, nan, 1, 1, 1),         // NaN objectness is rejected
		row(100, 50, 20, 10, 0.9, 0.26, 0.26, 0.1), // 0.9*0.26 = 0.234 < 0.25
	)
	var c candidates
	decodeRows(data, 8, 0.25, &c)
	if len(c.rects) != 3 || len(c.scores) != 3 || len(c.classes) != 3 || len(c.boxes) != 3 {
		t.Fatalf("got %d candidates, want 3: %+v", len(c.rects), c)
	}
	x1 := float32(10.5) - float32(3.3)/2
	y1 := float32(20.25) - float32(7.9)/2
	want := []struct {
		class int
		score float32
		box   [4]float32
		rect  image.Rectangle
	}{
		{1, float32(0.9) * float32(0.8), [4]float32{90, 45, 20, 10},
			image.Rect(90+7680, 45+7680, 110+7680, 55+7680)},
		{2, float32(0.9), [4]float32{x1, y1, 3.3, 7.9},
			image.Rect(8+2*7680, 16+2*7680, 8+3+2*7680, 16+7+2*7680)},
		{1, float32(0.95) * float32(0.99), [4]float32{-1.5, -1.5, 5, 7},
			image.Rect(-1+7680, -1+7680, -1+5+7680, -1+7+7680)},
	}
	for i, w := range want {
		if c.classes[i] != w.class || c.scores[i] != w.score || c.boxes[i] != w.box || c.rects[i] != w.rect {
			t.Errorf("candidate %d = class %d score %v box %v rect %v, want class %d score %v box %v rect %v",
				i, c.classes[i], c.scores[i], c.boxes[i], c.rects[i], w.class, w.score, w.box, w.rect)
		}
	}

	c.reset()
	decodeRows(nil, 8, 0.25, &c)
	if len(c.rects) != 0 {
		t.Errorf("reset + empty input left %d candidates", len(c.rects))
	}
}

func TestMapBack(t *testing.T) {
	g := computeLetterbox(810, 1080, 320) // r = 8/27, pad left 40
	cases := []struct {
		in, want [4]float32
	}{
		{[4]float32{40, 0, 240, 320}, [4]float32{0, 0, 810, 1080}},            // the whole image
		{[4]float32{100, 32, 60, 64}, [4]float32{202.5, 108, 405, 324}},       // inside
		{[4]float32{20, -10, 40, 400}, [4]float32{0, 0, 67.5, 1080}},          // clipped at 0 and at h
		{[4]float32{270, 300, 30, 30}, [4]float32{776.25, 1012.5, 810, 1080}}, // clipped at w and h
	}
	for _, c := range cases {
		got := mapBack(c.in, g)
		for i := range got {
			if math.Abs(float64(got[i]-c.want[i])) > 1e-3 {
				t.Errorf("mapBack(%v) = %v, want %v", c.in, got, c.want)
				break
			}
		}
	}
	// The arithmetic is float32 with r rounded to float32 once.
	b := [4]float32{123.4, 56.7, 89.1, 23.4}
	r := float32(g.r)
	if got, want := mapBack(b, g)[2], (b[0]+b[2]-float32(g.left))/r; got != want {
		t.Errorf("x2 = %v, want float32 result %v", got, want)
	}
}

// outputMat builds a [1, N, stride] float32 Mat, the shape of a YOLOv5 forward() output.
func outputMat(t *testing.T, data []float32, stride int) gocv.Mat {
	t.Helper()
	m := gocv.NewMatWithSizes([]int{1, len(data) / stride, stride}, gocv.MatTypeCV32F)
	buf, err := m.DataPtrFloat32()
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	copy(buf, data)
	return m
}

func TestPostprocessNMS(t *testing.T) {
	g := computeLetterbox(320, 320, 320) // identity mapping
	data := flatten(
		row(100, 100, 50, 50, 0.9, 0.9, 0, 0),    // class 0, 0.81
		row(102, 101, 50, 50, 0.8, 0.9, 0, 0),    // class 0, overlaps the first: suppressed
		row(101, 100, 50, 50, 0.7, 0, 0.9, 0),    // class 1, same place: kept thanks to the class offset
		row(250, 250, 20, 20, 0.95, 0, 0, 0.95),  // class 2, highest score
		row(10, 10, 4, 4, 0.1, 1, 1, 1),          // below threshold
		row(200, 40, 30, 30, 0.5, 0.6, 0.0, 0.0), // 0.3 > 0.25: kept, lowest
	)
	m := outputMat(t, data, 8)
	defer m.Close()
	p := newPipeline(nil, 320, 0.25, 0.45, 300)
	defer p.Close()
	dets, err := p.postprocess(matOutput(m), g)
	if err != nil {
		t.Fatal(err)
	}
	want := []detection{
		{ClassID: 2, Score: float32(0.95) * float32(0.95), Box: [4]float32{240, 240, 260, 260}},
		{ClassID: 0, Score: float32(0.9) * float32(0.9), Box: [4]float32{75, 75, 125, 125}},
		{ClassID: 1, Score: float32(0.7) * float32(0.9), Box: [4]float32{76, 75, 126, 125}},
		{ClassID: 0, Score: float32(0.5) * float32(0.6), Box: [4]float32{185, 25, 215, 55}},
	}
	if len(dets) != len(want) {
		t.Fatalf("got %d detections %+v, want %+v", len(dets), dets, want)
	}
	for i := range want {
		if dets[i] != want[i] {
			t.Errorf("detection %d = %+v, want %+v", i, dets[i], want[i])
		}
	}

	// max_detections keeps the first ones, in NMS (score) order.
	p.post.maxDets = 2
	dets, err = p.postprocess(matOutput(m), g)
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) != 2 || dets[0] != want[0] || dets[1] != want[1] {
		t.Errorf("max_detections 2: got %+v", dets)
	}

	// Nothing above the threshold: no NMSBoxes call (it panics on empty input), no detections.
	p.post.conf = 0.99
	dets, err = p.postprocess(matOutput(m), g)
	if err != nil || len(dets) != 0 {
		t.Errorf("conf 0.99: got %+v, %v; want none", dets, err)
	}
}

func TestPostprocessRejectsBadShape(t *testing.T) {
	m := gocv.NewMatWithSizes([]int{2, 3, 8}, gocv.MatTypeCV32F)
	defer m.Close()
	p := newPipeline(nil, 320, 0.25, 0.45, 300)
	defer p.Close()
	if _, err := p.postprocess(matOutput(m), computeLetterbox(320, 320, 320)); err == nil {
		t.Fatal("want an error for a [2, 3, 8] output")
	}
}
