package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ortRuntime is the process's one ONNX Runtime. onnxruntime_go keeps a single environment per process, so a
// process loads one library, once, and every spec it runs shares it (the tests run many specs in one
// process; the runner itself runs one).
type ortRuntime struct {
	library string // absolute path of the loaded file
	sha256  string // hex SHA-256 of that file
	probe   ortProbe
}

var ortState struct {
	mu sync.Mutex
	rt *ortRuntime // nil until a library has been loaded and initialised
}

// loadORT loads and initialises the ORT library at path (absolute) unless this process already has: the
// library's own probe first (version, C API 24, providers, before any session exists), then onnxruntime_go's
// environment. Every failure is backend_unavailable naming the file.
func loadORT(path string) (*ortRuntime, error) {
	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	if rt := ortState.rt; rt != nil {
		if rt.library != path {
			return nil, newError(codeBackendUnavailable, "cannot load the ONNX Runtime library %s: this process "+
				"already runs %s (one ORT per process)", path, rt.library)
		}
		return rt, nil
	}
	unavailable := func(err error) error {
		return newError(codeBackendUnavailable, "cannot load the ONNX Runtime library %s: %v", path, err)
	}
	probe, err := probeORT(path)
	if err != nil {
		return nil, unavailable(err)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, unavailable(err)
	}
	ort.SetSharedLibraryPath(path)
	// ORT's warnings go to stderr, as in the C++ (ORT_LOGGING_LEVEL_WARNING) and Python (severity 2) runners.
	if err := ort.InitializeEnvironment(ort.WithLogLevelWarning()); err != nil {
		return nil, unavailable(err)
	}
	ortState.rt = &ortRuntime{library: path, sha256: sum, probe: probe}
	return ortState.rt, nil
}

// loadSpecORT loads the spec's ORT library (a relative path resolves against the working directory, as
// the images do).
func loadSpecORT(s *spec) (*ortRuntime, error) {
	path, err := filepath.Abs(s.Engine.Library)
	if err != nil {
		return nil, newError(codeBackendUnavailable, "cannot load the ONNX Runtime library %s: %v",
			s.Engine.Library, err)
	}
	return loadORT(path)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Session options of docs/protocol.md "Engines", the same in every runner (intra-op threads aside, which
// come from the spec).
const (
	ortInterOpThreads    = 1
	ortExecutionMode     = "sequential"
	ortGraphOptimization = "all"
)

// helloInfo is the hello's "ort" object for spec s.
func (rt *ortRuntime) helloInfo(s *spec) *ortHello {
	return &ortHello{
		Version: rt.probe.version, Library: rt.library, LibrarySHA256: rt.sha256, Linked: false,
		AvailableProviders: rt.probe.providers, Provider: s.Engine.Provider,
		SessionOptions: ortSessionOptions{
			IntraOpThreads: s.Threads, InterOpThreads: ortInterOpThreads, ExecutionMode: ortExecutionMode,
			GraphOptimization: ortGraphOptimization,
		},
	}
}

// checkProvider refuses a provider that this ORT does not offer: ORT would otherwise run the session on the
// CPU without a word.
func (rt *ortRuntime) checkProvider(e engineSpec) error {
	want := e.ortProviderName()
	if !contains(rt.probe.providers, want) {
		return newError(codeBackendUnavailable, "provider %s (%s) is not available in ONNX Runtime %s %s "+
			"(available: %s)", e.Provider, want, rt.probe.version, rt.library, strings.Join(rt.probe.providers, ", "))
	}
	return nil
}

// newORTSessionOptions builds the session options of docs/protocol.md with the spec's provider appended
// (ORT's CPU provider is always there as the fallback: nothing to append for cpu). A provider that cannot be
// appended is backend_unavailable. The caller destroys the options.
func newORTSessionOptions(threads int, provider string) (*ort.SessionOptions, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, newError(codeInternal, "cannot create ONNX Runtime session options: %v", err)
	}
	if err := setORTOptions(opts, threads); err != nil {
		opts.Destroy()
		return nil, newError(codeInternal, "cannot set ONNX Runtime session options: %v", err)
	}
	if err := appendORTProvider(opts, provider); err != nil {
		opts.Destroy()
		return nil, newError(codeBackendUnavailable, "cannot append provider %s (%s) to the ONNX Runtime "+
			"session: %v", provider, ortProviders[provider], err)
	}
	return opts, nil
}

func setORTOptions(opts *ort.SessionOptions, threads int) error {
	if threads > 0 { // 0 keeps ORT's default
		if err := opts.SetIntraOpNumThreads(threads); err != nil {
			return err
		}
	}
	if err := opts.SetInterOpNumThreads(ortInterOpThreads); err != nil {
		return err
	}
	if err := opts.SetExecutionMode(ort.ExecutionModeSequential); err != nil {
		return err
	}
	return opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll)
}

func appendORTProvider(opts *ort.SessionOptions, provider string) error {
	switch provider {
	case "cpu":
		return nil
	case "cuda":
		po, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return err
		}
		defer po.Destroy()
		return opts.AppendExecutionProviderCUDA(po)
	case "tensorrt":
		po, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return err
		}
		defer po.Destroy()
		return opts.AppendExecutionProviderTensorRT(po)
	}
	return fmt.Errorf("unknown provider %q", provider)
}

// sessionProviders is the load record's "providers": ORT's C API cannot ask a session which providers it
// uses, so, as docs/protocol.md says for Go and C++, the appended one, then the CPU fallback.
func sessionProviders(provider string) []string {
	cpu := ortProviders["cpu"]
	if provider == "cpu" {
		return []string{cpu}
	}
	return []string{ortProviders[provider], cpu}
}
