"""Typed exceptions for riskmap.

Every error a user can cause carries a one-line message naming the file and what to
do. The CLI prints ``str(exc)`` and exits 2; the GUI shows it in a message box.
"""
from __future__ import annotations

from pathlib import Path


class RiskmapError(Exception):
    """Base class of all errors riskmap raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong and what to do, in one line.
    path : str or Path, optional
        The file concerned; prefixed to the message.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = str(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class DataFormatError(RiskmapError):
    """A file is missing, truncated, corrupt or not of a format riskmap reads."""


class MissingSidecarError(DataFormatError):
    """A shapefile lacks a required companion file (.shx, .dbf)."""


class EmptyLayerError(DataFormatError):
    """A layer has no features."""


class EncodingError(DataFormatError):
    """Text in a file cannot be decoded in any supported encoding."""


class GeometryTypeError(DataFormatError):
    """A layer's geometries are not of a kind its role in an analysis takes (lines given as plants)."""


class ResourceLimitError(DataFormatError):
    """A file declares more data than the configured limit allows (refused before reading)."""


class CRSError(RiskmapError):
    """A CRS is missing, unknown or unusable for the operation."""


class CoordinateError(RiskmapError):
    """Coordinates are out of range, swapped or not found."""


class ParameterError(RiskmapError):
    """An analysis parameter or input field is invalid."""


class ProjectError(RiskmapError):
    """A project file cannot be read or written."""


class CancelledError(RiskmapError):
    """Long work was cancelled by the user."""
