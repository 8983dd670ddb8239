package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"
)

// The http scenario (docs/protocol.md, "http"): Go serves the way it does in production, net/http with a
// goroutine per connection and a handler per request; the handlers share a pool of K warm networks behind
// a bounded queue.

const (
	httpAddress = "127.0.0.1" // loopback only, whatever the spec says: the benchmark is never a public server

	// Server limits, so that a slow or broken client cannot hold a connection, a goroutine or a network for
	// long: headers must arrive within readHeaderTimeout, a whole request within readTimeout, an idle
	// keep-alive connection is closed after idleTimeout, and an answer must be taken within writeTimeout of
	// being ready (set per response: a request may wait long for a network under load, legitimately).
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	idleTimeout       = 120 * time.Second
	writeTimeout      = 30 * time.Second
	maxHeaderBytes    = 64 << 10
	preallocBytes     = 4 << 20 // see readBody
	// shutdownTimeout bounds the wait for clients to take their last answers once stdin has closed.
	shutdownTimeout = 60 * time.Second
)

// errBadImage is a request body that does not decode as an image: the client's fault, a 400.
var errBadImage = errors.New("the body does not decode as an image")

// mediaTypes are the Content-Types a detect request may carry.
var mediaTypes = map[string]bool{"image/jpeg": true, "image/png": true, "application/octet-stream": true}

// runHTTP runs the "http" scenario (mode goroutines): K networks load and warm up at once, the server listens
// on 127.0.0.1, serves until stdin reaches end of file, then stops accepting, finishes what it admitted and
// writes result and end.
func runHTTP(s *spec, out *recordWriter) error {
	if err := begin(s, out); err != nil {
		return err
	}
	pl, ln, startupNS, err := startHTTP(s, out)
	if pl == nil {
		return err
	}
	defer pl.Close()
	if err != nil {
		return err
	}
	h := newHTTPHandler(pl)
	if err := h.serveUntilEOF(newHTTPServer(h, s), ln, s.stdin); err != nil {
		return err
	}
	res := httpResultRecord{Type: "result", Scenario: "http", Workers: s.Workers, Mode: s.Mode,
		StartupNS: startupNS, Served: h.served.Load(), Rejected: h.rejected.Load()}
	if err := out.write(res); err != nil {
		return err
	}
	return writeEnd(out, int(h.served.Load()), s.Workers*s.Warmup)
}

// startHTTP is the start-up: the pool warm, then the socket bound; startup_ns runs from before the first
// load until it listens. The warm-up's records are written after that clock read, then listening. A pool
// that was started comes back with any error, for the caller to close; the listener only without one.
func startHTTP(s *spec, out *recordWriter) (*pool, net.Listener, int64, error) {
	pl, err := warmPool(s, out)
	if pl == nil {
		return nil, nil, 0, err
	}
	var ln net.Listener
	if err == nil {
		ln, err = listenLoopback(s.HTTP.Port)
	}
	startupNS := time.Since(pl.started).Nanoseconds()
	if werr := pl.writeStartupRecords(); err == nil {
		err = werr
	}
	if err == nil {
		port := ln.Addr().(*net.TCPAddr).Port
		err = out.write(listeningRecord{Type: "listening", Address: httpAddress, Port: port, StartupNS: startupNS})
	}
	if err != nil && ln != nil {
		ln.Close()
	}
	return pl, ln, startupNS, err
}

// listenLoopback binds 127.0.0.1:port (0: the OS picks one).
func listenLoopback(port int) (net.Listener, error) {
	addr := net.JoinHostPort(httpAddress, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, newError(codeInternal, "cannot listen on %s: %v", addr, err)
	}
	return ln, nil
}

// newHTTPServer is net/http's server with the limits above; its own log lines go to stderr.
func newHTTPServer(h *httpHandler, s *spec) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(concurrentWriter(s.stderr), "go_runner: http: ", 0),
	}
}

// httpHandler answers the requests. free holds the networks not in service; admitted counts the requests
// that hold one or wait for one, at most limit = K + Q. gate is read-held by every handler, so that taking
// it for writing waits until no handler can write a record any more.
type httpHandler struct {
	pl       *pool
	out      *recordWriter
	free     chan *worker
	limit    int64
	maxBody  int64
	admitted atomic.Int64
	served   atomic.Int64 // also the next iteration index
	rejected atomic.Int64
	gate     sync.RWMutex
	healthz  []byte
}

func newHTTPHandler(pl *pool) *httpHandler {
	s := pl.s
	h := &httpHandler{pl: pl, out: pl.out, free: make(chan *worker, len(pl.workers)),
		limit: int64(s.Workers) + int64(s.HTTP.Queue), maxBody: s.HTTP.MaxBodyBytes}
	for _, w := range pl.workers {
		h.free <- w
	}
	h.healthz = encodeJSON(map[string]any{"status": "ready", "workers": s.Workers})
	return h
}

// serveUntilEOF serves on ln until stdin reaches end of file or a request fails the run, then shuts the
// server down gracefully: no new connection, every admitted request finished and recorded.
func (h *httpHandler) serveUntilEOF(srv *http.Server, ln net.Listener, stdin io.Reader) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	eof := make(chan struct{})
	go func() {
		if stdin != nil {
			io.Copy(io.Discard, stdin) // a read error ends the serving as end of file does
		}
		close(eof)
	}()
	var serveErr error
	select {
	case <-eof:
	case <-h.pl.stop.done:
	case serveErr = <-served:
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close() // clients that would not take their answers in time lose them; the work is still recorded
	}
	h.gate.Lock() // every handler has returned; none will write again
	if err := h.pl.stop.firstError(); err != nil {
		return err
	}
	if serveErr != nil {
		return newError(codeInternal, "the http server stopped: %v", serveErr)
	}
	return nil
}

// ServeHTTP routes: GET /healthz, POST /v1/detect; every other path is 404, every other method 405.
func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	entry := time.Now()
	h.gate.RLock()
	defer h.gate.RUnlock()
	defer h.recoverPanic()
	switch {
	case r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		writeJSON(w, http.StatusOK, h.healthz)
	case r.URL.Path == "/v1/detect" && r.Method == http.MethodPost:
		h.detect(w, r, entry)
	case r.URL.Path == "/healthz":
		w.Header().Set("Allow", "GET, HEAD")
		h.refuse(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET /healthz")
	case r.URL.Path == "/v1/detect":
		w.Header().Set("Allow", "POST")
		h.refuse(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST /v1/detect with an image as the body")
	default:
		h.refuse(w, http.StatusNotFound, "not_found", "the paths are GET /healthz and POST /v1/detect")
	}
}

// detect serves one POST /v1/detect: checks, body, admission, a network, the algorithm, the answer, then
// (outside every timed region) the iteration record.
func (h *httpHandler) detect(w http.ResponseWriter, r *http.Request, entry time.Time) {
	if msg := checkMediaType(r.Header.Get("Content-Type")); msg != "" {
		h.refuse(w, http.StatusUnsupportedMediaType, "unsupported_media_type", msg)
		return
	}
	if r.ContentLength > h.maxBody {
		h.refuseTooLarge(w)
		return
	}
	body, err := readBody(w, r, h.maxBody)
	bodyRead := time.Now()
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuseTooLarge(w)
		} else {
			h.refuse(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("cannot read the body: %v", err))
		}
		return
	}
	if !h.admit() {
		w.Header().Set("Retry-After", "1")
		h.refuse(w, http.StatusServiceUnavailable, "overloaded", fmt.Sprintf("%d requests are in service or "+
			"waiting (%d networks, queue %d): retry later or send fewer at once", h.limit, len(h.pl.workers),
			h.limit-int64(len(h.pl.workers))))
		return
	}
	name := r.Header.Get("X-Image-Name")
	if name == "" {
		name = "request"
	}
	wk, answer, res, err := h.infer(body, name)
	var data []byte
	if err == nil {
		data, err = encodeAnswer(answer)
	}
	if err != nil {
		h.failed(w, err)
		return
	}
	handlerNS := time.Since(entry).Nanoseconds()
	writeJSON(w, http.StatusOK, data)
	h.record(wk, name, res, res.start.Sub(bodyRead).Nanoseconds(), handlerNS)
}

// infer waits for a free network, runs the algorithm on body with it and gives the network back (and the
// admission with it), even after a panic. The answer is a copy: the pipeline reuses its detections. A run that
// has failed hands out no network any more.
func (h *httpHandler) infer(body []byte, name string) (*worker, httpAnswer, result, error) {
	defer h.admitted.Add(-1)
	var wk *worker
	select {
	case wk = <-h.free:
	case <-h.pl.stop.done:
		return nil, httpAnswer{}, result{}, h.pl.stop.firstError()
	}
	defer func() { h.free <- wk }()
	res, err := wk.p.processBytes(body)
	if err != nil {
		return wk, httpAnswer{}, result{}, err
	}
	d := newNamedDetectionsRecord(name, res)
	return wk, httpAnswer{Image: d.Image, Width: d.Width, Height: d.Height, Detections: d.Detections}, res, nil
}

// recoverPanic turns a handler's panic (gocv panics) into the run's failure, then lets net/http close the
// connection as it does for any panicking handler: net/http's own recover would otherwise keep the run going.
func (h *httpHandler) recoverPanic() {
	if r := recover(); r != nil {
		h.pl.stop.fail(newError(codeInternal, "panic in the http handler: %v", r))
		panic(r)
	}
}

// admit takes a place in service or in the queue, unless all K + Q are taken.
func (h *httpHandler) admit() bool {
	if h.admitted.Add(1) > h.limit {
		h.admitted.Add(-1)
		return false
	}
	return true
}

// failed answers a request whose processing failed: a body that does not decode is the client's 400; any
// other failure is the runner's, answered 500, and it ends the run with that error.
func (h *httpHandler) failed(w http.ResponseWriter, err error) {
	if errors.Is(err, errBadImage) {
		h.refuse(w, http.StatusBadRequest, "bad_image", "the body does not decode as an image: send the bytes "+
			"of a JPEG or PNG file")
		return
	}
	h.refuse(w, http.StatusInternalServerError, "internal", err.Error())
	h.pl.stop.fail(err)
}

// record writes a served request's iteration record, after its answer went to the client, and counts it.
func (h *httpHandler) record(wk *worker, name string, res result, queueNS, handlerNS int64) {
	index := int(h.served.Add(1) - 1)
	it := workerIterationRecord{newIterationRecord(index, false, name, res.times, len(res.dets)), wk.id}
	if err := h.out.write(httpIterationRecord{it, queueNS, handlerNS}); err != nil {
		h.pl.stop.fail(err)
	}
}

func (h *httpHandler) refuseTooLarge(w http.ResponseWriter) {
	h.refuse(w, http.StatusRequestEntityTooLarge, "too_large",
		fmt.Sprintf("the body may hold at most %d bytes: send a smaller image", h.maxBody))
}

// refuse answers a refusal, {"error": code, "message": msg}, and counts it. A refusal never stops the server.
func (h *httpHandler) refuse(w http.ResponseWriter, status int, code, msg string) {
	h.rejected.Add(1)
	writeJSON(w, status, encodeJSON(httpRefusal{Error: code, Message: msg}))
}

// httpAnswer is a detect request's 200 body: the detections record without its type.
type httpAnswer struct {
	Image      string      `json:"image"`
	Width      int         `json:"width"`
	Height     int         `json:"height"`
	Detections []detection `json:"detections"`
}

type httpRefusal struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// checkMediaType returns what is wrong with a detect request's Content-Type, or "".
func checkMediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || !mediaTypes[mt] {
		return fmt.Sprintf("Content-Type %q is not image/jpeg, image/png or application/octet-stream: send "+
			"the image file's bytes with one of those", contentType)
	}
	return ""
}

// readBody reads at most maxBody bytes of the body (http.MaxBytesReader: a longer body fails with
// *http.MaxBytesError as soon as it passes the limit, and the connection is closed after the answer). A body
// of announced length up to preallocBytes is read into one buffer of that size; a larger announcement is not
// trusted with memory before its bytes arrive.
func readBody(w http.ResponseWriter, r *http.Request, maxBody int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	if r.ContentLength < 0 || r.ContentLength > preallocBytes {
		return io.ReadAll(body)
	}
	buf := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// encodeAnswer is a detect answer as JSON text (floats exact, as in the records, HTML characters not
// escaped); a box that is not a finite number fails, as it would in a record.
func encodeAnswer(a httpAnswer) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return nil, newError(codeInternal, "cannot encode the detections of %s: %v", a.Image, err)
	}
	return buf.Bytes(), nil
}

// encodeJSON is v, a value of fixed text and integers that always encodes, as JSON text.
func encodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding a %T: %v", v, err))
	}
	return append(b, '\n')
}

// writeJSON answers status with a JSON body, pushed to the socket before the handler goes on (its record
// must not delay the client), and gives the client writeTimeout to take it. The deadline is lifted again
// afterwards: net/http never resets it on a keep-alive connection, and the next request may wait long.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	// The errors are a client that went away, or a writer without deadlines (a test's recorder): the
	// client loses its answer, the server goes on.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	rc.Flush()
	rc.SetWriteDeadline(time.Time{})
}

// processBytes is process with step 1 replaced by imdecode of an image file's bytes (a request body): the
// decode phase is the server decoding its request.
func (p *pipeline) processBytes(data []byte) (result, error) {
	t0 := time.Now()
	img, err := gocv.IMDecode(data, gocv.IMReadColor) // an empty body is an error here, not an OpenCV assertion
	if err != nil {
		return result{}, errBadImage
	}
	if img.Empty() {
		img.Close()
		return result{}, errBadImage
	}
	t1 := time.Now()
	res, err := p.processDecoded(img, t0, t1)
	img.Close()
	return res, err
}
