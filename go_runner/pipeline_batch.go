package main

import (
	"time"

	"gocv.io/x/gocv"
)

// batchPipeline runs the algorithm on B images at once, through an inferer (not owned) whose model's input
// is Bx3xSxS: one blob from blobFromImages, one inference, then each image's slice of the [B, N, 85] output
// decoded in place. The Mats and slices it holds are reused across iterations; Close releases them.
type batchPipeline struct {
	inf     inferer
	size    int
	post    postprocessor
	imgs    []gocv.Mat // the current iteration's decoded images, closed before process returns
	resized gocv.Mat
	padded  []gocv.Mat // one letterboxed image per slot: blobFromImages reads them all at once
	blob    gocv.Mat
	geoms   []letterbox
	results []result // per image; dets owned by the pipeline, valid until the next process call
}

func newBatchPipeline(inf inferer, batch, size int, conf, nms float32, maxDets int) *batchPipeline {
	b := &batchPipeline{
		inf: inf, size: size, post: postprocessor{conf: conf, nms: nms, maxDets: maxDets},
		imgs: make([]gocv.Mat, batch), resized: gocv.NewMat(), padded: make([]gocv.Mat, batch),
		blob: gocv.NewMat(), geoms: make([]letterbox, batch), results: make([]result, batch),
	}
	for j := range b.padded {
		b.padded[j] = gocv.NewMat()
	}
	return b
}

func (b *batchPipeline) Close() {
	b.resized.Close()
	for j := range b.padded {
		b.padded[j].Close()
	}
	b.blob.Close()
}

// process runs one iteration on len(paths) == B images with five clock reads, as pipeline.process does
// for one image. It returns the iteration's phases and each image's result.
func (b *batchPipeline) process(paths []string) (phaseTimes, []result, error) {
	t0 := time.Now()
	if err := b.decode(paths); err != nil {
		return phaseTimes{}, nil, err
	}
	t1 := time.Now()
	for j := range b.imgs {
		b.geoms[j] = letterboxInto(b.imgs[j], b.size, &b.resized, &b.padded[j])
	}
	blobInto(b.padded, b.size, &b.blob)
	t2 := time.Now()
	out, err := b.inf.infer(b.blob)
	t3 := time.Now()
	if err != nil {
		closeAll(b.imgs)
		return phaseTimes{}, nil, err
	}
	err = b.postprocess(out)
	t4 := time.Now()
	out.close()
	closeAll(b.imgs)
	if err != nil {
		return phaseTimes{}, nil, err
	}
	return newPhaseTimes(t0, t1, t2, t3, t4), b.results, nil
}

// decode reads the B images into b.imgs; on a failure it closes the ones already read.
func (b *batchPipeline) decode(paths []string) error {
	for j, path := range paths {
		b.imgs[j] = gocv.IMRead(path, gocv.IMReadColor)
		if b.imgs[j].Empty() {
			closeAll(b.imgs[:j+1])
			return newError(codeImageRead, "cannot read image %s", path)
		}
	}
	return nil
}

// postprocess checks that out is [B, N, 5+classes] and decodes each image's rows into b.results.
func (b *batchPipeline) postprocess(out netOutput) error {
	batch := len(b.imgs)
	data, dims, err := out.rows()
	if err != nil {
		return err
	}
	n, stride, err := outputRows(dims, batch)
	if err != nil {
		return err
	}
	if len(data) != batch*n*stride {
		return newError(codeInternal, "network output holds %d floats, want %d x %d x %d", len(data), batch, n, stride)
	}
	for j, g := range b.geoms {
		r := &b.results[j]
		r.width, r.height = g.w, g.h
		if r.dets, err = b.post.detect(imageRows(data, j, n, stride), stride, g, r.dets[:0]); err != nil {
			return err
		}
	}
	return nil
}

func closeAll(mats []gocv.Mat) {
	for j := range mats {
		mats[j].Close()
	}
}
