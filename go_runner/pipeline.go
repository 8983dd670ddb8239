package main

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"time"

	"gocv.io/x/gocv"
)

// classOffset shifts each class's boxes apart so one NMSBoxes call never suppresses across classes
// (YOLOv5's max_wh trick).
const classOffset = 7680

// letterbox is the geometry of step 2 of the protocol's algorithm.
type letterbox struct {
	w, h                     int     // original image size
	r                        float64 // scale factor
	newW, newH               int     // resized size
	left, right, top, bottom int     // padding
}

func computeLetterbox(w, h, s int) letterbox {
	r := math.Min(float64(s)/float64(h), float64(s)/float64(w))
	// At least one pixel: a 4000 x 1 strip would round to 0 rows, which resize refuses (docs/protocol.md).
	newW := max(1, int(math.Floor(float64(w)*r+0.5)))
	newH := max(1, int(math.Floor(float64(h)*r+0.5)))
	left := (s - newW) / 2
	top := (s - newH) / 2
	return letterbox{
		w: w, h: h, r: r, newW: newW, newH: newH,
		left: left, right: s - newW - left, top: top, bottom: s - newH - top,
	}
}

// candidates holds the rows that pass the thresholds, in output order. The slices are reused across
// iterations.
type candidates struct {
	rects   []image.Rectangle // NMS input: integer boxes shifted by class
	scores  []float32
	classes []int
	boxes   [][4]float32 // x1, y1, w, h in letterbox pixels
}

func (c *candidates) reset() {
	c.rects = c.rects[:0]
	c.scores = c.scores[:0]
	c.classes = c.classes[:0]
	c.boxes = c.boxes[:0]
}

// decodeRows appends to c the rows of a YOLOv5 output (rows of stride floats: cx, cy, w, h, obj, class
// scores) that pass conf, reading the output buffer in place. All arithmetic is float32.
func decodeRows(data []float32, stride int, conf float32, c *candidates) {
	// Most rows fail the objectness test: that test reads one float per row and nothing else.
	end := len(data) - len(data)%stride
	for off := 0; off < end; off += stride {
		obj := data[off+4]
		if !(obj > conf) { // written so that NaN is rejected
			continue
		}
		row := data[off : off+stride]
		cls := row[5:]
		best := obj * cls[0]
		bestK := 0
		for k := 1; k < len(cls); k++ {
			if s := obj * cls[k]; s > best {
				best, bestK = s, k
			}
		}
		if !(best > conf) {
			continue
		}
		w, h := row[2], row[3]
		x1 := row[0] - w/2
		y1 := row[1] - h/2
		off := bestK * classOffset
		// int(float32) truncates toward zero, like C++'s (int) cast.
		rx, ry := int(x1)+off, int(y1)+off
		c.rects = append(c.rects, image.Rectangle{
			Min: image.Point{X: rx, Y: ry},
			Max: image.Point{X: rx + int(w), Y: ry + int(h)},
		})
		c.scores = append(c.scores, best)
		c.classes = append(c.classes, bestK)
		c.boxes = append(c.boxes, [4]float32{x1, y1, w, h})
	}
}

// mapBack turns a letterbox box (x1, y1, w, h) into [x1, y1, x2, y2] original-image pixels, clipped to the
// image. float32 throughout, r included.
func mapBack(b [4]float32, g letterbox) [4]float32 {
	r := float32(g.r)
	left, top := float32(g.left), float32(g.top)
	w, h := float32(g.w), float32(g.h)
	return [4]float32{
		clamp((b[0]-left)/r, w),
		clamp((b[1]-top)/r, h),
		clamp((b[0]+b[2]-left)/r, w),
		clamp((b[1]+b[3]-top)/r, h),
	}
}

func clamp(v, hi float32) float32 {
	if v < 0 {
		return 0
	}
	if v > hi {
		return hi
	}
	return v
}

// phaseTimes are the four contiguous phases of one iteration, in nanoseconds.
type phaseTimes struct {
	decode, preprocess, inference, postprocess, total int64
}

// newPhaseTimes turns the five clock reads of an iteration into its phases.
func newPhaseTimes(t0, t1, t2, t3, t4 time.Time) phaseTimes {
	return phaseTimes{
		decode:      t1.Sub(t0).Nanoseconds(),
		preprocess:  t2.Sub(t1).Nanoseconds(),
		inference:   t3.Sub(t2).Nanoseconds(),
		postprocess: t4.Sub(t3).Nanoseconds(),
		total:       t4.Sub(t0).Nanoseconds(),
	}
}

// letterboxInto letterboxes img to size x size into padded (step 2 of the algorithm), resizing through
// resized; both Mats are reused across calls.
func letterboxInto(img gocv.Mat, size int, resized, padded *gocv.Mat) letterbox {
	g := computeLetterbox(img.Cols(), img.Rows(), size)
	src := img
	if g.newW != g.w || g.newH != g.h {
		gocv.Resize(img, resized, image.Pt(g.newW, g.newH), 0, 0, gocv.InterpolationLinear)
		src = *resized
	}
	gocv.CopyMakeBorder(src, padded, g.top, g.bottom, g.left, g.right, gocv.BorderConstant,
		color.RGBA{R: 114, G: 114, B: 114, A: 0})
	return g
}

// blobInto fills blob (NCHW float32, RGB, scaled by 1/255) from the letterboxed images: blobFromImages into
// a reused Mat, the same OpenCV code as blobFromImage without a new blob per call.
func blobInto(imgs []gocv.Mat, size int, blob *gocv.Mat) {
	gocv.BlobFromImages(imgs, blob, 1.0/255.0, image.Pt(size, size), gocv.NewScalar(0, 0, 0, 0), true, false,
		gocv.MatTypeCV32F)
}

// outputRows checks that a network output is [batch, N, 5+classes] ([N, 5+classes] is accepted for a
// batch of 1) and returns N and the row length.
func outputRows(dims []int, batch int) (n, stride int, err error) {
	ok := len(dims) == 3 && dims[0] == batch || len(dims) == 2 && batch == 1
	if !ok || dims[len(dims)-1] < 6 {
		return 0, 0, newError(codeInternal, "unexpected network output shape %v (want [%d, N, 5+classes])",
			dims, batch)
	}
	return dims[len(dims)-2], dims[len(dims)-1], nil
}

// imageRows is image j's part of a [batch, n, stride] output: a view into the output buffer, no copy.
func imageRows(data []float32, j, n, stride int) []float32 {
	per := n * stride
	return data[j*per : (j+1)*per : (j+1)*per]
}

// postprocessor runs steps 5 to 7 of the algorithm on one image's rows. Its slices are reused across
// images.
type postprocessor struct {
	conf, nms float32
	maxDets   int
	cand      candidates
	indices   []int
}

// detect decodes rows (n rows of stride floats), runs class-offset NMS and appends the kept boxes, mapped
// back to the original image, to dets.
func (pp *postprocessor) detect(rows []float32, stride int, g letterbox, dets []detection) ([]detection, error) {
	pp.cand.reset()
	decodeRows(rows, stride, pp.conf, &pp.cand)
	n := len(pp.cand.rects)
	if n == 0 {
		return dets, nil // gocv.NMSBoxes panics on an empty input
	}
	if cap(pp.indices) < n {
		pp.indices = make([]int, n)
	}
	indices := pp.indices[:n]
	for i := range indices {
		indices[i] = -1 // NMSBoxes leaves the slots past its result untouched
	}
	gocv.NMSBoxes(pp.cand.rects, pp.cand.scores, pp.conf, pp.nms, indices)
	kept := 0
	for _, k := range indices {
		if k < 0 || kept == pp.maxDets {
			break
		}
		if k >= n {
			return dets, newError(codeInternal, "NMSBoxes returned index %d of %d boxes", k, n)
		}
		dets = append(dets, detection{
			ClassID: pp.cand.classes[k],
			Score:   pp.cand.scores[k],
			Box:     mapBack(pp.cand.boxes[k], g),
		})
		kept++
	}
	return dets, nil
}

// pipeline runs the protocol's algorithm on one image at a time with one inferer (which it does not own).
// The Mats and slices it holds are reused across images; Close releases them.
type pipeline struct {
	inf        inferer
	size       int
	post       postprocessor
	resized    gocv.Mat
	padded     gocv.Mat
	blob       gocv.Mat
	blobInputs []gocv.Mat
	dets       []detection
}

func newPipeline(inf inferer, size int, conf, nms float32, maxDets int) *pipeline {
	p := &pipeline{
		inf: inf, size: size, post: postprocessor{conf: conf, nms: nms, maxDets: maxDets},
		resized: gocv.NewMat(), padded: gocv.NewMat(), blob: gocv.NewMat(),
	}
	// padded's C++ object is stable (CopyMakeBorder reallocates inside it), so this slice stays valid.
	p.blobInputs = []gocv.Mat{p.padded}
	return p
}

func (p *pipeline) Close() {
	p.resized.Close()
	p.padded.Close()
	p.blob.Close()
}

// result of one image. dets is owned by the pipeline and valid until the next process call. start and end
// are the first and last clock reads of the iteration (the server scenario measures queueing against them).
type result struct {
	width, height int
	times         phaseTimes
	start, end    time.Time
	dets          []detection
}

// process runs decode, preprocess, inference and postprocess on one image file with five clock reads;
// nothing but the pipeline's own work happens between the first and the last.
func (p *pipeline) process(path string) (result, error) {
	t0 := time.Now()
	img := gocv.IMRead(path, gocv.IMReadColor)
	if img.Empty() {
		img.Close()
		return result{}, newError(codeImageRead, "cannot read image %s", path)
	}
	t1 := time.Now()
	res, err := p.processDecoded(img, t0, t1)
	img.Close()
	return res, err
}

// processDecoded continues an iteration whose decode phase ran from t0 to t1 (an image file or a video
// frame): preprocess, inference and postprocess, with the last three clock reads.
func (p *pipeline) processDecoded(img gocv.Mat, t0, t1 time.Time) (result, error) {
	g := p.preprocess(img)
	t2 := time.Now()
	out, err := p.inf.infer(p.blob)
	t3 := time.Now()
	if err != nil {
		return result{}, err
	}
	dets, err := p.postprocess(out, g)
	t4 := time.Now()
	out.close()
	if err != nil {
		return result{}, err
	}
	return result{
		width: g.w, height: g.h, dets: dets,
		times: newPhaseTimes(t0, t1, t2, t3, t4), start: t0, end: t4,
	}, nil
}

// preprocess letterboxes img into p.padded and fills p.blob.
func (p *pipeline) preprocess(img gocv.Mat) letterbox {
	g := letterboxInto(img, p.size, &p.resized, &p.padded)
	blobInto(p.blobInputs, p.size, &p.blob)
	return g
}

// postprocess decodes the [1, N, 5+classes] output, runs class-offset NMS and maps the kept boxes back.
func (p *pipeline) postprocess(out netOutput, g letterbox) ([]detection, error) {
	data, dims, err := out.rows()
	if err != nil {
		return nil, err
	}
	_, stride, err := outputRows(dims, 1)
	if err != nil {
		return nil, err
	}
	p.dets, err = p.post.detect(data, stride, g, p.dets[:0])
	return p.dets, err
}

// String helps test failure messages.
func (g letterbox) String() string {
	return fmt.Sprintf("%dx%d r=%v -> %dx%d pad l%d r%d t%d b%d", g.w, g.h, g.r, g.newW, g.newH,
		g.left, g.right, g.top, g.bottom)
}
