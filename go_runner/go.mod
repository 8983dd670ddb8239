module yolobench/go_runner

go 1.22

require (
	github.com/yalue/onnxruntime_go v1.27.0
	gocv.io/x/gocv v0.31.0
	google.golang.org/protobuf v1.36.6
)
