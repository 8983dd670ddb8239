package main

import "path/filepath"

// runBatch runs the "batch" scenario: iteration i processes the B images images[(i*B + j) % len(images)]
// with one forward of a Bx3xSxS blob. A detections record is written the first time each image is
// processed.
func runBatch(s *spec, out *recordWriter) error {
	inf, err := beginWithInferer(s, out, s.Batch)
	if err != nil {
		return err
	}
	defer inf.Close()
	b := newBatchPipeline(inf, s.Batch, s.Model.InputSize, float32(s.ConfThreshold), float32(s.NMSThreshold),
		s.MaxDetections)
	defer b.Close()

	seen := newSeenSet()
	paths := make([]string, s.Batch)
	for i := 0; i < s.Warmup+s.Iterations; i++ {
		for j := range paths {
			paths[j] = s.Images[(i*s.Batch+j)%len(s.Images)]
		}
		times, results, err := b.process(paths)
		if err != nil {
			return err
		}
		it := newIterationRecord(i, i < s.Warmup, filepath.Base(paths[0]), times, countDetections(results))
		if err := out.write(batchIterationRecord{it, s.Batch}); err != nil {
			return err
		}
		if err := writeFirstDetections(paths, results, seen, out); err != nil {
			return err
		}
	}
	if err := reportUnseenBatch(s.Images, seen, b, out); err != nil {
		return err
	}
	return writeEnd(out, s.Iterations, s.Warmup)
}

// countDetections is an iteration's "detections": the sum over its B images.
func countDetections(results []result) int {
	n := 0
	for _, r := range results {
		n += len(r.dets)
	}
	return n
}

// writeFirstDetections writes the detections record of each image processed for the first time.
func writeFirstDetections(paths []string, results []result, seen *seenSet, out *recordWriter) error {
	for j, path := range paths {
		if seen.first(path) {
			if err := out.write(newDetectionsRecord(path, results[j])); err != nil {
				return err
			}
		}
	}
	return nil
}

// reportUnseenBatch gives the images that no iteration reached their detections record, untimed: in spec
// order, B at a time (the model's batch is fixed), a last short group filled up with its own images again.
func reportUnseenBatch(images []string, seen *seenSet, b *batchPipeline, out *recordWriter) error {
	var unseen []string
	for _, path := range images {
		if seen.first(path) {
			unseen = append(unseen, path)
		}
	}
	paths := make([]string, len(b.imgs))
	for lo := 0; lo < len(unseen); lo += len(paths) {
		group := unseen[lo:min(lo+len(paths), len(unseen))]
		for j := range paths {
			paths[j] = group[j%len(group)]
		}
		_, results, err := b.process(paths)
		if err != nil {
			return err
		}
		for j, path := range group {
			if err := out.write(newDetectionsRecord(path, results[j])); err != nil {
				return err
			}
		}
	}
	return nil
}
