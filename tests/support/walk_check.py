"""An independent walking graph of an OSM PBF extract, for the walking-route tests.

Reads the PBF with pyosmium (libosmium), keeps the ways a pedestrian may use by the rule
kreisgeo documents (written anew here), links consecutive nodes with their great-circle
lengths (haversine, mean Earth radius; within 0.5 % of the ellipsoid) and answers with
networkx's Dijkstra.

  walk_check.py nodes PBF COUNT           COUNT node ids of the largest connected piece,
                                          spread over it, with lon/lat: [[id, lon, lat], ...]
  walk_check.py dist PBF START TARGET...  {"TARGET": metres or null, ...} from node START
  walk_check.py multi PBF S1,S2,... TARGET...
                                          {"TARGET": metres or null, ...} from the nearest of
                                          the nodes S1, S2, ... (multi-source Dijkstra)
"""
import json
import math
import sys

import networkx
import osmium

ALWAYS = {"footway", "path", "pedestrian", "steps", "track", "residential", "service",
          "living_street", "unclassified", "road", "corridor"}
WITH_SIDEWALK = {"primary", "primary_link", "secondary", "secondary_link", "tertiary",
                 "tertiary_link", "cycleway", "bridleway"}
NEVER = {"motorway", "motorway_link", "trunk", "trunk_link"}


def walkable(tags):
    highway = tags.get("highway")
    if not highway:
        return False
    foot = tags.get("foot")
    if foot == "no" or highway in NEVER or tags.get("motorroad") in ("yes", "true", "1"):
        return False
    foot_allowed = foot in ("yes", "designated", "permissive", "official")
    if tags.get("access") in ("no", "private") and not foot_allowed:
        return False
    if highway in ALWAYS:
        return True
    sidewalk = any(tags.get(k) not in (None, "", "no", "none", "separate")
                   for k in ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right"))
    return highway in WITH_SIDEWALK and (foot_allowed or sidewalk)


def haversine(a, b):
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


class Ways(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.graph = networkx.Graph()
        self.where = {}

    def way(self, w):
        if not walkable({t.k: t.v for t in w.tags}):
            return
        previous = None
        for n in w.nodes:
            if not n.location.valid():
                previous = None
                continue
            here = (n.location.lon, n.location.lat)
            self.where[n.ref] = here
            if previous is not None and previous[0] != n.ref:
                length = haversine(previous[1], here)
                old = self.graph.get_edge_data(previous[0], n.ref)
                if old is None or old["length"] > length:
                    self.graph.add_edge(previous[0], n.ref, length=length)
            previous = (n.ref, here)


def main():
    command, pbf = sys.argv[1], sys.argv[2]
    ways = Ways()
    ways.apply_file(pbf, locations=True)
    if command == "nodes":
        count = int(sys.argv[3])
        piece = sorted(max(networkx.connected_components(ways.graph), key=len))
        step = max(1, len(piece) // count)
        chosen = piece[::step][:count]
        print(json.dumps([[n, *ways.where[n]] for n in chosen]))
    elif command == "dist":
        start = int(sys.argv[3])
        lengths = networkx.single_source_dijkstra_path_length(ways.graph, start, weight="length")
        print(json.dumps({t: lengths.get(int(t)) for t in sys.argv[4:]}))
    elif command == "multi":
        sources = {int(s) for s in sys.argv[3].split(",") if s}
        lengths = networkx.multi_source_dijkstra_path_length(ways.graph, sources, weight="length")
        print(json.dumps({t: lengths.get(int(t)) for t in sys.argv[4:]}))


if __name__ == "__main__":
    main()
