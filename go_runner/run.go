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

// begin is the start of every scenario: the thread count (before any model is loaded, as the protocol asks),
// the hello record, and the refusal of a target that OpenCV would silently replace by the CPU.
func begin(s *spec, out *recordWriter) error {
	if s.Threads > 0 {
		setNumThreads(s.Threads)
	}
	available := targetNames(availableTargets(backendIDs[s.Backend]))
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
	if !contains(available, s.Target) {
		return newError(codeBackendUnavailable, "target %s is not available for backend %s (available: %v)",
			s.Target, s.Backend, available)
	}
	return checkInputs(s)
}

// checkInputs fails fast, before seconds go into loading a model, on an input file that cannot be opened.
// call_overhead reads none.
func checkInputs(s *spec) error {
	paths := s.Images
	if s.Scenario == "call_overhead" {
		paths = nil
	}
	if s.Scenario == "video" {
		paths = append([]string{s.Video.Path}, paths...)
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return newError(codeImageRead, "cannot read input %s: %v", path, err)
		}
		f.Close()
	}
	return nil
}

// loadNet loads the spec's model; loadNS times readNet + setPreferableBackend + setPreferableTarget, as the
// load record defines. The caller closes the Net.
func loadNet(s *spec) (net gocv.Net, loadNS int64, err error) {
	if _, err := os.Stat(s.Model.Path); err != nil {
		return gocv.Net{}, 0, newError(codeModelLoad, "cannot read model %s: %v", s.Model.Path, err)
	}
	t0 := time.Now()
	net, err = readNet(s.Model.Path)
	if err == nil {
		net.SetPreferableBackend(gocv.NetBackendType(backendIDs[s.Backend]))
		net.SetPreferableTarget(gocv.NetTargetType(targetIDs[s.Target]))
	}
	loadNS = time.Since(t0).Nanoseconds()
	if err != nil {
		return gocv.Net{}, 0, newError(codeModelLoad, "cannot read model %s: %v", s.Model.Path, err)
	}
	return net, loadNS, nil
}

// newSpecPipeline is a pipeline with the spec's input size and thresholds.
func newSpecPipeline(s *spec, net *gocv.Net) *pipeline {
	return newPipeline(net, s.Model.InputSize, float32(s.ConfThreshold), float32(s.NMSThreshold), s.MaxDetections)
}

// beginWithNet writes hello, loads the one Net of a single-worker scenario and writes its load record.
// The caller closes the Net.
func beginWithNet(s *spec, out *recordWriter) (gocv.Net, error) {
	if err := begin(s, out); err != nil {
		return gocv.Net{}, err
	}
	net, loadNS, err := loadNet(s)
	if err != nil {
		return gocv.Net{}, err
	}
	if err := out.write(loadRecord{Type: "load", Model: s.Model.Name, LoadNS: loadNS}); err != nil {
		net.Close()
		return gocv.Net{}, err
	}
	return net, nil
}

// writeEnd writes the end record with the process's peak RSS and its PSS now.
func writeEnd(out *recordWriter, iterations, warmup int) error {
	rss, err := peakRSSBytes()
	if err != nil {
		return newError(codeInternal, "cannot read peak RSS: %v", err)
	}
	return out.write(endRecord{Type: "end", Iterations: iterations, Warmup: warmup, PeakRSSBytes: rss,
		PSSBytes: pssBytes()})
}

func newDetectionsRecord(path string, res result) detectionsRecord {
	return newNamedDetectionsRecord(filepath.Base(path), res)
}

// newNamedDetectionsRecord copies res's detections (the pipeline reuses its slice) into a record for image.
func newNamedDetectionsRecord(image string, res result) detectionsRecord {
	dets := make([]detection, len(res.dets)) // never nil: an image without detections is "detections": []
	copy(dets, res.dets)
	return detectionsRecord{Type: "detections", Image: image, Width: res.width, Height: res.height, Detections: dets}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
