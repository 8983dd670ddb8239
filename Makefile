# The two commands a newcomer needs: `make compare` and `make test`. Both set everything up first,
# idempotently: a second call skips what is already installed, built or fetched.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
CONFIG ?= configs/default.yaml
GO_BIN := go_runner/bin/go_runner
CPP_BIN := cpp_runner/build/cpp_runner

.PHONY: setup system venv onnxruntime serving runners go-runner cpp-runner models data compare test lint lint-workflows cross-windows test-go test-cpp test-py doctor clean

setup: system venv onnxruntime serving runners

system:
	@bash scripts/setup_system.sh

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@test -x $(VPY) || bash scripts/step.sh -h "cannot create a virtualenv with $(PYTHON); on Debian: apt-get install python3-venv" \
		"virtualenv $(VENV) ($(PYTHON) -m venv)" $(PYTHON) -m venv $(VENV)
	@bash scripts/step.sh "pip in $(VENV) (pip install --upgrade pip)" $(VPY) -m pip install -q --upgrade pip
	@bash scripts/step.sh "the project and its test tools in $(VENV) (pip install -e .[test])" $(VPY) -m pip install -q -e '.[test]'
	@touch $@

# The pinned ONNX Runtime wheel in engines/onnxruntime (every runner's ORT) and ORT's C API headers.
onnxruntime:
	@bash scripts/fetch_onnxruntime.sh

# vegeta (the load generator) in engines/bin and the Python runner's web stack (FastAPI, uvicorn) in
# engines/python-http: what the http scenario needs besides the runners.
serving:
	@bash scripts/fetch_serving.sh

runners: go-runner cpp-runner

# The builds' output goes to the set-up log too; a compiler error is shown from its tail (60 lines).
go-runner: onnxruntime
	@bash scripts/step.sh -t 60 "Go runner (go build)" bash -c "cd go_runner && go build -o bin/go_runner ."

cpp-runner: onnxruntime
	@test -f cpp_runner/build/CMakeCache.txt || bash scripts/step.sh -t 60 "C++ runner: configure (cmake)" \
		cmake -S cpp_runner -B cpp_runner/build -DCMAKE_BUILD_TYPE=Release
	@bash scripts/step.sh -t 60 "C++ runner (cmake --build)" cmake --build cpp_runner/build -j 2

models:
	@bash scripts/fetch_model.sh

data:
	@bash scripts/fetch_data.sh

# OUT: the run folder (default reports/<time>-<name>); MACHINE: this machine's name in a merged appendix.
compare: setup models data
	$(VPY) -m orchestrator run $(CONFIG) $(if $(OUT),--out $(OUT)) $(if $(MACHINE),--machine $(MACHINE))

doctor: venv
	$(VPY) -m orchestrator doctor --config $(CONFIG)

lint: venv onnxruntime
	$(VPY) -m ruff check orchestrator py_runner tests scripts
	@test -z "$$(cd go_runner && gofmt -l .)" || { echo "gofmt: these files need formatting:"; cd go_runner && gofmt -l .; exit 1; }
	cd go_runner && go vet ./... && go vet -tags matprofile ./...

# The GitHub Actions workflows (.github/workflows: no Windows or self-hosted runner runs them here), checked by
# actionlint, built once into engines/bin; with shellcheck on PATH (make system installs it) their run: scripts too.
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := engines/bin/actionlint
lint-workflows:
	@test "$$($(ACTIONLINT) -version 2>/dev/null | head -n 1)" = "$(ACTIONLINT_VERSION)" || \
		bash scripts/step.sh -h "cannot build actionlint from the Go module proxy (is GOPROXY reachable?)" \
		"actionlint $(ACTIONLINT_VERSION) (go install into engines/bin)" \
		env GOBIN="$(CURDIR)/engines/bin" go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	@command -v shellcheck >/dev/null || echo "lint-workflows: shellcheck is not on PATH, run: scripts are not checked" \
		"(Debian: apt-get install shellcheck)"
	$(ACTIONLINT) .github/workflows/*.yml

# The Go runner for GOOS=windows, cross-checked with MinGW-w64 (Debian: g++-mingw-w64-x86-64, make system installs
# it): go vet compiles gocv's and the runner's C/C++ code and type-checks every Go file, tests included; go list
# -export compiles the package itself. Nothing is linked (there is no Windows OpenCV here); the host's OpenCV
# headers stand in for Windows' (the same 4.6 API). The POSIX-only code must be behind build tags. The
# matprofile tag (a test-only leak check, vetted for Linux by `make lint`) is left out: it would compile gocv's C++
# a second time, about half a minute on a fresh machine.
MINGW_CC ?= x86_64-w64-mingw32-gcc-posix
MINGW_CXX ?= x86_64-w64-mingw32-g++-posix
WINDOWS_GO = GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=$(MINGW_CC) CXX=$(MINGW_CXX) \
	CGO_CPPFLAGS="$$(pkg-config --cflags-only-I opencv4)"
cross-windows: onnxruntime
	@command -v $(MINGW_CXX) >/dev/null || { echo "cross-windows: $(MINGW_CXX) is not on PATH" \
		"(Debian: apt-get install gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64; make system does)"; exit 1; }
	cd go_runner && $(WINDOWS_GO) go vet ./... && $(WINDOWS_GO) go list -export -f '{{.ImportPath}}' .

test-go: onnxruntime
	cd go_runner && go test -count=1 ./... && go test -count=1 -tags matprofile ./...

test-cpp: cpp-runner
	ctest --test-dir cpp_runner/build --output-on-failure

test-py: onnxruntime serving
	$(VPY) -m pytest -q

test: setup models data lint lint-workflows cross-windows test-go test-cpp test-py

clean:
	rm -rf $(VENV) go_runner/bin cpp_runner/build engines
