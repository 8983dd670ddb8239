package main

// The runner contract as data (tests/fixtures/protocol/conformance.json), shared with the C++ selftest and
// the Python runner's tests: every case runs in process, without a model, in milliseconds.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type contractCase struct {
	Name            string         `json:"name"`
	Text            *string        `json:"text"`
	Set             map[string]any `json:"set"`
	Remove          []string       `json:"remove"`
	Args            []string       `json:"args"`
	Stdin           string         `json:"stdin"`
	Status          *int           `json:"status"`
	Code            *string        `json:"code"`
	Mentions        string         `json:"mentions"`
	Hello           bool           `json:"hello"`
	UnlessAvailable string         `json:"unless_available"`
	UnlessProvider  string         `json:"unless_provider"`
}

type contract struct {
	NativeModes map[string]string `json:"native_modes"`
	Base        map[string]any    `json:"base"`
	SpecCases   []contractCase    `json:"spec_cases"`
	CLICases    []contractCase    `json:"cli_cases"`
	ORT         map[string]string `json:"ort"` // the paths that "$ort_library" and "$ort_python_path" stand for
}

// repoRoot is where the fixture's relative paths start.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func loadContract(t testing.TB) contract {
	t.Helper()
	data, err := os.ReadFile("../tests/fixtures/protocol/conformance.json")
	if err != nil {
		t.Fatal(err)
	}
	var c contract
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // big integers (arrivals_ns near 2^63) reach the spec as written, not rounded to a float64
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// caseSpec builds a case's spec text: the base with its keys removed and set, paths made absolute.
func caseSpec(t *testing.T, c contract, k contractCase) string {
	t.Helper()
	if k.Text != nil {
		return *k.Text
	}
	var spec map[string]any
	raw, _ := json.Marshal(c.Base)
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	for _, key := range k.Remove {
		parent, leaf := dotted(spec, key)
		delete(parent, leaf)
	}
	for key, v := range k.Set {
		if v == "$native" {
			v = c.NativeModes["go"]
		}
		parent, leaf := dotted(spec, key)
		parent[leaf] = v
	}
	root := repoRoot(t)
	abs := func(v any) any {
		if s, ok := v.(string); ok && s != "" {
			return filepath.Join(root, s)
		}
		return v
	}
	if m, ok := spec["model"].(map[string]any); ok {
		m["path"] = abs(m["path"])
	}
	if v, ok := spec["video"].(map[string]any); ok {
		v["path"] = abs(v["path"])
	}
	if images, ok := spec["images"].([]any); ok {
		for i := range images {
			images[i] = abs(images[i])
		}
	}
	if e, ok := spec["engine"].(map[string]any); ok {
		enginePaths(c, e, abs)
	}
	out, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// enginePaths replaces the fixture's placeholders by the paths of its "ort" section and makes every
// engine path absolute, as the other runners' harnesses do.
func enginePaths(c contract, engine map[string]any, abs func(any) any) {
	places := map[string]string{"$ort_library": c.ORT["library"], "$ort_python_path": c.ORT["python_path"]}
	for _, key := range []string{"library", "python_path"} {
		if v, ok := engine[key].(string); ok {
			if p, ok := places[v]; ok {
				v = p
			}
			engine[key] = abs(v)
		}
	}
}

// dotted returns the object that holds key ("model.path": spec["model"], "path").
func dotted(spec map[string]any, key string) (map[string]any, string) {
	parts := strings.Split(key, ".")
	obj := spec
	for _, p := range parts[:len(parts)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	return obj, parts[len(parts)-1]
}

// checkOutcome holds one run to a case's expectations: exit status, last record, hello or not.
func checkOutcome(t *testing.T, k contractCase, status int, recs []map[string]any) {
	t.Helper()
	if len(recs) == 0 {
		t.Fatalf("%s: no records (status %d)", k.Name, status)
	}
	last := recs[len(recs)-1]
	hello := recs[0]["type"] == "hello"
	want := ""
	if k.Code != nil {
		want = *k.Code
	}
	if k.UnlessAvailable != "" && hello && contains(anyStrings(recs[0]["available_targets"]), k.UnlessAvailable) {
		want = codeModelLoad
	}
	if k.UnlessProvider != "" && hello && contains(helloProviders(recs[0]), k.UnlessProvider) {
		want = codeModelLoad
	}
	if want == "" {
		if status != 0 || last["type"] != "end" {
			t.Errorf("%s: status %d, last record %v; want a complete run", k.Name, status, last)
		}
		return
	}
	wantStatus := 1
	if k.Status != nil {
		wantStatus = *k.Status
	}
	msg, _ := last["message"].(string)
	if status != wantStatus || last["type"] != "error" || last["code"] != want || last["fatal"] != true {
		t.Errorf("%s: status %d, last record %v; want status %d and a fatal %s error", k.Name, status, last,
			wantStatus, want)
	}
	if !strings.Contains(msg, k.Mentions) {
		t.Errorf("%s: message %q does not mention %q", k.Name, msg, k.Mentions)
	}
	if k.Args == nil && hello != k.Hello {
		t.Errorf("%s: hello first = %v, want %v (records %s)", k.Name, hello, k.Hello, types(recs))
	}
}

// helloProviders is hello.ort.available_providers (none without an ort object).
func helloProviders(hello map[string]any) []string {
	o, _ := hello["ort"].(map[string]any)
	return anyStrings(o["available_providers"])
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func TestContractSpecCases(t *testing.T) {
	c := loadContract(t)
	if len(c.SpecCases) < 50 {
		t.Fatalf("only %d spec cases", len(c.SpecCases))
	}
	for _, k := range c.SpecCases {
		status, recs := runRecords(t, []string{"--spec", "-"}, caseSpec(t, c, k))
		checkOutcome(t, k, status, recs)
	}
}

func TestContractCLICases(t *testing.T) {
	c := loadContract(t)
	root := repoRoot(t)
	for _, k := range c.CLICases {
		args := make([]string, len(k.Args))
		for i, a := range k.Args {
			args[i] = strings.Replace(a, "tests/", root+"/tests/", 1)
		}
		stdin := ""
		if k.Stdin == "base" {
			stdin = caseSpec(t, c, contractCase{})
		}
		status, recs := runRecords(t, args, stdin)
		checkOutcome(t, k, status, recs)
	}
}
