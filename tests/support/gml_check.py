#!/usr/bin/env python3
"""Independent reference reader for the GML fixtures in shared/data.

usage: gml_check.py lod2 FILE...        CityGML 1.0/2.0 LoD2 tiles: counts + one record per roof polygon
       gml_check.py arcs FILE...        NAS (GML 3.2) features: exact area with circular arcs, and chord area
       gml_check.py points FILE...      WFS 2.0 page of gml:Point features: CRS, coordinates, feature type
       gml_check.py flurstueck FILE...  AX_Flurstueck key attributes (NAS 6.0 WFS response or NAS 7.1 bare feature)

Prints exactly one JSON document to stdout. Exit codes: 0 ok, 1 usage, 2 input refused
(DOCTYPE / entity declaration), 3 input this reference cannot interpret (it stops rather than guess).

Why this exists: the Rust tests compare kreisgeo's own GML parser against figures computed here.
Nothing here is shared with, generated from, or modelled on the Rust code: it is plain
xml.etree.ElementTree over the documents, with the geometry done by textbook formulas
(Newell's method, Green's theorem for circular arcs), so a bug in one is unlikely to be repeated
in the other. Only the Python 3 standard library is used.
"""
import json
import math
import sys
import xml.etree.ElementTree as ET

# --- namespaces --------------------------------------------------------------------------------
# Matched by (namespace, local name), never by prefix: prefixes differ between producers (the NAS
# 6.0 WFS response uses a default namespace, the NAS 7.1 slices use `adv:`).
GML = {"http://www.opengis.net/gml", "http://www.opengis.net/gml/3.2"}  # GML 3.1.1 (CityGML) and 3.2 (NAS, WFS 2.0)
BLDG = {"http://www.opengis.net/citygml/building/1.0", "http://www.opengis.net/citygml/building/2.0"}
CORE = {"http://www.opengis.net/citygml/1.0", "http://www.opengis.net/citygml/2.0"}
GEN = {"http://www.opengis.net/citygml/generics/1.0", "http://www.opengis.net/citygml/generics/2.0"}
XAL = {"urn:oasis:names:tc:ciq:xsdschema:xAL:2.0"}
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# Containers whose children are features: WFS 2.0 `member`, GML `featureMember(s)`.
MEMBER_CONTAINERS = {("http://www.opengis.net/wfs/2.0", "member"),
                     ("http://www.opengis.net/gml/3.2", "featureMember"),
                     ("http://www.opengis.net/gml/3.2", "featureMembers"),
                     ("http://www.opengis.net/gml", "featureMember"),
                     ("http://www.opengis.net/gml", "featureMembers")}
# CityGML thematic boundary surfaces counted per kind (all live in the building namespace).
BOUNDARY_SURFACES = ("RoofSurface", "WallSurface", "GroundSurface", "ClosureSurface",
                     "OuterCeilingSurface", "OuterFloorSurface")


class Refused(Exception):
    """Input that must not be parsed at all (exit 2)."""


class Uninterpretable(Exception):
    """Input this reference does not understand; stopping beats guessing a number (exit 3)."""


def split(tag):
    """'{ns}local' -> (ns, local); comments/PIs (non-str tags) give (None, None)."""
    if not isinstance(tag, str):
        return None, None
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return ns, local
    return "", tag


def local(el):
    return split(el.tag)[1]


def is_(el, namespaces, name):
    ns, loc = split(el.tag)
    return loc == name and ns in namespaces


def children(el, namespaces, name):
    return [c for c in el if is_(c, namespaces, name)]


def child(el, namespaces, name):
    found = children(el, namespaces, name)
    return found[0] if found else None


def gml_id(el):
    for ns in GML:
        v = el.get("{%s}id" % ns)
        if v is not None:
            return v
    return None


def load(path):
    """Parse a file after refusing anything that could declare or expand entities.

    ElementTree (expat) would expand internal entities declared in a DOCTYPE; a reference that
    can be made to blow up (billion laughs) or to read other files is useless in tests, so any
    DOCTYPE or ENTITY declaration is rejected before the parser sees the bytes. Without a DTD
    only the five predefined entities and character references exist.
    """
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        probe = data.decode("utf-16").upper()
    else:
        # latin-1 maps every byte to one character, so an ASCII keyword is found in any
        # ASCII-compatible encoding (UTF-8, ISO-8859-x) without decoding errors.
        probe = data.decode("latin-1").upper()
    if "<!DOCTYPE" in probe or "<!ENTITY" in probe:
        raise Refused("%s: DOCTYPE/ENTITY declaration refused (entities are never expanded)" % path)
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise Uninterpretable("%s: not well-formed XML: %s" % (path, e))


def features_of(root):
    """Feature elements of a document: the children of WFS/GML member containers, or the root
    itself for a bare-feature document (the NAS 7.1 slices have the AX_* feature as root)."""
    found = []

    def walk(el):
        for c in el:
            if split(c.tag) in MEMBER_CONTAINERS:
                found.extend(x for x in c if isinstance(x.tag, str))
            else:
                walk(c)

    walk(root)
    return found if found else [root]


# --- coordinates -------------------------------------------------------------------------------

def numbers(text, what):
    try:
        return [float(t) for t in (text or "").split()]
    except ValueError:
        raise Uninterpretable("non-numeric coordinate in %s: %r" % (what, (text or "")[:80]))


def srs_dimension(el, inherited):
    """srsDimension declared on this element wins over the one inherited from an ancestor."""
    v = el.get("srsDimension")
    return int(v) if v else inherited


def points_in(el, dim):
    """Points written directly under a ring/segment/point element, in document order.

    Handles gml:posList (chunked by srsDimension), gml:pos (one point each, its own length),
    and legacy gml:coordinates ("x,y[,z] x,y[,z]", GML 3.1.1 only, separators from attributes).
    """
    dim = srs_dimension(el, dim)
    pts = []
    for c in el:
        if is_(c, GML, "posList"):
            d = srs_dimension(c, dim)
            vals = numbers(c.text, "posList")
            if d is None or d < 2 or len(vals) % d:
                raise Uninterpretable("posList with %d values is not a multiple of srsDimension %s" % (len(vals), d))
            pts.extend(tuple(vals[i:i + d]) for i in range(0, len(vals), d))
        elif is_(c, GML, "pos"):
            vals = numbers(c.text, "pos")
            if len(vals) < 2:
                raise Uninterpretable("gml:pos with %d values" % len(vals))
            pts.append(tuple(vals))
        elif is_(c, GML, "coordinates"):
            cs, ts, dec = c.get("cs", ","), c.get("ts", " "), c.get("decimal", ".")
            for tup in (c.text or "").strip().split(ts):
                if tup.strip():
                    vals = [float(v.replace(dec, ".")) for v in tup.strip().split(cs)]
                    pts.append(tuple(vals))
        elif is_(c, GML, "pointProperty") or is_(c, GML, "pointRep"):
            p = child(c, GML, "Point")
            if p is None:
                raise Uninterpretable("pointProperty by reference is not supported")
            pts.extend(points_in(p, dim))
    return pts


def same_point(a, b, tol=1e-9):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


# === lod2 =======================================================================================

def ring3d(ring_el, dim):
    """A gml:LinearRing as a list of (x, y, z). LoD2 roofs need z, so 2D rings are an error."""
    if not is_(ring_el, GML, "LinearRing"):
        raise Uninterpretable("roof polygon ring is %s, expected gml:LinearRing" % local(ring_el))
    pts = points_in(ring_el, dim)
    if len(pts) < 3:
        raise Uninterpretable("LinearRing with %d points" % len(pts))
    if any(len(p) < 3 for p in pts):
        raise Uninterpretable("LoD2 ring without z coordinates")
    return [p[:3] for p in pts]


def newell(ring):
    """Vector area (half of Newell's normal) of a 3D ring.

    Coordinates are shifted to the ring's first vertex first: UTM values (~5.7e6) squared lose
    about 7 of the 16 significant digits, which matters for sliver roofs below 1 m².
    A closing point equal to the first contributes a zero-length edge, so rings may be
    closed or not.
    """
    ox, oy, oz = ring[0]
    p = [(x - ox, y - oy, z - oz) for x, y, z in ring]
    nx = ny = nz = 0.0
    for i in range(len(p)):
        x0, y0, z0 = p[i]
        x1, y1, z1 = p[(i + 1) % len(p)]
        nx += (y0 - y1) * (z0 + z1)
        ny += (z0 - z1) * (x0 + x1)
        nz += (x0 - x1) * (y0 + y1)
    return nx / 2.0, ny / 2.0, nz / 2.0


def polygon_rings(poly, dim):
    """(exterior, [interiors]) of a gml:Polygon; GML 3 `exterior`/`interior`, GML 2 names too."""
    dim = srs_dimension(poly, dim)
    ext = child(poly, GML, "exterior")
    if ext is None:
        ext = child(poly, GML, "outerBoundaryIs")
    if ext is None or len(ext) == 0:
        raise Uninterpretable("gml:Polygon %s without exterior ring" % gml_id(poly))
    interiors = children(poly, GML, "interior") + children(poly, GML, "innerBoundaryIs")
    return ring3d(ext[0], dim), [ring3d(i[0], dim) for i in interiors if len(i)]


def roof_record(poly, dim):
    """Area, footprint, tilt and azimuth of one roof polygon, plus flags for the summary."""
    ext, ints = polygon_rings(poly, dim)
    n = newell(ext)
    holes = [newell(r) for r in ints]
    norm = math.sqrt(n[0] ** 2 + n[1] ** 2 + n[2] ** 2)
    # Holes are subtracted by magnitude: their ring orientation is not reliable in real data,
    # and for a planar polygon |vector area| of each ring is its true area.
    area_3d = norm - sum(math.sqrt(h[0] ** 2 + h[1] ** 2 + h[2] ** 2) for h in holes)
    # The z component of a ring's vector area is the signed area of its XY projection.
    footprint = abs(n[2]) - sum(abs(h[2]) for h in holes)
    closed = same_point(ext[0], ext[-1])
    if norm == 0.0:
        # Degenerate (collinear or repeated points): no normal, so no tilt/azimuth.
        return dict(area_3d=area_3d, footprint_area=footprint, tilt=None, azimuth=None), n, closed, len(ints)
    nx, ny, nz = n
    if nz < 0:
        # Ring written clockwise seen from above: the normal points down; a roof faces up.
        nx, ny, nz = -nx, -ny, -nz
    tilt = math.degrees(math.acos(min(1.0, abs(nz) / norm)))
    azimuth = None
    if tilt >= 1e-9:
        # atan2(east, north) = compass bearing of the horizontal part of the upward normal,
        # i.e. the direction the roof faces (downhill).
        azimuth = math.degrees(math.atan2(nx, ny)) % 360.0
        if azimuth >= 360.0:  # -1e-17 % 360 rounds to 360.0
            azimuth -= 360.0
    return dict(area_3d=area_3d, footprint_area=footprint, tilt=tilt, azimuth=azimuth), n, closed, len(ints)


def top_level_buildings(root):
    """bldg:Building elements not nested in another Building (parts are bldg:BuildingPart)."""
    out = []

    def walk(el):
        for c in el:
            if is_(c, BLDG, "Building"):
                out.append(c)
            else:
                walk(c)

    walk(root)
    return out


def text_of(el):
    return el.text.strip() if el is not None and el.text is not None else None


def float_or_none(s):
    try:
        return float(s) if s is not None else None
    except ValueError:
        return None


def address_record(addr):
    """xAL fields of one core:Address, found by local name anywhere inside it: producers nest
    Thoroughfare under Locality (NRW) or under Country/Locality/DependentLocality elsewhere."""
    rec = {"gml_id": gml_id(addr)}
    for key, name in (("country", "CountryName"), ("locality", "LocalityName"),
                      ("street", "ThoroughfareName"), ("number", "ThoroughfareNumber"),
                      ("postcode", "PostalCodeNumber")):
        el = next((e for e in addr.iter() if is_(e, XAL, name)), None)
        rec[key] = text_of(el)
    return rec


def own_attributes(el):
    """Attributes written directly on a Building or BuildingPart (not inherited from parts)."""
    first = lambda ns, name: child(el, ns, name)
    mh = first(BLDG, "measuredHeight")
    gen = {}
    for c in el:
        ns, loc = split(c.tag)
        if ns in GEN and loc.endswith("Attribute") and c.get("name"):
            v = child(c, GEN, "value")
            gen[c.get("name")] = text_of(v)
    name = first(GML, "name")
    return {
        "id": gml_id(el),
        "name": text_of(name),
        "function": text_of(first(BLDG, "function")),
        "roofType": text_of(first(BLDG, "roofType")),
        "measuredHeight": float_or_none(text_of(mh)),
        "measuredHeight_uom": mh.get("uom") if mh is not None else None,
        "storeysAboveGround": text_of(first(BLDG, "storeysAboveGround")),
        "creationDate": text_of(first(CORE, "creationDate")),
        "generic": gen,
    }


def cmd_lod2(paths):
    building_files = {}          # building gml:id -> files it occurs in (dedup across tiles)
    building_list = []           # first occurrence of each building, with attributes
    building_elements = 0
    part_ids, part_elements = set(), 0
    surface_keys = {k: set() for k in BOUNDARY_SURFACES}
    surface_elements = {k: 0 for k in BOUNDARY_SURFACES}
    surfaces_without_id = {k: 0 for k in BOUNDARY_SURFACES}
    roof_keys, roofs = set(), []
    polygon_keys = set()         # every gml:Polygon inside buildings, for the all-surfaces total
    address_keys, address_elements = set(), 0
    buildings_with_address = set()
    units_with_height = set()
    srs_names, dims = set(), set()
    flags = dict(roof_polygons_without_id=0, roof_normals_down=0, roof_flat_lt_1deg=0,
                 roof_lt_1m2=0, roof_degenerate=0, roof_unclosed_rings=0, roof_interior_rings=0,
                 roof_members_by_xlink=0)
    totals = dict(roof_area_3d=0.0, roof_footprint_area=0.0)

    for path in paths:
        root = load(path)
        for el in root.iter():
            if el.get("srsName"):
                srs_names.add(el.get("srsName"))
            if el.get("srsDimension"):
                dims.add(int(el.get("srsDimension")))
        # gml:id index of the file's polygons, to follow `surfaceMember xlink:href="#id"`
        # (CityGML allows the thematic surface to reference a polygon written elsewhere).
        by_id = {gml_id(p): p for p in root.iter() if is_(p, GML, "Polygon") and gml_id(p)}
        # An srsDimension on an ancestor (e.g. the Envelope is not one) would be inherited;
        # CityGML tiles declare it on each posList, 3 is the LoD2 default.
        dim = 3

        for b in top_level_buildings(root):
            building_elements += 1
            bid = gml_id(b)
            if bid is None:
                raise Uninterpretable("%s: bldg:Building without gml:id" % path)
            first_time = bid not in building_files
            building_files.setdefault(bid, []).append(path)

            # --- units, attributes, addresses
            parts = [p for p in b.iter() if is_(p, BLDG, "BuildingPart")]
            part_elements += len(parts)
            for p in parts:
                part_ids.add(gml_id(p) or (bid, "part", parts.index(p)))
            for k, unit in enumerate([b] + parts):
                if child(unit, BLDG, "measuredHeight") is not None:
                    units_with_height.add(gml_id(unit) or (bid, "unit", k))
            addrs = [a for a in b.iter() if is_(a, CORE, "Address")]
            address_elements += len(addrs)
            for a in addrs:
                r = address_record(a)
                # One address per building and content: NRW repeats the building's address
                # (new UUID) on each BuildingPart that carries one.
                address_keys.add((bid, r["country"], r["locality"], r["street"], r["number"], r["postcode"]))
                buildings_with_address.add(bid)
            if first_time:
                rec = own_attributes(b)
                rec["file"] = path
                rec["parts"] = [dict(own_attributes(p),
                                     addresses=[address_record(a) for a in p.iter() if is_(a, CORE, "Address")])
                                for p in parts]
                rec["addresses"] = [address_record(a) for a in children(b, BLDG, "address")
                                    for a in children(a, CORE, "Address")]
                building_list.append(rec)

            # --- surfaces and roof polygons; walk keeps track of the enclosing BuildingPart
            roof_position = [0]   # n-th roof polygon of this building element (key for id-less polygons)
            counter = [0]         # n-th polygon of this building element (key for id-less polygons)
            surface_position = {}  # n-th boundary surface of each kind in this building element

            def walk(el, part_id, surface):
                for c in el:
                    ns, loc = split(c.tag)
                    if ns in BLDG and loc == "BuildingPart":
                        walk(c, gml_id(c), None)
                        continue
                    if ns in BLDG and loc in BOUNDARY_SURFACES:
                        surface_elements[loc] += 1
                        surface_position[loc] = surface_position.get(loc, 0) + 1
                        sid = gml_id(c)
                        if sid is None:
                            surfaces_without_id[loc] += 1
                            # n-th surface of its kind in this building: the same in every copy
                            sid_key = (bid, loc, surface_position[loc])
                        else:
                            sid_key = sid
                        surface_keys[loc].add(sid_key)
                        walk(c, part_id, (loc, sid))
                        continue
                    if ns in GML and loc == "surfaceMember" and c.get(XLINK_HREF) and surface:
                        # Thematic surface pointing at a polygon stored elsewhere in the file.
                        target = by_id.get(c.get(XLINK_HREF).lstrip("#"))
                        if target is None:
                            raise Uninterpretable("%s: unresolved surfaceMember %s" % (path, c.get(XLINK_HREF)))
                        if surface[0] == "RoofSurface":
                            flags["roof_members_by_xlink"] += 1
                        polygon(target, part_id, surface)
                        continue
                    if ns in GML and loc == "Polygon":
                        polygon(c, part_id, surface)
                        continue
                    walk(c, part_id, surface)

            def polygon(poly, part_id, surface):
                pid = gml_id(poly)
                # Only polygons of thematic surfaces are counted: lod2Solid holds xlinks to the
                # same polygons, and counting both would double every surface.
                if surface is None:
                    return
                counter[0] += 1
                polygon_keys.add(pid if pid is not None else (bid, surface, counter[0]))
                if surface[0] != "RoofSurface":
                    return
                roof_position[0] += 1
                key = pid if pid is not None else (bid, roof_position[0])
                if key in roof_keys:
                    return
                roof_keys.add(key)
                if pid is None:
                    flags["roof_polygons_without_id"] += 1
                r, n, closed, n_int = roof_record(poly, dim)
                if n[2] < 0:
                    flags["roof_normals_down"] += 1
                if r["tilt"] is None:
                    flags["roof_degenerate"] += 1
                elif r["tilt"] < 1.0:
                    flags["roof_flat_lt_1deg"] += 1
                if r["area_3d"] < 1.0:
                    flags["roof_lt_1m2"] += 1
                if not closed:
                    flags["roof_unclosed_rings"] += 1
                flags["roof_interior_rings"] += n_int
                totals["roof_area_3d"] += r["area_3d"]
                totals["roof_footprint_area"] += r["footprint_area"]
                roofs.append(dict(polygon_id=pid, building_id=bid, part_id=part_id,
                                  roof_surface_id=surface[1], file=path, **r))

            walk(b, None, None)

    out = {
        "buildings": len(building_files),
        "building_elements": building_elements,
        "duplicate_buildings": {k: v for k, v in building_files.items() if len(v) > 1},
        "building_parts": len(part_ids),
        "building_part_elements": part_elements,
        # A "unit" is whatever carries its own height: a Building without parts, or a part.
        "units_with_measured_height": len(units_with_height),
        "roof_surfaces": len(surface_keys["RoofSurface"]),
        "roof_polygons": len(roof_keys),
        "addresses": len(address_keys),
        "address_elements": address_elements,
        "buildings_with_address": len(buildings_with_address),
        "surfaces": {k: len(v) for k, v in surface_keys.items()},
        "surface_elements": surface_elements,
        "surface_elements_without_id": surfaces_without_id,
        "polygons_total": len(polygon_keys),
        "srs_names": sorted(srs_names),
        "srs_dimensions": sorted(dims),
        "roof_summary": dict(flags, **totals),
        "roofs": roofs,
        "building_list": building_list,
    }
    return out


# === arcs (NAS curves) ==========================================================================

def circle_through(p0, p1, p2):
    """Centre (relative to p0) and radius of the circle through three 2D points, or None when
    they are collinear (a degenerate arc is a straight line)."""
    ax, ay = 0.0, 0.0
    bx, by = p1[0] - p0[0], p1[1] - p0[1]
    cx, cy = p2[0] - p0[0], p2[1] - p0[1]
    d = 2.0 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    scale = max(abs(bx), abs(by), abs(cx), abs(cy), 1e-300)
    if abs(d) <= 1e-12 * scale * scale:
        return None
    b2, c2 = bx * bx + by * by, cx * cx + cy * cy
    ux = (b2 * (cy - ay) + c2 * (ay - by)) / d
    uy = (b2 * (ax - cx) + c2 * (bx - ax)) / d
    return (ux, uy), math.hypot(ux, uy)


def arc_piece(p0, p1, p2, full_circle=False):
    """Signed line-integral ½∮(x dy − y dx) along the circular arc p0→p1→p2, in coordinates
    relative to p0, plus a description of the arc.

    On x = cx + r cosθ, y = cy + r sinθ the integrand is (r² + r cx cosθ + r cy sinθ) dθ, so
    ½∫ = ½(r²Δ + cx(y2 − y0) − cy(x2 − x0)) with Δ the signed sweep. Summed with the straight
    pieces (½(x0 y1 − x1 y0)) this is Green's theorem for the exact enclosed area — no
    densification, valid for sweeps beyond 180°.
    """
    c = circle_through(p0, p1, p2)
    if c is None:
        return None
    (ux, uy), r = c
    x1, y1 = p1[0] - p0[0], p1[1] - p0[1]
    x2, y2 = p2[0] - p0[0], p2[1] - p0[1]
    # Points on a circle are visited counter-clockwise exactly when the triangle p0 p1 p2 is.
    ccw = (x1 * y2 - y1 * x2) > 0
    if full_circle:
        sweep = 2 * math.pi if ccw else -2 * math.pi
        x2 = y2 = 0.0  # a circle ends where it starts
    else:
        t0 = math.atan2(-uy, -ux)
        t2 = math.atan2(y2 - uy, x2 - ux)
        sweep = (t2 - t0) % (2 * math.pi) if ccw else -((t0 - t2) % (2 * math.pi))
    # Relative to p0 the starting point is the origin, so the straight terms vanish there.
    integral = 0.5 * (r * r * sweep + ux * y2 - uy * x2)
    info = {"start": list(p0), "mid": list(p1), "end": list(p2) if not full_circle else list(p0),
            "centre": [p0[0] + ux, p0[1] + uy], "radius": r,
            "sweep_deg": math.degrees(sweep),
            # area between arc and its chord, signed like the ring's traversal
            "segment_area": 0.5 * r * r * (sweep - math.sin(sweep)),
            "circle": full_circle}
    return integral, info


def curve_pieces(el, dim, reverse=False):
    """Flatten any GML curve into pieces ('line', p, q) / ('arc', p0, p1, p2) / ('circle', ...)
    in traversal order."""
    dim = srs_dimension(el, dim)
    ns, loc = split(el.tag)
    if ns not in GML:
        raise Uninterpretable("unexpected curve element %s" % el.tag)
    pieces = []
    if loc in ("LineString", "LinearRing", "LineStringSegment"):
        pts = points_in(el, dim)
        pieces = [("line", pts[i], pts[i + 1]) for i in range(len(pts) - 1)]
    elif loc in ("Arc", "ArcString"):
        pts = points_in(el, dim)
        if len(pts) < 3 or len(pts) % 2 == 0 or (loc == "Arc" and len(pts) != 3):
            raise Uninterpretable("gml:%s with %d points" % (loc, len(pts)))
        pieces = [("arc", pts[i], pts[i + 1], pts[i + 2]) for i in range(0, len(pts) - 2, 2)]
    elif loc == "Circle":
        pts = points_in(el, dim)
        if len(pts) != 3:
            raise Uninterpretable("gml:Circle with %d points" % len(pts))
        pieces = [("circle", pts[0], pts[1], pts[2])]
    elif loc == "Curve":
        segs = child(el, GML, "segments")
        if segs is None:
            raise Uninterpretable("gml:Curve without segments")
        for s in segs:
            if isinstance(s.tag, str):
                pieces.extend(curve_pieces(s, dim))
    elif loc in ("Ring", "CompositeCurve"):
        for m in el:
            if is_(m, GML, "curveMember"):
                if m.get(XLINK_HREF):
                    raise Uninterpretable("curveMember by reference (%s) not supported" % m.get(XLINK_HREF))
                for c in m:
                    if isinstance(c.tag, str):
                        pieces.extend(curve_pieces(c, dim))
    elif loc == "OrientableCurve":
        base = child(el, GML, "baseCurve")
        inner = [c for c in base if isinstance(c.tag, str)] if base is not None else []
        if not inner:
            raise Uninterpretable("OrientableCurve without inline baseCurve")
        pieces = curve_pieces(inner[0], dim, reverse=(el.get("orientation", "+") == "-"))
        return pieces
    else:
        raise Uninterpretable("curve segment gml:%s is not supported by this reference" % loc)
    if reverse:
        # walk the pieces backwards, each one from its end to its start
        pieces = [(p[0],) + tuple(reversed(p[1:])) for p in reversed(pieces)]
    return pieces


def ring_areas(ring_el, dim):
    """Signed exact and chord areas of one ring plus its arcs and a continuity check."""
    pieces = curve_pieces(ring_el, dim)
    if not pieces:
        raise Uninterpretable("empty ring")
    o = pieces[0][1]  # local origin: keeps products of UTM coordinates exact enough
    rel = lambda p: (p[0] - o[0], p[1] - o[1])
    exact = chord = endpoint = 0.0
    arcs = []
    max_gap = 0.0
    prev_end = None
    for pc in pieces:
        kind, pts = pc[0], [rel(p) for p in pc[1:]]
        if prev_end is not None:
            max_gap = max(max_gap, math.hypot(pts[0][0] - prev_end[0], pts[0][1] - prev_end[1]))
        # chord area: every control point joined by straight lines (what a reader that
        # ignores curve types gets); endpoint area: arcs replaced by their start→end chord.
        for a, b in zip(pts, pts[1:]):
            chord += 0.5 * (a[0] * b[1] - b[0] * a[1])
        if kind == "circle":
            # the posList does not repeat the start point: close the control polygon
            chord += 0.5 * (pts[2][0] * pts[0][1] - pts[0][0] * pts[2][1])
        a, b = pts[0], (pts[-1] if kind != "circle" else pts[0])
        endpoint += 0.5 * (a[0] * b[1] - b[0] * a[1])
        if kind == "line":
            exact += 0.5 * (a[0] * b[1] - b[0] * a[1])
            prev_end = b
            continue
        res = arc_piece(pc[1], pc[2], pc[3], full_circle=(kind == "circle"))
        if res is None:  # collinear "arc": it is the polyline through its points
            for s, t in zip(pts, pts[1:]):
                exact += 0.5 * (s[0] * t[1] - t[0] * s[1])
            arcs.append({"start": list(pc[1]), "mid": list(pc[2]), "end": list(pc[3]), "collinear": True})
        else:
            integral, info = res
            # arc_piece integrates relative to its own start; move that to the ring origin:
            # ½∫((x+X)dy − (y+Y)dx) = ½∫(x dy − y dx) + ½(X Δy − Y Δx).
            X, Y = a
            dx, dy = (b[0] - a[0], b[1] - a[1])
            exact += integral + 0.5 * (X * dy - Y * dx)
            arcs.append(info)
        prev_end = b
    first = rel(pieces[0][1])
    closing_gap = math.hypot(first[0] - prev_end[0], first[1] - prev_end[1])
    return exact, chord, endpoint, arcs, max(max_gap, closing_gap)


SURFACES = ("Polygon", "PolygonPatch", "Surface", "MultiSurface", "CompositeSurface", "OrientableSurface")
OTHER_GEOMETRY = ("Point", "MultiPoint", "Curve", "LineString", "MultiCurve", "CompositeCurve",
                  "OrientableCurve", "Solid", "MultiSolid", "MultiGeometry")


def surface_polygons(el, dim):
    """(exterior ring element, [interior ring elements], dim) for every polygon of a surface."""
    dim = srs_dimension(el, dim)
    loc = local(el)
    if loc in ("Polygon", "PolygonPatch"):
        ext = child(el, GML, "exterior")
        if ext is None or not len(ext):
            raise Uninterpretable("gml:%s without exterior" % loc)
        return [(ext[0], [i[0] for i in children(el, GML, "interior") if len(i)], dim)]
    out = []
    if loc == "Surface":
        patches = child(el, GML, "patches")
        for p in (patches if patches is not None else []):
            if isinstance(p.tag, str):
                if not (is_(p, GML, "PolygonPatch") or is_(p, GML, "Polygon")):
                    raise Uninterpretable("surface patch gml:%s not supported" % local(p))
                out.extend(surface_polygons(p, dim))
        return out
    for m in el:
        if is_(m, GML, "surfaceMember") or is_(m, GML, "surfaceMembers") or is_(m, GML, "baseSurface"):
            if m.get(XLINK_HREF):
                raise Uninterpretable("surfaceMember by reference (%s) not supported" % m.get(XLINK_HREF))
            for s in m:
                if isinstance(s.tag, str):
                    out.extend(surface_polygons(s, dim))
    return out


def feature_geometries(feature):
    """Outermost GML geometry elements of a feature (surfaces are not searched inside)."""
    found = []

    def walk(el):
        for c in el:
            ns, loc = split(c.tag)
            if ns in GML and (loc in SURFACES or loc in OTHER_GEOMETRY):
                found.append(c)
            else:
                walk(c)

    walk(feature)
    return found


def feature_area(feature):
    """Exact/chord areas of a feature: Σ over its polygons of |exterior| − Σ|interior|.
    Ring orientation is not trusted (absolute values per ring)."""
    geoms = feature_geometries(feature)
    surfaces = [g for g in geoms if local(g) in SURFACES]
    res = {"geometry": [local(g) for g in geoms],
           "srs_name": next((g.get("srsName") for g in geoms if g.get("srsName")), None),
           "exact_area": None, "chord_area": None, "arc_endpoint_polygon_area": None,
           "polygons": 0, "interior_rings": 0, "arcs": [], "max_ring_gap": None}
    if not surfaces:
        return res
    exact = chord = endpoint = 0.0
    gaps = []
    for s in surfaces:
        # NAS 7.1 writes posList without srsDimension: 2D is the default for 2D CRSs.
        for ext, ints, dim in surface_polygons(s, 2):
            res["polygons"] += 1
            res["interior_rings"] += len(ints)
            for k, ring in enumerate([ext] + ints):
                e, c, p, arcs, gap = ring_areas(ring, dim)
                sign = 1.0 if k == 0 else -1.0
                exact += sign * abs(e)
                chord += sign * abs(c)
                endpoint += sign * abs(p)
                res["arcs"].extend(arcs)
                gaps.append(gap)
    res.update(exact_area=exact, chord_area=chord, arc_endpoint_polygon_area=endpoint,
               max_ring_gap=max(gaps))
    return res


def cmd_arcs(paths):
    out = []
    for path in paths:
        for f in features_of(load(path)):
            rec = {"gml_id": gml_id(f), "type": local(f), "namespace": split(f.tag)[0], "file": path}
            rec.update(feature_area(f))
            rec["arc_count"] = len(rec["arcs"])
            out.append(rec)
    return {"features": out}


# === points (WFS page) ==========================================================================

# CRSs whose easting carries the UTM zone number in front (EPSG:4647 = ETRS89 / UTM 32N (zE-N),
# Esri's code 102329 for the same thing). In them an easting is ≥ 10 000 000 while any northing
# in Germany is below that, so the order the server wrote can be read off each point. EPSG
# defines easting-first for 4647, but geo.essen.de writes northing first.
ZONE_PREFIXED = ("4647", "102329")


def cmd_points(paths):
    feats_all, pts_written, crs_all = [], [], []
    attr_check = {"X_equals_northing": 0, "X_equals_northing_exactly": 0, "Y_equals_easting": 0}
    orders = set()
    points = []
    for path in paths:
        for f in features_of(load(path)):
            feats_all.append(local(f))
            pt = next((e for e in f.iter() if is_(e, GML, "Point")), None)
            if pt is None:
                raise Uninterpretable("%s: feature %s has no gml:Point" % (path, gml_id(f)))
            srs = pt.get("srsName")
            crs_all.append(srs)
            p = points_in(pt, None)
            if len(p) != 1:
                raise Uninterpretable("gml:Point with %d positions" % len(p))
            a, b = p[0][0], p[0][1]
            pts_written.append([a, b])
            code = (srs or "").rstrip("/").split(":")[-1].split("/")[-1]
            if code in ZONE_PREFIXED and (a >= 1e7) != (b >= 1e7):
                order = "easting,northing" if a >= 1e7 else "northing,easting"
            else:
                order = "as written"
            orders.add(order)
            e, n = (b, a) if order == "northing,easting" else (a, b)
            points.append([e, n])
            # The feature's own X/Y attributes (names swapped by the server, see PROVENANCE)
            # (compared within 1 µm: the server prints IEEE-754 artefacts such as
            # "5701482.515000001" in gml:pos where the attribute says 5701482.515).
            attrs = {local(c): text_of(c) for c in f}
            ax, ay = float_or_none(attrs.get("X")), float_or_none(attrs.get("Y"))
            if ax is not None and abs(ax - n) <= 1e-6:
                attr_check["X_equals_northing"] += 1
            if ax is not None and ax == n:
                attr_check["X_equals_northing_exactly"] += 1
            if ay is not None and abs(ay - e) <= 1e-6:
                attr_check["Y_equals_easting"] += 1
    if len(orders) > 1:
        raise Uninterpretable("points written in mixed axis orders: %s" % sorted(orders))
    crs_set = sorted(set(c for c in crs_all if c is not None))
    types = sorted(set(feats_all))
    return {
        "crs": crs_set[0] if len(crs_set) == 1 else crs_set,
        # x = easting, y = northing (swapped back if the file wrote northing first)
        "points": points,
        "count": len(points),
        "feature_type": types[0] if len(types) == 1 else types,
        "axis_order_as_written": orders.pop() if orders else None,
        "pos_as_written": pts_written,
        "attribute_check": attr_check,
    }


# === flurstueck =================================================================================

def cmd_flurstueck(paths):
    out = []
    for path in paths:
        for f in features_of(load(path)):
            if local(f) != "AX_Flurstueck":
                continue
            ns = {split(f.tag)[0]}  # NAS 6.0 default namespace or NAS 7.1 `adv:`; look up in the feature's own

            def path_el(*names, base=f):
                el = base
                for n in names:
                    el = child(el, ns, n)
                    if el is None:
                        return None
                return el

            def path_text(*names, base=f):
                return text_of(path_el(*names, base=base))

            kz = path_el("flurstueckskennzeichen")
            af = path_el("amtlicheFlaeche")
            rec = {
                "gml_id": gml_id(f),
                # exact text: the 20-character key is right-padded with '_' and must stay so
                "flurstueckskennzeichen": kz.text if kz is not None else None,
                # land of the Gemarkung key (the one inside the Kennzeichen), not of gemeindezugehoerigkeit
                "land": path_text("gemarkung", "AX_Gemarkung_Schluessel", "land"),
                "gemarkungsnummer": path_text("gemarkung", "AX_Gemarkung_Schluessel", "gemarkungsnummer"),
                "flurnummer": path_text("flurnummer"),
                "zaehler": path_text("flurstuecksnummer", "AX_Flurstuecksnummer", "zaehler"),
                "nenner": path_text("flurstuecksnummer", "AX_Flurstuecksnummer", "nenner"),
                "amtlicheFlaeche": float_or_none(text_of(af)),
                "amtlicheFlaeche_text": text_of(af),
                "amtlicheFlaeche_uom": af.get("uom") if af is not None else None,
                "gemeindezugehoerigkeit": {k: path_text("gemeindezugehoerigkeit", "AX_Gemeindekennzeichen", k)
                                           for k in ("land", "regierungsbezirk", "kreis", "gemeinde")},
                "file": path,
            }
            # Rebuild the key from its parts (land 2, Gemarkung 4, Flur 3, Zähler 5, Nenner 4,
            # Folge 2; missing parts are '_'): a cross-check that the parts were read right.
            def pad(v, n):
                return v.zfill(n) if v else "_" * n
            rec["kennzeichen_from_parts"] = (pad(rec["land"], 2) + pad(rec["gemarkungsnummer"], 4)
                                             + pad(rec["flurnummer"], 3) + pad(rec["zaehler"], 5)
                                             + pad(rec["nenner"], 4) + "__")
            rec["kennzeichen_matches_parts"] = rec["kennzeichen_from_parts"] == rec["flurstueckskennzeichen"]
            geo = feature_area(f)
            rec["geometry_exact_area"] = geo["exact_area"]
            rec["geometry_chord_area"] = geo["chord_area"]
            rec["geometry_polygons"] = geo["polygons"]
            out.append(rec)
    return out


COMMANDS = {"lod2": cmd_lod2, "arcs": cmd_arcs, "points": cmd_points, "flurstueck": cmd_flurstueck}


def main(argv):
    if len(argv) < 3 or argv[1] not in COMMANDS:
        sys.stderr.write(__doc__)
        return 1
    try:
        result = COMMANDS[argv[1]](argv[2:])
    except Refused as e:
        sys.stderr.write("refused: %s\n" % e)
        return 2
    except Uninterpretable as e:
        sys.stderr.write("cannot interpret: %s\n" % e)
        return 3
    except OSError as e:
        sys.stderr.write("%s\n" % e)
        return 1
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
