"""An ordered list of layers (index 0 is drawn first, at the bottom) with events."""
from __future__ import annotations

from riskmap.errors import ParameterError
from riskmap.i18n import tr
from riskmap.layers.base import Layer
from riskmap.layers.events import EmitterGroup


class LayerList:
    """Layers in drawing order, emitting ``inserted``, ``removed``, ``moved`` and ``changed``.

    ``changed`` re-emits any layer's own ``changed`` event, so a view needs one subscription;
    ``render_state`` likewise re-emits the layers' ``render_state`` (drawn / failed to draw).
    """

    def __init__(self, layers=()):
        self._layers: list[Layer] = []
        self.events = EmitterGroup("inserted", "removed", "moved", "changed", "render_state")
        for layer in layers:
            self.append(layer)

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self):
        return iter(list(self._layers))

    def __getitem__(self, key):
        if isinstance(key, str):
            for layer in self._layers:
                if layer.id == key or layer.name == key:
                    return layer
            raise KeyError(key)
        return self._layers[key]

    def __contains__(self, layer) -> bool:
        return layer in self._layers

    def index(self, layer: Layer) -> int:
        return self._layers.index(layer)

    def _forward(self, layer, what):
        self.events.changed.emit(layer=layer, what=what)

    def _forward_render_state(self, layer, error):
        self.events.render_state.emit(layer=layer, error=error)

    def insert(self, index: int, layer: Layer) -> None:
        """Insert ``layer`` at ``index`` (0 = bottom)."""
        if layer in self._layers:
            raise ParameterError(tr(f"图层“{layer.name}”已在图层列表中", f"layer {layer.name!r} is already in the list"))
        index = max(0, min(index, len(self._layers)))
        self._layers.insert(index, layer)
        layer.events.changed.connect(self._forward)
        layer.events.render_state.connect(self._forward_render_state)
        self.events.inserted.emit(index=index, layer=layer)

    def append(self, layer: Layer) -> None:
        """Add ``layer`` on top."""
        self.insert(len(self._layers), layer)

    def remove(self, layer: Layer) -> None:
        """Remove ``layer``."""
        index = self._layers.index(layer)
        del self._layers[index]
        layer.events.changed.disconnect(self._forward)
        layer.events.render_state.disconnect(self._forward_render_state)
        self.events.removed.emit(index=index, layer=layer)

    def move(self, src: int, dst: int) -> None:
        """Move the layer at ``src`` to position ``dst``."""
        if not (0 <= src < len(self._layers)) or not (0 <= dst < len(self._layers)):
            raise ParameterError(tr(f"无法把位置 {src} 的图层移到位置 {dst}：只有 {len(self._layers)} 个图层",
                                    f"cannot move layer {src} to {dst}: only {len(self._layers)} layers"))
        if src == dst:
            return
        layer = self._layers.pop(src)
        self._layers.insert(dst, layer)
        self.events.moved.emit(src=src, dst=dst, layer=layer)

    def visible(self) -> list[Layer]:
        """Visible layers in drawing order."""
        return [layer for layer in self._layers if layer.visible]

    def by_id(self, layer_id: str) -> Layer:
        for layer in self._layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(layer_id)
