package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"gocv.io/x/gocv"
)

// runSingle runs the "single" scenario: hello, load, warmup + iterations over the images cyclically, one
// detections record per image, end. Records go to out between timed regions, never inside one.
func runSingle(s *spec, out *recordWriter) error {
	if s.Threads > 0 {
		setNumThreads(s.Threads) // before the model is loaded, as the protocol asks
	}
	backend, target := backendIDs[s.Backend], targetIDs[s.Target]
	available := targetNames(availableTargets(backend))
	info := buildInformation()
	hash := sha256.Sum256([]byte(info))
	hello := helloRecord{
		Type:             "hello",
		Protocol:         protocolVersion,
		Runner:           "go_runner",
		Language:         "go",
		LanguageVersion:  runtime.Version(),
		OpenCVVersion:    opencvVersion(),
		OpenCVBuildHash:  hex.EncodeToString(hash[:]),
		OpenCVBuildInfo:  info,
		Threads:          getNumThreads(),
		PID:              os.Getpid(),
		Backend:          s.Backend,
		Target:           s.Target,
		AvailableTargets: available,
	}
	if err := out.write(hello); err != nil {
		return err
	}
	// OpenCV would silently fall back to the CPU: refuse instead.
	if !contains(available, s.Target) {
		return newError(codeBackendUnavailable, "target %s is not available for backend %s (available: %v)",
			s.Target, s.Backend, available)
	}

	if _, err := os.Stat(s.Model.Path); err != nil {
		return newError(codeModelLoad, "cannot read model %s: %v", s.Model.Path, err)
	}
	t0 := time.Now()
	net, err := readNet(s.Model.Path)
	if err == nil {
		net.SetPreferableBackend(gocv.NetBackendType(backend))
		net.SetPreferableTarget(gocv.NetTargetType(target))
	}
	loadNS := time.Since(t0).Nanoseconds()
	if err != nil {
		return newError(codeModelLoad, "cannot read model %s: %v", s.Model.Path, err)
	}
	defer net.Close()
	if err := out.write(loadRecord{Type: "load", Model: s.Model.Name, LoadNS: loadNS}); err != nil {
		return err
	}

	p := newPipeline(&net, s.Model.InputSize, float32(s.ConfThreshold), float32(s.NMSThreshold), s.MaxDetections)
	defer p.Close()
	reported := make(map[string]bool, len(s.Images))
	for i := 0; i < s.Warmup+s.Iterations; i++ {
		path := s.Images[i%len(s.Images)]
		res, err := p.process(path)
		if err != nil {
			return err
		}
		it := iterationRecord{
			Type:   "iteration",
			Index:  i,
			Warmup: i < s.Warmup,
			Image:  filepath.Base(path),
			PhasesNS: phases{
				Decode:      res.times.decode,
				Preprocess:  res.times.preprocess,
				Inference:   res.times.inference,
				Postprocess: res.times.postprocess,
			},
			TotalNS:    res.times.total,
			Detections: len(res.dets),
		}
		if err := out.write(it); err != nil {
			return err
		}
		if !reported[path] {
			reported[path] = true
			if err := out.write(newDetectionsRecord(path, res)); err != nil {
				return err
			}
		}
	}
	// Images the iterations never reached still get their one detections record (untimed).
	for _, path := range s.Images {
		if reported[path] {
			continue
		}
		reported[path] = true
		res, err := p.process(path)
		if err != nil {
			return err
		}
		if err := out.write(newDetectionsRecord(path, res)); err != nil {
			return err
		}
	}

	rss, err := peakRSSBytes()
	if err != nil {
		return newError(codeInternal, "cannot read peak RSS: %v", err)
	}
	return out.write(endRecord{Type: "end", Iterations: s.Iterations, Warmup: s.Warmup, PeakRSSBytes: rss})
}

func newDetectionsRecord(path string, res result) detectionsRecord {
	dets := make([]detection, len(res.dets)) // never nil: an image without detections is "detections": []
	copy(dets, res.dets)
	return detectionsRecord{
		Type: "detections", Image: filepath.Base(path), Width: res.width, Height: res.height, Detections: dets,
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
