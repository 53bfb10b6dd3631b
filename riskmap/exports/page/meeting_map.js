/* riskmap meeting map: builds the Leaflet map from the JSON document in #riskmap-data.
 *
 * Every string in the document (names, aliases, attribute values, labels) was HTML-escaped
 * by the exporter; this code only concatenates those escaped strings. Layers draw on one
 * canvas per layer pane so the desktop drawing order survives switching layers on and off.
 * After building, #riskmap-status gets the number of features built per layer (and, when the
 * page is opened with #rm-selftest, the painted pixels per layer canvas) for tests.
 */
(function () {
  "use strict";
  var doc = JSON.parse(document.getElementById("riskmap-data").textContent);
  var ui = doc.ui || {};
  var selftest = String(window.location.hash || "").indexOf("rm-selftest") >= 0;

  // ---- point symbols drawn on canvas: circle, square, triangle, diamond -------------
  L.Canvas.include({
    _updateRmShape: function (layer) {
      if (!this._drawing || layer._empty()) { return; }
      var p = layer._point, ctx = this._ctx, r = Math.max(Math.round(layer._radius), 1);
      var shape = layer.options.shape;
      this._layers[layer._leaflet_id] = layer;
      ctx.beginPath();
      if (shape === "square") {
        ctx.rect(p.x - r, p.y - r, 2 * r, 2 * r);
      } else if (shape === "triangle") {
        ctx.moveTo(p.x, p.y - 1.15 * r);
        ctx.lineTo(p.x + r, p.y + 0.85 * r);
        ctx.lineTo(p.x - r, p.y + 0.85 * r);
        ctx.closePath();
      } else if (shape === "star") {
        for (var k = 0; k < 10; k++) {
          var a = Math.PI / 2 + k * Math.PI / 5, rr = k % 2 === 0 ? 1.2 * r : 0.5 * r;
          if (k === 0) { ctx.moveTo(p.x + rr * Math.cos(a), p.y - rr * Math.sin(a)); } else {
            ctx.lineTo(p.x + rr * Math.cos(a), p.y - rr * Math.sin(a));
          }
        }
        ctx.closePath();
      } else if (shape === "cross") {
        var w = Math.max(0.35 * r, 1);
        ctx.rect(p.x - w, p.y - r, 2 * w, 2 * r);
        ctx.rect(p.x - r, p.y - w, 2 * r, 2 * w);
      } else {
        ctx.moveTo(p.x, p.y - 1.25 * r);
        ctx.lineTo(p.x + r, p.y);
        ctx.lineTo(p.x, p.y + 1.25 * r);
        ctx.lineTo(p.x - r, p.y);
        ctx.closePath();
      }
      this._fillStroke(ctx, layer);
    }
  });
  var ShapeMarker = L.CircleMarker.extend({
    options: { shape: "circle" },
    _updatePath: function () {
      var shape = this.options.shape;
      if (shape === "circle" || shape === "ring" || !this._renderer._updateRmShape) {
        L.CircleMarker.prototype._updatePath.call(this);
      } else {
        this._renderer._updateRmShape(this);
      }
    }
  });

  // ---- decoding ------------------------------------------------------------------
  function decodeCoords(g) {
    var c = g.c, f = Math.pow(10, -g.d), n = c.length / 2, out = new Array(n), x = 0, y = 0;
    for (var i = 0; i < n; i++) {
      x += c[2 * i];
      y += c[2 * i + 1];
      out[i] = [y * f, x * f];
    }
    return out;
  }

  function cellValue(spec, col, i) {
    var c = spec.cols[col];
    if (c === null || c === undefined) { return ""; }
    if (Array.isArray(c)) { return c[i]; }
    var k = c.i[i];
    return k < 0 ? "" : c.k[k];
  }

  function popupHtml(spec, i) {
    var rows = "";
    for (var j = 0; j < spec.fields.length; j++) {
      var v = cellValue(spec, j, i);
      if (v === "" || v === undefined) { continue; }
      rows += "<tr><th>" + spec.aliases[j] + "</th><td>" + v + "</td></tr>";
    }
    return '<div class="rm-popup"><div class="rm-popup-title">' + spec.name + "</div><table>" + rows +
      "</table></div>";
  }

  function featureName(spec, i) {
    if (spec.nameCol === null || spec.nameCol === undefined) { return spec.name; }
    var v = cellValue(spec, spec.nameCol, i);
    return v ? v : spec.name;
  }

  // ---- map -------------------------------------------------------------------------
  // Data layers get explicit canvas renderers (one per layer pane). The map's default renderer
  // stays SVG because leaflet-measure styles its vertices through their SVG paths.
  var map = L.map("map", { zoomControl: true, maxZoom: 18, minZoom: 3 });
  map.attributionControl.setPrefix("Leaflet");
  if (doc.bounds) {
    map.fitBounds(doc.bounds, { padding: [10, 10] });
  } else {
    map.setView([32.13, 114.07], 9);
  }
  map.getPane("overlayPane").style.zIndex = 595;  // measurement drawings above the data panes
  var labelsPane = map.createPane("rm-labels");
  labelsPane.style.zIndex = 592;
  labelsPane.style.pointerEvents = "none";

  var baseLayers = {}, firstBase = null, tilesLoaded = 0;
  (doc.tiles || []).forEach(function (t) {
    var opts = { attribution: t.attribution, maxZoom: t.maxZoom || 18 };
    if (t.subdomains) { opts.subdomains = t.subdomains; }
    var tile;
    if (t.embedded) {  // an offline package embedded as data URIs (no network)
      opts.maxNativeZoom = t.maxNativeZoom;
      var emb = t.embedded, blank = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==";
      tile = new (L.TileLayer.extend({ getTileUrl: function (c) { return emb[c.z + "/" + c.x + "/" + c.y] || blank; } }))("", opts);
      tile.on("tileload", function () { tilesLoaded++; });
    } else {
      tile = L.tileLayer(t.url, opts);
    }
    var base = t.overlay ? L.layerGroup([tile, L.tileLayer(t.overlay, opts)]) : tile;
    baseLayers[t.name] = base;
    if (!firstBase) { firstBase = base; }
  });
  if (firstBase) {
    baseLayers[ui.noBase || "none"] = L.layerGroup();
    firstBase.addTo(map);
  }

  var tooltip = L.tooltip({ sticky: true, direction: "top", offset: [0, -6], className: "rm-tooltip" });
  var built = {}, overlays = {}, paneOf = {}, featuresOf = {};
  var groupOrder = ["base", "hazards", "analysis"];
  var grouped = {};
  groupOrder.forEach(function (g) { grouped[(doc.groups || {})[g] || g] = {}; });

  function openPopupAt(spec, i, latlng) {
    L.popup({ maxWidth: 360, className: "rm-popup-wrap" }).setLatLng(latlng).setContent(popupHtml(spec, i))
      .openOn(map);
  }
  function showTooltipAt(spec, i, latlng) {
    tooltip.setContent(featureName(spec, i)).setLatLng(latlng);
    map.openTooltip(tooltip);
  }

  function pointOptions(spec, renderer, pane, color) {
    var st = spec.style, op = spec.opacity;
    if (st.symbol === "ring") {  // an outline in the feature colour
      return { renderer: renderer, pane: pane, radius: Math.max(st.size / 2, 2), shape: "ring", color: color,
        weight: Math.max(st.width, 2), opacity: op, fill: true, fillOpacity: 0 };
    }
    // same fill rule as the desktop canvas: strong enough to read
    return {
      renderer: renderer, pane: pane, radius: Math.max(st.size / 2, 2), shape: st.symbol,
      color: st.stroke, weight: 1, opacity: op, fillColor: color,
      fillOpacity: Math.max(Math.min(1, st.fillOpacity + 0.5), 0.6) * op
    };
  }

  function buildVector(spec, pane) {
    var renderer = L.canvas({ pane: pane, padding: 0.3, tolerance: spec.kind === "line" ? 4 : 1 });
    var st = spec.style, op = spec.opacity, g = spec.geom, xy = decodeCoords(g);
    var n = spec.count, ci = spec.ci, palette = spec.palette, features = [], heat = [];
    var colorOf = function (i) { return ci ? palette[ci[i]] : palette[0]; };
    var v = 0, part = 0, ring = 0, i, j, k, r;
    if (spec.kind === "point") {
      for (i = 0; i < n; i++) {
        var np = g.pf ? g.pf[i] : 1;
        for (j = 0; j < np; j++, v++) {
          var m = new ShapeMarker(xy[v], pointOptions(spec, renderer, pane, colorOf(i)));
          m._rmIndex = i;
          features.push(m);
          if (spec.heat) { heat.push(xy[v]); }
        }
      }
    } else if (spec.kind === "line") {
      var lineOpts = function (i) {
        return { renderer: renderer, pane: pane, color: colorOf(i), weight: st.width, opacity: 0.95 * op,
          dashArray: st.dash ? "8 5" : null, lineCap: st.dash ? "butt" : "round" };
      };
      for (i = 0; i < n; i++) {
        var lines = [];
        for (j = 0; j < g.lf[i]; j++, part++) {
          var nv = g.vl[part];
          lines.push(xy.slice(v, v + nv));
          v += nv;
        }
        if (!lines.length) { continue; }
        var pl = L.polyline(lines.length === 1 ? lines[0] : lines, lineOpts(i));
        pl._rmIndex = i;
        features.push(pl);
      }
    } else {
      for (i = 0; i < n; i++) {
        var polys = [];
        for (j = 0; j < g.pf[i]; j++, part++) {
          var rings = [];
          for (k = 0; k < g.rp[part]; k++, ring++) {
            r = g.vr[ring];
            rings.push(xy.slice(v, v + r));
            v += r;
          }
          polys.push(rings);
        }
        if (!polys.length) { continue; }
        var pg = L.polygon(polys.length === 1 ? polys[0] : polys, {
          renderer: renderer, pane: pane, color: st.stroke, weight: st.width, opacity: op,
          fillColor: colorOf(i), fillOpacity: st.fillOpacity * op
        });
        pg._rmIndex = i;
        features.push(pg);
      }
    }
    var group;
    if (spec.cluster && L.markerClusterGroup) {
      group = L.markerClusterGroup({ disableClusteringAtZoom: 14, maxClusterRadius: 45,
        showCoverageOnHover: false, spiderfyOnMaxZoom: false, chunkedLoading: false,
        iconCreateFunction: function (cluster) {
          var icon = L.MarkerClusterGroup.prototype._defaultIconCreateFunction(cluster);
          icon.options.className += " rm-cluster-" + spec.index;
          return icon;
        } });
      group.addLayers(features);
    } else {
      group = L.featureGroup(features);
    }
    group.on("click", function (e) {
      if (e.layer && e.layer._rmIndex !== undefined) { openPopupAt(spec, e.layer._rmIndex, e.latlng); }
    });
    group.on("mouseover", function (e) {
      if (e.layer && e.layer._rmIndex !== undefined) { showTooltipAt(spec, e.layer._rmIndex, e.latlng); }
    });
    group.on("mousemove", function (e) { tooltip.setLatLng(e.latlng); });
    group.on("mouseout", function () { map.closeTooltip(tooltip); });
    var parts = [group];
    if (spec.labels && spec.labels.length) {
      var labels = spec.labels.map(function (l) {
        return L.marker([l[0], l[1]], { pane: "rm-labels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: "rm-label", html: "<span>" + l[2] + "</span>", iconSize: null }) });
      });
      parts.push(L.layerGroup(labels));
    }
    built[spec.id] = features.length;
    featuresOf[spec.id] = features;
    return { layer: parts.length > 1 ? L.layerGroup(parts) : group, heat: heat };
  }

  function buildRaster(spec, pane) {
    built[spec.id] = 1;
    return { layer: L.imageOverlay(spec.png, spec.bounds, { pane: pane, opacity: spec.opacity, interactive: false,
      className: "rm-raster" }), heat: [] };
  }

  (doc.layers || []).forEach(function (spec, idx) {
    var paneName = "rm-layer-" + idx;
    var pane = map.createPane(paneName);
    pane.style.zIndex = String(Math.min(401 + idx, 589));
    paneOf[spec.id] = paneName;
    var made = spec.type === "raster" ? buildRaster(spec, paneName) : buildVector(spec, paneName);
    made.layer._rmId = spec.id;
    made.layer.addTo(map);
    overlays[spec.id] = made.layer;
    var groupName = (doc.groups || {})[spec.group] || spec.group;
    grouped[groupName] = grouped[groupName] || {};
    made.groupName = groupName;
    spec._made = made;
    if (made.heat.length && L.heatLayer) {
      var heatPane = map.createPane(paneName + "-heat");
      heatPane.style.zIndex = String(Math.min(401 + idx, 589));
      var heatLayer = L.heatLayer(made.heat, { pane: paneName + "-heat", radius: 20, blur: 18, maxZoom: 12,
        minOpacity: 0.35 });
      heatLayer._rmId = spec.id + "-heat";
      spec._heat = heatLayer;
    }
  });
  // the layer control lists the top layer first, like the desktop layer panel
  for (var li = (doc.layers || []).length - 1; li >= 0; li--) {
    var s = doc.layers[li];
    grouped[s._made.groupName][s.name] = s._made.layer;
    if (s._heat) { grouped[s._made.groupName][s.name + "（" + (ui.heat || "heat") + "）"] = s._heat; }
  }
  Object.keys(grouped).forEach(function (g) { if (!Object.keys(grouped[g]).length) { delete grouped[g]; } });

  L.control.groupedLayers(baseLayers, grouped, { collapsed: window.innerWidth < 800, autoZIndex: false,
    position: "topright" }).addTo(map);
  L.control.scale({ imperial: false, metric: true, position: "bottomleft", maxWidth: 160 }).addTo(map);
  if (L.control.fullscreen) {
    L.control.fullscreen({ position: "topleft", title: ui.fullscreen, titleCancel: ui.exitFullscreen,
      forceSeparateButton: true, fullscreenElement: document.getElementById("rm-page") }).addTo(map);
  }
  if (L.control.measure) {
    window.riskmapMeasure = L.control.measure({ position: "topleft", localization: ui.measureLocale || "cn",
      primaryLengthUnit: "meters", secondaryLengthUnit: "kilometers",
      primaryAreaUnit: "sqmeters", secondaryAreaUnit: "hectares",
      activeColor: "#d7301f", completedColor: "#fc8d59" }).addTo(map);
  }

  var buildMs = window.performance ? Math.round(window.performance.now()) : 0;

  // title inside the map (so it stays in full screen); legend as a control
  var title = document.getElementById("riskmap-title");
  if (title) { map.getContainer().appendChild(title); }
  var legendEl = document.getElementById("riskmap-legend");
  if (legendEl) {
    var Legend = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        L.DomEvent.disableClickPropagation(legendEl);
        L.DomEvent.disableScrollPropagation(legendEl);
        return legendEl;
      }
    });
    new Legend().addTo(map);
    var head = legendEl.querySelector(".rm-legend-head");
    if (head) {
      head.addEventListener("click", function () { legendEl.classList.toggle("rm-collapsed"); });
    }
  }
  function setLegendVisible(id, visible) {
    var nodes = document.querySelectorAll(".rm-leg[data-layer]");
    for (var q = 0; q < nodes.length; q++) {
      if (nodes[q].getAttribute("data-layer") === id) { nodes[q].style.display = visible ? "" : "none"; }
    }
  }
  map.on("overlayadd", function (e) { if (e.layer && e.layer._rmId) { setLegendVisible(e.layer._rmId, true); } });
  map.on("overlayremove", function (e) {
    if (e.layer && e.layer._rmId) { setLegendVisible(e.layer._rmId, false); }
  });


  // ---- status for tests and support ------------------------------------------------------
  function paintedPixels(paneName) {
    var pane = map.getPane(paneName), total = 0;
    if (!pane) { return 0; }
    var canvases = pane.getElementsByTagName("canvas");
    for (var c = 0; c < canvases.length; c++) {
      var cv = canvases[c];
      if (!cv.width || !cv.height) { continue; }
      var data = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
      for (var p = 3; p < data.length; p += 16) { if (data[p] > 0) { total++; } }
    }
    return total;
  }
  function writeStatus() {
    var el = document.getElementById("riskmap-status");
    if (!el) { return; }
    var info = {};
    (doc.layers || []).forEach(function (spec) {
      info[spec.id] = { name: spec.name, kind: spec.kind, count: spec.count, built: built[spec.id] || 0,
        onMap: map.hasLayer(overlays[spec.id]) };
      if (spec.cluster) {
        info[spec.id].clusters = document.querySelectorAll("#map .rm-cluster-" + spec.index).length;
      }
      if (selftest && spec.type === "vector") { info[spec.id].painted = paintedPixels(paneOf[spec.id]); }
    });
    el.setAttribute("data-layers", JSON.stringify(info));
    el.setAttribute("data-canvases", String(document.querySelectorAll("#map canvas").length));
    el.setAttribute("data-clusters", String(document.querySelectorAll("#map .marker-cluster").length));
    el.setAttribute("data-labels", String(document.querySelectorAll("#map .rm-label").length));
    el.setAttribute("data-images", String(document.querySelectorAll("#map img.rm-raster").length));
    el.setAttribute("data-zoom", String(map.getZoom()));
    el.setAttribute("data-tiles-loaded", String(tilesLoaded));
    el.setAttribute("data-build-ms", String(buildMs));
    el.setAttribute("data-ready", "1");
    var errs = document.getElementById("riskmap-errors");
    if (errs && window.__riskmapErrors) { errs.textContent = window.__riskmapErrors.join("\n"); }
  }
  map.whenReady(function () { window.setTimeout(writeStatus, 400); });
  map.on("moveend overlayadd overlayremove", function () { window.setTimeout(writeStatus, 100); });

  function findSpec(id) {
    for (var q = 0; q < (doc.layers || []).length; q++) { if (doc.layers[q].id === id) { return doc.layers[q]; } }
    return null;
  }
  function featureAnchor(id, i) {
    var list = featuresOf[id] || [];
    for (var q = 0; q < list.length; q++) {
      if (list[q]._rmIndex === i) { return list[q].getLatLng ? list[q].getLatLng() : list[q].getBounds().getCenter(); }
    }
    return null;
  }
  // A small scripting interface (used by tests; handy from the browser console too).
  window.riskmap = {
    map: map, layers: overlays, measure: window.riskmapMeasure, writeStatus: writeStatus,
    openPopup: function (id, i) {
      var spec = findSpec(id), at = featureAnchor(id, i);
      if (!spec || !at) { return false; }
      openPopupAt(spec, i, at);
      return true;
    },
    showTooltip: function (id, i) {
      var spec = findSpec(id), at = featureAnchor(id, i);
      if (!spec || !at) { return false; }
      showTooltipAt(spec, i, at);
      return true;
    }
  };
})();
