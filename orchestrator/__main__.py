import sys

from .cli import main

if __name__ == "__main__":  # a worker process started by spawn (Windows, macOS) imports this module too
    sys.exit(main())
