# The two commands a newcomer needs: `make compare` and `make test`. Both set everything up first,
# idempotently: a second call skips what is already installed, built or fetched.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
CONFIG ?= configs/default.yaml
GO_BIN := go_runner/bin/go_runner
CPP_BIN := cpp_runner/build/cpp_runner

.PHONY: setup system venv onnxruntime serving runners go-runner cpp-runner models data compare test lint test-go test-cpp test-py doctor clean

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

compare: setup models data
	$(VPY) -m orchestrator run $(CONFIG)

doctor: venv
	$(VPY) -m orchestrator doctor --config $(CONFIG)

lint: venv onnxruntime
	$(VPY) -m ruff check orchestrator py_runner tests scripts
	@test -z "$$(cd go_runner && gofmt -l .)" || { echo "gofmt: these files need formatting:"; cd go_runner && gofmt -l .; exit 1; }
	cd go_runner && go vet ./... && go vet -tags matprofile ./...

test-go: onnxruntime
	cd go_runner && go test -count=1 ./... && go test -count=1 -tags matprofile ./...

test-cpp: cpp-runner
	ctest --test-dir cpp_runner/build --output-on-failure

test-py: onnxruntime serving
	$(VPY) -m pytest -q

test: setup models data lint test-go test-cpp test-py

clean:
	rm -rf $(VENV) go_runner/bin cpp_runner/build engines
