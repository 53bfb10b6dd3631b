"""Test configuration: Qt runs offscreen; small fixtures are built in code."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
