"""``python -m riskmap.cli``."""
from riskmap.cli import run

run()
