"""Exports that need no Qt: self-contained HTML meeting maps (Leaflet; assets from folium-offline), Excel reports."""
