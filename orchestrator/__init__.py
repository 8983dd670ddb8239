"""Cross-language YOLO inference benchmark: runs the Go, Python and C++ runners and reports how they compare."""

__version__ = "0.1.0"
