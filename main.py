"""Start the riskmap desktop application (``python main.py [PROJECT]``)."""
import sys

from riskmap.cli import main

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
