package main

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// Records of the scenarios beyond "single" (docs/protocol.md, "Scenarios"). The extra keys of a scenario's
// iteration record come from embedding: encoding/json flattens an embedded struct's fields in place, so each
// record carries the base keys plus exactly its own, with no optional (omitempty) field that could vanish
// when its value is 0 (frame 0, worker 0).

type workerLoadRecord struct {
	loadRecord
	Worker int `json:"worker"`
}

type videoIterationRecord struct {
	iterationRecord
	Frame int `json:"frame"`
}

type workerIterationRecord struct {
	iterationRecord
	Worker int `json:"worker"`
}

type serverIterationRecord struct {
	workerIterationRecord
	QueueNS   int64 `json:"queue_ns"`
	LatencyNS int64 `json:"latency_ns"`
}

// httpIterationRecord is one served request: queue_ns from the body read to the start of decode (waiting for
// a network), handler_ns from the handler's entry to the response encoded.
type httpIterationRecord struct {
	workerIterationRecord
	QueueNS   int64 `json:"queue_ns"`
	HandlerNS int64 `json:"handler_ns"`
}

type batchIterationRecord struct {
	iterationRecord
	Batch int `json:"batch"`
}

type videoResultRecord struct {
	Type           string    `json:"type"`
	Scenario       string    `json:"scenario"`
	FramesRead     int       `json:"frames_read"`
	Processed      int       `json:"processed"`
	Dropped        int       `json:"dropped"`
	SourceFPS      jsonFloat `json:"source_fps"`
	MeasuredWallNS int64     `json:"measured_wall_ns"`
}

type concurrencyResultRecord struct {
	Type           string `json:"type"`
	Scenario       string `json:"scenario"`
	Workers        int    `json:"workers"`
	Mode           string `json:"mode"`
	StartupNS      int64  `json:"startup_ns"`
	MeasuredWallNS int64  `json:"measured_wall_ns"`
	Completed      int    `json:"completed"`
}

type serverResultRecord struct {
	Type           string    `json:"type"`
	Scenario       string    `json:"scenario"`
	Workers        int       `json:"workers"`
	Mode           string    `json:"mode"`
	Rate           jsonFloat `json:"rate"`
	StartupNS      int64     `json:"startup_ns"`
	MeasuredWallNS int64     `json:"measured_wall_ns"`
	Completed      int       `json:"completed"`
}

// listeningRecord says where the http scenario's server listens, once its networks are warm.
type listeningRecord struct {
	Type      string `json:"type"`
	Address   string `json:"address"`
	Port      int    `json:"port"`
	StartupNS int64  `json:"startup_ns"`
}

type httpResultRecord struct {
	Type      string `json:"type"`
	Scenario  string `json:"scenario"`
	Workers   int    `json:"workers"`
	Mode      string `json:"mode"`
	StartupNS int64  `json:"startup_ns"`
	Served    int64  `json:"served"`
	Rejected  int64  `json:"rejected"`
}

// spawnSampleRecord is one sample of the spawn scenario: start N workers, then run M tasks on them.
type spawnSampleRecord struct {
	Type           string `json:"type"`
	Index          int    `json:"index"`
	Warmup         bool   `json:"warmup"`
	Workers        int    `json:"workers"`
	Tasks          int    `json:"tasks"`
	StartupNS      int64  `json:"startup_ns"`
	TasksNS        int64  `json:"tasks_ns"`
	RSSBeforeBytes int64  `json:"rss_before_bytes"`
	RSSBytes       int64  `json:"rss_bytes"`
}

type callSampleRecord struct {
	Type    string `json:"type"`
	Call    string `json:"call"`
	Index   int    `json:"index"`
	Warmup  bool   `json:"warmup"`
	Calls   int    `json:"calls"`
	TotalNS int64  `json:"total_ns"`
}

// jsonFloat is a float64 that always encodes as a JSON float (10.0, not 10): the protocol's float keys
// (source_fps, rate) then read back as floats in Python whatever their value.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("json: unsupported value: %v", v)
	}
	format := byte('f') // as encoding/json: exponent form only for very small or very large values
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, v, format, -1, 64)
	if !bytes.ContainsAny(b, ".e") {
		b = append(b, '.', '0')
	}
	return b, nil
}

// newIterationRecord is the part of an iteration record that every scenario shares; detections counts the
// detections of every image of the iteration.
func newIterationRecord(index int, warmup bool, image string, times phaseTimes, detections int) iterationRecord {
	return iterationRecord{
		Type:   "iteration",
		Index:  index,
		Warmup: warmup,
		Image:  image,
		PhasesNS: phases{
			Decode:      times.decode,
			Preprocess:  times.preprocess,
			Inference:   times.inference,
			Postprocess: times.postprocess,
		},
		TotalNS:    times.total,
		Detections: detections,
	}
}
