"""A larger OSM extract from a small one, for benchmarks that ask how something grows with the
network: K x K copies of the extract side by side (each shifted by the extract's width and
height, ids offset per copy), written as one PBF. The copies do not touch, so each is its own
town; the walking network, the addresses and the basemap grow K² times.

  tile_osm.py IN.osm.pbf K OUT.osm.pbf
"""
import sys

import osmium

OFFSET = 10_000_000_000


class Bounds(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.box = [180.0, 90.0, -180.0, -90.0]

    def node(self, n):
        if n.location.valid():
            b = self.box
            b[0], b[1] = min(b[0], n.location.lon), min(b[1], n.location.lat)
            b[2], b[3] = max(b[2], n.location.lon), max(b[3], n.location.lat)


class Copy(osmium.SimpleHandler):
    def __init__(self, writer, kind, copy, dx, dy):
        super().__init__()
        self.writer, self.kind, self.off, self.dx, self.dy = writer, kind, copy * OFFSET, dx, dy

    def node(self, n):
        if self.kind == "n" and n.location.valid():
            loc = osmium.osm.Location(n.location.lon + self.dx, n.location.lat + self.dy)
            self.writer.add_node(n.replace(id=n.id + self.off, location=loc))

    def way(self, w):
        if self.kind == "w":
            self.writer.add_way(w.replace(id=w.id + self.off,
                                          nodes=[r.ref + self.off for r in w.nodes]))

    def relation(self, r):
        if self.kind == "r":
            members = [(m.type, m.ref + self.off, m.role) for m in r.members]
            self.writer.add_relation(r.replace(id=r.id + self.off, members=members))


def main():
    source, k, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    bounds = Bounds()
    bounds.apply_file(source)
    w, s, e, n = bounds.box
    writer = osmium.SimpleWriter(target)
    try:
        for kind in "nwr":
            for i in range(k):
                for j in range(k):
                    Copy(writer, kind, i * k + j, i * (e - w) * 1.02, j * (n - s) * 1.02).apply_file(source)
    finally:
        writer.close()


if __name__ == "__main__":
    main()
