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
// under onnxruntime the library (loaded before the hello that describes it), the hello record, then the
// refusals of what would otherwise fall back to the CPU silently: an ORT that could not be loaded, a provider
// that it lacks, a target that OpenCV lacks. call_overhead goes through it too, and uses no engine after it;
// spawn goes through it without loading ORT (withoutEngine).
func begin(s *spec, out *recordWriter) error {
	if s.Threads > 0 {
		setNumThreads(s.Threads)
	}
	var rt *ortRuntime
	var ortErr error
	if s.Engine.Name == engineORT && !withoutEngine[s.Scenario] {
		rt, ortErr = loadSpecORT(s)
	}
	hello := newHelloRecord(s)
	if rt != nil {
		hello.ORT = rt.helloInfo(s)
	}
	if err := out.write(hello); err != nil {
		return err
	}
	if ortErr != nil {
		return ortErr
	}
	if rt != nil {
		if err := rt.checkProvider(s.Engine); err != nil {
			return err
		}
	}
	if !contains(hello.AvailableTargets, s.Target) {
		return newError(codeBackendUnavailable, "target %s is not available for backend %s (available: %v)",
			s.Target, s.Backend, hello.AvailableTargets)
	}
	return checkInputs(s)
}

// withoutEngine are the scenarios that load no engine, not even ORT's library: spawn measures the language's
// own workers, and a library mapped into the process would count in its resident set.
var withoutEngine = map[string]bool{"spawn": true}

// newHelloRecord describes this runner, its OpenCV and the spec's backend, target and engine.
func newHelloRecord(s *spec) helloRecord {
	info := buildInformation()
	hash := sha256.Sum256([]byte(info))
	return helloRecord{
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
		AvailableTargets: targetNames(availableTargets(backendIDs[s.Backend])),
		Engine:           s.Engine.Name,
	}
}

// checkInputs fails fast, before seconds go into loading a model, on an input file that cannot be opened.
// call_overhead and spawn read none.
func checkInputs(s *spec) error {
	paths := s.Images
	if s.Scenario == "call_overhead" || s.Scenario == "spawn" {
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

// loadNet loads the spec's model with OpenCV DNN; loadNS times readNet + setPreferableBackend +
// setPreferableTarget, as the load record defines. The caller closes the Net.
func loadNet(s *spec) (net gocv.Net, loadNS int64, err error) {
	if err := statModel(s.Model.Path); err != nil {
		return gocv.Net{}, 0, err
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
func newSpecPipeline(s *spec, inf inferer) *pipeline {
	return newPipeline(inf, s.Model.InputSize, float32(s.ConfThreshold), float32(s.NMSThreshold), s.MaxDetections)
}

// beginWithInferer writes hello, loads the one inferer of a single-worker scenario (its blob holds batch
// images) and writes its load record. The caller closes the inferer.
func beginWithInferer(s *spec, out *recordWriter, batch int) (inferer, error) {
	if err := begin(s, out); err != nil {
		return nil, err
	}
	loader, err := newModelLoader(s, batch)
	if err != nil {
		return nil, err
	}
	inf, load, err := loader.load()
	if err != nil {
		return nil, err
	}
	if err := out.write(load); err != nil {
		inf.Close()
		return nil, err
	}
	return inf, nil
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
