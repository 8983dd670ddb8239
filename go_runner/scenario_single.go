package main

import "path/filepath"

// runSingle runs the "single" scenario: hello, load, warmup + iterations over the images cyclically, one
// detections record per image, end. Records go to out between timed regions, never inside one.
func runSingle(s *spec, out *recordWriter) error {
	inf, err := beginWithInferer(s, out, 1)
	if err != nil {
		return err
	}
	defer inf.Close()

	p := newSpecPipeline(s, inf)
	defer p.Close()
	seen := newSeenSet()
	for i := 0; i < s.Warmup+s.Iterations; i++ {
		path := s.Images[i%len(s.Images)]
		res, err := p.process(path)
		if err != nil {
			return err
		}
		it := newIterationRecord(i, i < s.Warmup, filepath.Base(path), res.times, len(res.dets))
		if err := out.write(it); err != nil {
			return err
		}
		if seen.first(path) {
			if err := out.write(newDetectionsRecord(path, res)); err != nil {
				return err
			}
		}
	}
	if err := reportUnseen(s.Images, seen, p, out); err != nil {
		return err
	}
	return writeEnd(out, s.Iterations, s.Warmup)
}

// reportUnseen gives the images that the iterations never reached their one detections record, processed
// untimed, in spec order.
func reportUnseen(images []string, seen *seenSet, p *pipeline, out *recordWriter) error {
	for _, path := range images {
		if !seen.first(path) {
			continue
		}
		res, err := p.process(path)
		if err != nil {
			return err
		}
		if err := out.write(newDetectionsRecord(path, res)); err != nil {
			return err
		}
	}
	return nil
}
