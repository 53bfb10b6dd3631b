"""riskmap: desktop GIS for safety-production risk mapping (Xinyang demo)."""
__version__ = "0.1.0"
