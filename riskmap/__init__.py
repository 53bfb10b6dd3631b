"""riskmap: desktop GIS for safety-production risk mapping (Xinyang demo)."""
from riskmap import offline as _offline

__version__ = "0.1.0"

_offline.apply()  # before GDAL or PROJ are first used: data files must never call the network
