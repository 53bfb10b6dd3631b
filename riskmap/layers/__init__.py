"""Qt-free layer model."""
from riskmap.layers.base import Layer, RasterLayer, VectorLayer, colorize, hillshade
from riskmap.layers.events import Event, EmitterGroup
from riskmap.layers.layerlist import LayerList
from riskmap.layers.style import Style, categorized, graduated

__all__ = ["Layer", "VectorLayer", "RasterLayer", "LayerList", "Style", "Event", "EmitterGroup",
           "categorized", "graduated", "colorize", "hillshade"]
