"""Qt-free layer model."""
from riskmap.layers.base import Layer, RasterLayer, VectorLayer
from riskmap.layers.events import Event, EmitterGroup
from riskmap.layers.layerlist import LayerList
from riskmap.layers.raster_colour import colorize, hillshade
from riskmap.layers.style import Style, categorized, graduated

__all__ = ["Layer", "VectorLayer", "RasterLayer", "LayerList", "Style", "Event", "EmitterGroup",
           "categorized", "graduated", "colorize", "hillshade"]
