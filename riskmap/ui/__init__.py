"""The PyQt5 user interface (the only package that imports Qt)."""
