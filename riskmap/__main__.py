"""``python -m riskmap``."""
from riskmap.cli import run

run()
