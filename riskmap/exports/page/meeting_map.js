/* riskmap meeting map: builds the Leaflet map from the JSON document in #riskmap-data.
 *
 * Every string in the document (names, aliases, attribute values, labels) was HTML-escaped
 * by the exporter; this code only concatenates those escaped strings. Layers draw on one
 * canvas per layer pane so the desktop drawing order survives switching layers on and off; each
 * vector layer is one FeatureCanvas that paints all its features from typed arrays (clustered
 * point layers excepted: the cluster plugin needs a marker per feature).
 * After building, #riskmap-status gets the number of features built per layer (and, when the
 * page is opened with #rm-selftest, the painted pixels per layer canvas) for tests.
 */
(function () {
  "use strict";
  var doc = JSON.parse(document.getElementById("riskmap-data").textContent);
  var ui = doc.ui || {};
  var selftest = String(window.location.hash || "").indexOf("rm-selftest") >= 0;

  // ---- point symbols drawn on canvas: circle, ring, square, triangle, diamond, star, cross ----------
  function shapePath(ctx, x, y, r, shape) {
    if (shape === "square") {
      ctx.rect(x - r, y - r, 2 * r, 2 * r);
    } else if (shape === "triangle") {
      ctx.moveTo(x, y - 1.15 * r);
      ctx.lineTo(x + r, y + 0.85 * r);
      ctx.lineTo(x - r, y + 0.85 * r);
      ctx.closePath();
    } else if (shape === "star") {
      for (var k = 0; k < 10; k++) {
        var a = Math.PI / 2 + k * Math.PI / 5, rr = k % 2 === 0 ? 1.2 * r : 0.5 * r;
        if (k === 0) { ctx.moveTo(x + rr * Math.cos(a), y - rr * Math.sin(a)); } else {
          ctx.lineTo(x + rr * Math.cos(a), y - rr * Math.sin(a));
        }
      }
      ctx.closePath();
    } else if (shape === "cross") {
      var w = Math.max(0.35 * r, 1);
      ctx.rect(x - w, y - r, 2 * w, 2 * r);
      ctx.rect(x - r, y - w, 2 * r, 2 * w);
    } else if (shape === "diamond") {
      ctx.moveTo(x, y - 1.25 * r);
      ctx.lineTo(x + r, y);
      ctx.lineTo(x, y + 1.25 * r);
      ctx.lineTo(x - r, y);
      ctx.closePath();
    } else {  // circle, ring
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, 2 * Math.PI);
    }
  }
  L.Canvas.include({
    _updateRmShape: function (layer) {
      if (!this._drawing || layer._empty()) { return; }
      var p = layer._point, ctx = this._ctx, r = Math.max(Math.round(layer._radius), 1);
      this._layers[layer._leaflet_id] = layer;
      ctx.beginPath();
      shapePath(ctx, p.x, p.y, r, layer.options.shape);
      this._fillStroke(ctx, layer);
    }
  });
  // clustered point layers: one marker per feature (the cluster plugin needs them)
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
  // The coordinate integers: base64 zigzag varints (a plain list in older pages).
  function readInts(c) {
    if (typeof c !== "string") { return c; }
    var bin = atob(c), nb = bin.length, out = new Float64Array(nb), n = 0, v = 0, mul = 1;
    for (var i = 0; i < nb; i++) {
      var b = bin.charCodeAt(i);
      v += (b & 127) * mul;
      if (b < 128) {
        out[n++] = v % 2 ? -(v + 1) / 2 : v / 2;
        v = 0;
        mul = 1;
      } else {
        mul *= 128;
      }
    }
    return out.subarray(0, n);
  }

  function decodeCoords(g) {
    var c = readInts(g.c), f = Math.pow(10, -g.d), n = c.length / 2, out = new Array(n), x = 0, y = 0;
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

  // ---- one canvas layer per vector layer ------------------------------------------------
  // A layer's features are typed arrays (Web Mercator in [0, 1], per-feature bounding boxes and
  // offsets), drawn by one L.Path that the layer's canvas renderer paints in one pass: no Leaflet
  // object per feature, features outside the view skipped, vertices closer than half a pixel
  // merged. Hit testing finds the feature under the mouse for the popup and the tooltip.
  var MAX_SIN = Math.sin(85.0511287798 * Math.PI / 180), MERC_STEPS = 1024, MERC = null;
  function mercatorY(lat) {  // Web Mercator y in [0, 1] (Leaflet's EPSG:3857, latitude clamped)
    var sn = Math.max(Math.min(Math.sin(lat * Math.PI / 180), MAX_SIN), -MAX_SIN);
    return 0.5 - Math.log((1 + sn) / (1 - sn)) / (4 * Math.PI);
  }
  // y of every 1/1024 degree from -86 to 86, interpolated linearly: off by < 1e-9 of the world (a
  // twentieth of a pixel at zoom 18) and cheaper than a sine and a logarithm per vertex
  function mercatorTable() {
    if (!MERC) {
      MERC = new Float64Array(172 * MERC_STEPS + 2);
      for (var i = 0; i < MERC.length; i++) { MERC[i] = mercatorY(i / MERC_STEPS - 86); }
    }
    return MERC;
  }
  function unmercator(mx, my) {  // Web Mercator in [0, 1] -> LatLng
    return L.latLng(Math.atan(Math.sinh(Math.PI * (1 - 2 * my))) * 180 / Math.PI, (mx - 0.5) * 360);
  }

  function decodeLayer(spec) {
    var g = spec.geom, c = readInts(g.c), f = Math.pow(10, -g.d), nv = c.length / 2, n = spec.count, i, j, k;
    // parts: a point's vertex, a line, or a polygon ring; featPart[i]..featPart[i+1] are feature i's
    var featPart = new Int32Array(n + 1), partVert, nParts;
    if (spec.kind === "point") {
      nParts = nv;
      partVert = new Int32Array(nv + 1);
      for (i = 0; i <= nv; i++) { partVert[i] = i; }
      for (i = 0; i < n; i++) { featPart[i + 1] = featPart[i] + (g.pf ? g.pf[i] : 1); }
    } else if (spec.kind === "line") {
      nParts = g.vl.length;
      partVert = new Int32Array(nParts + 1);
      for (i = 0; i < nParts; i++) { partVert[i + 1] = partVert[i] + g.vl[i]; }
      for (i = 0; i < n; i++) { featPart[i + 1] = featPart[i] + g.lf[i]; }
    } else {
      nParts = g.vr.length;
      partVert = new Int32Array(nParts + 1);
      for (i = 0; i < nParts; i++) { partVert[i + 1] = partVert[i] + g.vr[i]; }
      var poly = 0;
      for (i = 0; i < n; i++) {
        var rings = 0;
        for (j = 0; j < g.pf[i]; j++, poly++) { rings += g.rp[poly]; }
        featPart[i + 1] = featPart[i] + rings;
      }
    }
    // one pass: running sums of the deltas, Web Mercator (x, y in [0, 1]), a box per feature
    var mx = new Float64Array(nv), my = new Float64Array(nv), box = new Float64Array(4 * n);
    var all = [Infinity, Infinity, -Infinity, -Infinity], drawn = 0, x = 0, y = 0, v = 0;
    var kx = f / 360, ky = f * MERC_STEPS, T = mercatorTable(), top = T.length - 2;
    for (i = 0; i < n; i++) {
      var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, end = partVert[featPart[i + 1]];
      for (; v < end; v++) {
        x += c[2 * v];
        y += c[2 * v + 1];
        var px = 0.5 + x * kx, u = y * ky + 86 * MERC_STEPS;
        u = u < 0 ? 0 : (u > top ? top : u);
        var iu = Math.floor(u), py = T[iu] + (u - iu) * (T[iu + 1] - T[iu]);
        mx[v] = px;
        my[v] = py;
        if (px < x0) { x0 = px; }
        if (px > x1) { x1 = px; }
        if (py < y0) { y0 = py; }
        if (py > y1) { y1 = py; }
      }
      box[4 * i] = x0; box[4 * i + 1] = y0; box[4 * i + 2] = x1; box[4 * i + 3] = y1;
      if (x0 <= x1) {
        drawn++;
        if (x0 < all[0]) { all[0] = x0; }
        if (y0 < all[1]) { all[1] = y0; }
        if (x1 > all[2]) { all[2] = x1; }
        if (y1 > all[3]) { all[3] = y1; }
      }
    }
    return { n: n, mx: mx, my: my, featPart: featPart, partVert: partVert, box: box, all: all, drawn: drawn };
  }

  var FeatureCanvas = L.Path.extend({
    initialize: function (spec, data, options) {
      L.setOptions(this, options);
      this._spec = spec;
      this._d = data;
      this._hit = -1;
    },
    _radius: function () { return Math.max(this._spec.style.size / 2, 2); },
    _margin: function () {  // pixels a feature reaches beyond its vertices
      var st = this._spec.style;
      return this._spec.kind === "point" ? 1.3 * this._radius() + Math.max(st.width, 2) : st.width + 1;
    },
    _view: function () {
      var map = this._map, o = map.getPixelOrigin();
      return { s: map.options.crs.scale(map.getZoom()), ox: o.x, oy: o.y };
    },
    _project: function () {
      var v = this._view(), a = this._d.all, m = this._margin();
      if (!(a[0] <= a[2])) { this._pxBounds = null; return; }
      this._pxBounds = L.bounds([a[0] * v.s - v.ox - m, a[1] * v.s - v.oy - m],
        [a[2] * v.s - v.ox + m, a[3] * v.s - v.oy + m]);
    },
    _update: function () {},
    _empty: function () { return !this._d.drawn; },
    _updatePath: function () {
      var r = this._renderer;
      if (!r._drawing || this._empty()) { return; }
      drawFeatures(this, r._ctx, this._view(), r._redrawBounds || r._bounds);
    },
    _containsPoint: function (p) {
      this._hit = hitFeature(this, p);
      return this._hit >= 0;
    },
    anchor: function (i) {  // where a feature's popup opens
      var d = this._d;
      if (i < 0 || i >= d.n || d.featPart[i] === d.featPart[i + 1]) { return null; }
      var first = d.partVert[d.featPart[i]];
      if (this._spec.kind === "point") { return unmercator(d.mx[first], d.my[first]); }
      if (this._spec.kind === "line") {
        var mid = Math.floor((first + d.partVert[d.featPart[i] + 1] - 1) / 2);
        return unmercator(d.mx[mid], d.my[mid]);
      }
      return unmercator((d.box[4 * i] + d.box[4 * i + 2]) / 2, (d.box[4 * i + 1] + d.box[4 * i + 3]) / 2);
    }
  });

  // a point symbol drawn once per colour, then stamped at every point (drawImage is far cheaper than paths)
  function pointSprite(spec, colour) {
    var st = spec.style, op = spec.opacity, r = Math.max(st.size / 2, 2), ring = st.symbol === "ring";
    var lw = ring ? Math.max(st.width, 2) : 1, ratio = window.devicePixelRatio || 1;
    var half = Math.ceil(1.3 * r + lw + 1), size = 2 * half, cv = document.createElement("canvas");
    cv.width = cv.height = Math.ceil(size * ratio);
    var ctx = cv.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.beginPath();
    shapePath(ctx, half, half, r, st.symbol || "circle");
    if (ring) {
      ctx.globalAlpha = op;
      ctx.lineWidth = lw;
      ctx.strokeStyle = colour;
      ctx.stroke();
    } else {  // the fill rule of the desktop canvas: strong enough to read
      ctx.globalAlpha = Math.max(Math.min(1, st.fillOpacity + 0.5), 0.6) * op;
      ctx.fillStyle = colour;
      ctx.fill();
      ctx.globalAlpha = op;
      ctx.lineWidth = lw;
      ctx.strokeStyle = st.stroke;
      ctx.stroke();
    }
    return { canvas: cv, half: half, size: size };
  }

  function drawFeatures(layer, ctx, v, bounds) {
    var spec = layer._spec, d = layer._d, st = spec.style, op = spec.opacity, ci = spec.ci, pal = spec.palette;
    var s = v.s, ox = v.ox, oy = v.oy, m = layer._margin();
    // the part of the world being drawn, in Mercator units
    var vx0 = (bounds.min.x - m + ox) / s, vy0 = (bounds.min.y - m + oy) / s;
    var vx1 = (bounds.max.x + m + ox) / s, vy1 = (bounds.max.y + m + oy) / s;
    var box = d.box, mx = d.mx, my = d.my, fp = d.featPart, pv = d.partVert, n = d.n;
    var kind = spec.kind, i, j, k, count = 0, x, y, lx, ly;
    function visible(i) {
      return box[4 * i] <= vx1 && box[4 * i + 2] >= vx0 && box[4 * i + 1] <= vy1 && box[4 * i + 3] >= vy0;
    }
    function flush(colour) {  // a run of lines of one colour: one stroke
      if (!count) { return; }
      ctx.globalAlpha = 0.95 * op;
      ctx.lineWidth = st.width;
      ctx.strokeStyle = colour;
      ctx.stroke();
      ctx.beginPath();
      count = 0;
    }
    if (kind === "point") {
      var sprites = layer._sprites ||
        (layer._sprites = pal.map(function (colour) { return pointSprite(spec, colour); }));
      ctx.globalAlpha = 1;
      for (i = 0; i < n; i++) {
        if (!visible(i)) { continue; }
        var sp = sprites[ci ? ci[i] : 0];
        for (j = fp[i]; j < fp[i + 1]; j++) {
          k = pv[j];
          ctx.drawImage(sp.canvas, Math.round(mx[k] * s - ox) - sp.half, Math.round(my[k] * s - oy) - sp.half,
            sp.size, sp.size);
        }
      }
      return;
    }
    ctx.save();
    // bevel joins and vertices 3 px apart (1 px on rings): the rasteriser's cost is in the joins of long lines
    var minStep = kind === "line" ? 9 : 1;
    ctx.lineJoin = kind === "line" ? "bevel" : "round";
    ctx.lineCap = st.dash && kind === "line" ? "butt" : "round";
    if (ctx.setLineDash) { ctx.setLineDash(st.dash && kind === "line" ? [8, 5] : []); }
    var groups = layer._groups || (layer._groups = colourGroups(ci, n, pal.length));
    for (var gi = 0; gi < groups.length; gi++) {  // one colour after the other, as the desktop draws
      var members = groups[gi], colour = pal[gi];
      if (kind === "polygon") {
        ctx.fillStyle = colour;
        ctx.strokeStyle = st.stroke;
        ctx.lineWidth = st.width;
      }
      ctx.beginPath();
      for (var q = 0; q < members.length; q++) {
        i = members[q];
        if (!visible(i)) { continue; }
        if (kind === "polygon") { ctx.beginPath(); }
        for (j = fp[i]; j < fp[i + 1]; j++) {
          var first = pv[j], last = pv[j + 1] - 1;
          for (k = first; k <= last; k++) {
            x = mx[k] * s - ox;
            y = my[k] * s - oy;
            // vertices closer to the last one drawn than sqrt(minStep) pixels are merged
            if (k === first) {
              ctx.moveTo(x, y); lx = x; ly = y;
            } else if ((k === last && kind === "line") || (x - lx) * (x - lx) + (y - ly) * (y - ly) >= minStep) {
              ctx.lineTo(x, y); lx = x; ly = y;
            }
          }
          if (kind === "polygon") { ctx.closePath(); }
        }
        if (kind === "polygon") {  // one fill per feature (its rings even-odd): overlaps blend as on the desktop
          ctx.globalAlpha = st.fillOpacity * op;
          ctx.fill("evenodd");
          if (st.width > 0) {
            ctx.globalAlpha = op;
            ctx.stroke();
          }
        } else if (++count >= 2000) {  // bounded paths: the rasteriser is not linear in a path's size
          flush(colour);
        }
      }
      if (kind !== "polygon") { flush(colour); }
    }
    ctx.restore();
  }

  function colourGroups(ci, n, nColours) {  // feature indices per colour, in feature order
    var counts = new Int32Array(nColours), i;
    for (i = 0; i < n; i++) { counts[ci ? ci[i] : 0]++; }
    var groups = [];
    for (i = 0; i < nColours; i++) { groups.push(new Int32Array(counts[i])); counts[i] = 0; }
    for (i = 0; i < n; i++) {
      var c = ci ? ci[i] : 0;
      groups[c][counts[c]++] = i;
    }
    return groups;
  }

  function segmentDistance(px, py, ax, ay, bx, by) {
    var dx = bx - ax, dy = by - ay, t = dx || dy ? ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy) : 0;
    t = Math.max(0, Math.min(1, t));
    var qx = ax + t * dx - px, qy = ay + t * dy - py;
    return Math.sqrt(qx * qx + qy * qy);
  }

  function hitFeature(layer, p) {  // the top feature under layer point p, or -1
    var spec = layer._spec, d = layer._d, v = layer._view(), s = v.s;
    var px = (p.x + v.ox) / s, py = (p.y + v.oy) / s;  // Mercator units
    var tol = layer._clickTolerance() + (spec.kind === "point" ? layer._radius() : 0), t = tol / s;
    var box = d.box, mx = d.mx, my = d.my, fp = d.featPart, pv = d.partVert, i, j, k, q;
    for (i = d.n - 1; i >= 0; i--) {
      if (box[4 * i] - t > px || box[4 * i + 2] + t < px || box[4 * i + 1] - t > py || box[4 * i + 3] + t < py) {
        continue;
      }
      if (spec.kind === "point") {
        for (j = fp[i]; j < fp[i + 1]; j++) {
          k = pv[j];
          if (Math.abs(mx[k] - px) * s <= tol && Math.abs(my[k] - py) * s <= tol) { return i; }
        }
      } else if (spec.kind === "line") {
        for (j = fp[i]; j < fp[i + 1]; j++) {
          for (k = pv[j] + 1; k < pv[j + 1]; k++) {
            if (segmentDistance(px, py, mx[k - 1], my[k - 1], mx[k], my[k]) * s <= tol) { return i; }
          }
        }
      } else {
        var inside = false;
        for (j = fp[i]; j < fp[i + 1]; j++) {
          var a = pv[j], b = pv[j + 1];
          for (k = a, q = b - 1; k < b; q = k++) {
            if ((my[k] > py) !== (my[q] > py) &&
                px < (mx[q] - mx[k]) * (py - my[k]) / (my[q] - my[k]) + mx[k]) { inside = !inside; }
          }
        }
        if (inside) { return i; }
      }
    }
    return -1;
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
  var built = {}, overlays = {}, paneOf = {}, anchorOf = {};
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

  function bindFeatureEvents(spec, target, indexOf) {
    target.on("click", function (e) {
      var i = indexOf(e);
      if (i >= 0) { openPopupAt(spec, i, e.latlng); }
    });
    var shown = -1;
    target.on("mouseover mousemove", function (e) {
      var i = indexOf(e);
      if (i < 0) { return; }
      if (i !== shown || !map.hasLayer(tooltip)) { showTooltipAt(spec, i, e.latlng); shown = i; }
      tooltip.setLatLng(e.latlng);
    });
    target.on("mouseout", function () { map.closeTooltip(tooltip); shown = -1; });
  }

  function buildClustered(spec, renderer, pane) {  // point layers of up to CLUSTER_MAX_FEATURES features
    var g = spec.geom, xy = decodeCoords(g), n = spec.count, ci = spec.ci, palette = spec.palette;
    var features = [], heat = [], v = 0, i, j;
    for (i = 0; i < n; i++) {
      var np = g.pf ? g.pf[i] : 1;
      for (j = 0; j < np; j++, v++) {
        var m = new ShapeMarker(xy[v], pointOptions(spec, renderer, pane, ci ? palette[ci[i]] : palette[0]));
        m._rmIndex = i;
        features.push(m);
        if (spec.heat) { heat.push(xy[v]); }
      }
    }
    var group = L.markerClusterGroup({ disableClusteringAtZoom: 14, maxClusterRadius: 45,
      showCoverageOnHover: false, spiderfyOnMaxZoom: false, chunkedLoading: false,
      iconCreateFunction: function (cluster) {
        var icon = L.MarkerClusterGroup.prototype._defaultIconCreateFunction(cluster);
        icon.options.className += " rm-cluster-" + spec.index;
        return icon;
      } });
    group.addLayers(features);
    bindFeatureEvents(spec, group, function (e) {
      return e.layer && e.layer._rmIndex !== undefined ? e.layer._rmIndex : -1;
    });
    var seen = {};
    features.forEach(function (f) { seen[f._rmIndex] = true; });
    built[spec.id] = Object.keys(seen).length;
    anchorOf[spec.id] = function (i) {
      for (var q = 0; q < features.length; q++) { if (features[q]._rmIndex === i) { return features[q].getLatLng(); } }
      return null;
    };
    return { layer: group, heat: heat };
  }

  function buildVector(spec, pane) {
    var renderer = L.canvas({ pane: pane, padding: 0.3, tolerance: spec.kind === "line" ? 4 : 1 });
    var made;
    if (spec.cluster && L.markerClusterGroup) {
      made = buildClustered(spec, renderer, pane);
    } else {
      var data = decodeLayer(spec), heat = [];
      var layer = new FeatureCanvas(spec, data, { renderer: renderer, pane: pane, interactive: true,
        weight: spec.kind === "point" ? 1 : spec.style.width });
      bindFeatureEvents(spec, layer, function () { return layer._hit; });
      if (spec.heat) {
        for (var h = 0; h < data.mx.length; h++) { heat.push(unmercator(data.mx[h], data.my[h])); }
      }
      built[spec.id] = data.drawn;
      anchorOf[spec.id] = function (i) { return layer.anchor(i); };
      made = { layer: layer, heat: heat };
    }
    if (spec.labels && spec.labels.length) {
      var labels = spec.labels.map(function (l) {
        return L.marker([l[0], l[1]], { pane: "rm-labels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: "rm-label", html: "<span>" + l[2] + "</span>", iconSize: null }) });
      });
      made.layer = L.layerGroup([made.layer, L.layerGroup(labels)]);
    }
    return made;
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
    return anchorOf[id] ? anchorOf[id](i) : null;
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
