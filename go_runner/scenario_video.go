package main

import (
	"fmt"
	"time"

	"gocv.io/x/gocv"
)

// runVideo runs the "video" scenario: frames from cv::VideoCapture, played from the first one, each
// processed frame one iteration and one detections record; in realtime mode frames arrive at the video's
// own rate and the ones the runner cannot keep up with are dropped. A result record comes before end.
func runVideo(s *spec, out *recordWriter) error {
	inf, err := beginWithInferer(s, out, 1)
	if err != nil {
		return err
	}
	defer inf.Close()
	vc, err := gocv.VideoCaptureFile(s.Video.Path)
	if err != nil {
		vc.Close() // VideoCaptureFile returns the capture object even when opening fails
		return newError(codeImageRead, "cannot open video %s: %v", s.Video.Path, err)
	}
	defer vc.Close()

	v := &videoPlayer{s: s, out: out, vc: vc, fps: vc.Get(gocv.VideoCaptureFPS), frame: gocv.NewMat()}
	defer v.frame.Close()
	if s.Video.Realtime && !(v.fps > 0) {
		return newError(codeImageRead, "video %s reports no frame rate (CAP_PROP_FPS %v): cannot play it in real time",
			s.Video.Path, v.fps)
	}
	v.p = newSpecPipeline(s, inf)
	defer v.p.Close()
	if err := v.play(); err != nil {
		return err
	}
	if err := out.write(v.resultRecord()); err != nil {
		return err
	}
	warm := min(v.processed, s.Warmup)
	return writeEnd(out, v.processed-warm, warm)
}

// videoPlayer is the state of one video run.
type videoPlayer struct {
	s     *spec
	out   *recordWriter
	vc    *gocv.VideoCapture
	fps   float64
	p     *pipeline
	frame gocv.Mat // reused by every read

	start                    time.Time // when frame 0 was read: frame f arrives at start + f / fps
	read, processed, dropped int
	wallStart, wallEnd       time.Time // start of the first measured iteration, end of the last one
}

// play reads frames until warmup + iterations have been processed or the video ends.
func (v *videoPlayer) play() error {
	realtime := v.s.Video.Realtime
	for f := 0; v.processed < v.s.Warmup+v.s.Iterations; f++ {
		if realtime && f > 0 {
			sleepUntil(v.start.Add(frameOffset(f, v.fps)), nil) // a frame cannot be read before it arrives
		}
		t0 := time.Now()
		ok := v.vc.Read(&v.frame)
		t1 := time.Now()
		if !ok || v.frame.Empty() {
			if f == 0 {
				return newError(codeImageRead, "cannot read a frame from video %s", v.s.Video.Path)
			}
			return nil // the video has ended
		}
		if f == 0 {
			v.start = t0
		}
		v.read++
		// t1 is the end of the read: the rule needs no extra clock read.
		if realtime && dropFrame(t1.Sub(v.start), f, v.fps) {
			v.dropped++
			continue
		}
		if err := v.process(f, t0, t1); err != nil {
			return err
		}
	}
	return nil
}

// process runs the rest of frame f's iteration (its read ran from t0 to t1) and writes its records.
func (v *videoPlayer) process(f int, t0, t1 time.Time) error {
	res, err := v.p.processDecoded(v.frame, t0, t1)
	if err != nil {
		return err
	}
	index := v.processed
	v.processed++
	warm := index < v.s.Warmup
	if !warm {
		if v.wallStart.IsZero() {
			v.wallStart = res.start
		}
		v.wallEnd = res.end
	}
	name := frameName(f)
	it := newIterationRecord(index, warm, name, res.times, len(res.dets))
	if err := v.out.write(videoIterationRecord{it, f}); err != nil {
		return err
	}
	// Frames differ: every processed frame gets its detections record.
	return v.out.write(newNamedDetectionsRecord(name, res))
}

func (v *videoPlayer) resultRecord() videoResultRecord {
	return videoResultRecord{
		Type: "result", Scenario: "video", FramesRead: v.read, Processed: v.processed, Dropped: v.dropped,
		SourceFPS: jsonFloat(v.fps), MeasuredWallNS: v.wallEnd.Sub(v.wallStart).Nanoseconds(),
	}
}

// frameName is a frame's "image" in records: frame-000123.
func frameName(f int) string { return fmt.Sprintf("frame-%06d", f) }
