package main

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
)

// Record types of docs/protocol.md. The json tags are the contract: records_test.go checks them against
// tests/fixtures/protocol/.

const protocolVersion = 1

type helloRecord struct {
	Type             string   `json:"type"`
	Protocol         int      `json:"protocol"`
	Runner           string   `json:"runner"`
	Language         string   `json:"language"`
	LanguageVersion  string   `json:"language_version"`
	OpenCVVersion    string   `json:"opencv_version"`
	OpenCVBuildHash  string   `json:"opencv_build_hash"`
	OpenCVBuildInfo  string   `json:"opencv_build_info"`
	Threads          int      `json:"threads"`
	PID              int      `json:"pid"`
	Backend          string   `json:"backend"`
	Target           string   `json:"target"`
	AvailableTargets []string `json:"available_targets"`
	// The runner always writes engine; omitempty only lets the records of older runners (and fixtures)
	// decode and re-encode to the same keys. ort is there under onnxruntime once the library is loaded.
	Engine string    `json:"engine,omitempty"`
	ORT    *ortHello `json:"ort,omitempty"`
}

// ortHello is the hello's "ort" object (docs/protocol.md, "hello").
type ortHello struct {
	Version            string            `json:"version"`
	Library            string            `json:"library"`
	LibrarySHA256      string            `json:"library_sha256"`
	Linked             bool              `json:"linked"`
	AvailableProviders []string          `json:"available_providers"`
	Provider           string            `json:"provider"`
	SessionOptions     ortSessionOptions `json:"session_options"`
}

type ortSessionOptions struct {
	IntraOpThreads    int    `json:"intra_op_threads"`
	InterOpThreads    int    `json:"inter_op_threads"`
	ExecutionMode     string `json:"execution_mode"`
	GraphOptimization string `json:"graph_optimization"`
}

type loadRecord struct {
	Type   string `json:"type"`
	Model  string `json:"model"`
	LoadNS int64  `json:"load_ns"`
	// Under onnxruntime only: the providers the session uses (never empty there: the CPU is always one).
	Providers []string `json:"providers,omitempty"`
}

type phases struct {
	Decode      int64 `json:"decode"`
	Preprocess  int64 `json:"preprocess"`
	Inference   int64 `json:"inference"`
	Postprocess int64 `json:"postprocess"`
}

type iterationRecord struct {
	Type       string `json:"type"`
	Index      int    `json:"index"`
	Warmup     bool   `json:"warmup"`
	Image      string `json:"image"`
	PhasesNS   phases `json:"phases_ns"`
	TotalNS    int64  `json:"total_ns"`
	Detections int    `json:"detections"`
}

// detection: box is [x1, y1, x2, y2] in original-image pixels. float32 fields encode as the shortest
// decimal that reads back to the same float32.
type detection struct {
	ClassID int        `json:"class_id"`
	Score   float32    `json:"score"`
	Box     [4]float32 `json:"box"`
}

type detectionsRecord struct {
	Type       string      `json:"type"`
	Image      string      `json:"image"`
	Width      int         `json:"width"`
	Height     int         `json:"height"`
	Detections []detection `json:"detections"`
}

type endRecord struct {
	Type         string `json:"type"`
	Iterations   int    `json:"iterations"`
	Warmup       int    `json:"warmup"`
	PeakRSSBytes int64  `json:"peak_rss_bytes"`
	PSSBytes     int64  `json:"pss_bytes"`
}

type errorRecord struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Fatal   bool   `json:"fatal"`
}

// Error codes of the protocol.
const (
	codeSpec                = "spec"
	codeProtocol            = "protocol"
	codeUnsupportedScenario = "unsupported_scenario"
	codeModelLoad           = "model_load"
	codeImageRead           = "image_read"
	codeBackendUnavailable  = "backend_unavailable"
	codeInternal            = "internal"
)

// recordWriter writes one JSON object per line and flushes after each, so the orchestrator sees every
// record as soon as it exists. Callers only write outside timed regions. It is safe for concurrent use: the
// workers of the concurrency and server scenarios write their own records, one whole line at a time.
type recordWriter struct {
	mu  sync.Mutex
	buf *bufio.Writer
	enc *json.Encoder
}

func newRecordWriter(w io.Writer) *recordWriter {
	buf := bufio.NewWriterSize(w, 64*1024)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return &recordWriter{buf: buf, enc: enc}
}

// write encodes rec (Encode appends the newline) and flushes.
func (rw *recordWriter) write(rec any) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if err := rw.enc.Encode(rec); err != nil {
		return err
	}
	return rw.buf.Flush()
}
