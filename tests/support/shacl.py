"""Validates RDF documents against the DCAT-AP.de SHACL shapes with pyshacl, and harvests
their downloads as a harvester would.

usage: shacl.py [--rdfs] SHAPES_DIR (DOCUMENT FORMAT)...

--rdfs validates with RDFS entailment (every IRI an rdfs:Resource): the DCAT-AP HVD shapes
require it, as the EU's validator applies it.

DOCUMENT is a file or an http URL, FORMAT an rdflib format name (turtle, xml, json-ld). The
shapes graph is the union of every .ttl and .rdf file in SHAPES_DIR (the official shapes and
the validator's vocabulary mirrors, as ../shared/dcat-ap-de-shapes/README.md says).

Every distribution with a dcat:downloadURL is downloaded: its length must be its dcat:byteSize,
its SHA-256 its spdx:checksumValue, and the features in it (read as GeoJSON, CSV, GeoPackage or
from the FlatGeobuf header) the dataset's numberMatched in the OGC API.

Prints every violation as `VIOLATION document focus path: message` and every wrong download as
`BAD-DOWNLOAD url: why`, then per document
`ok|FAILED document triples=N datasets=N downloads=N violations=N warnings=N`; exits 0 only when no
document has a violation or a wrong download.
"""
import csv
import hashlib
import io
import json
import sqlite3
import struct
import tempfile
import urllib.request
import sys
from pathlib import Path

from pyshacl import validate
from rdflib import Graph
from rdflib.namespace import DCAT, RDF, SH, Namespace

SPDX = Namespace("http://spdx.org/rdf/terms#")


def flatgeobuf_count(body):
    """features_count from a FlatGeobuf header (a FlatBuffers table, field 8)."""
    assert body[:3] == b"fgb", "not FlatGeobuf"
    header = body[12:12 + struct.unpack_from("<I", body, 8)[0]]
    table = struct.unpack_from("<I", header, 0)[0]
    vtable = table - struct.unpack_from("<i", header, table)[0]
    vtable_size = struct.unpack_from("<H", header, vtable)[0]
    slot = 4 + 2 * 8
    if slot >= vtable_size:
        return 0
    offset = struct.unpack_from("<H", header, vtable + slot)[0]
    return struct.unpack_from("<Q", header, table + offset)[0] if offset else 0


def features_in(media_type, body):
    if media_type.endswith("geo+json"):
        return len(json.loads(body)["features"])
    if media_type.endswith("text/csv"):
        return sum(1 for _ in csv.DictReader(io.StringIO(body.decode("utf-8"))))
    if media_type.endswith("flatgeobuf"):
        return flatgeobuf_count(body)
    if media_type.endswith("geopackage+sqlite3"):
        with tempfile.NamedTemporaryFile(suffix=".gpkg") as f:
            f.write(body)
            f.flush()
            db = sqlite3.connect(f.name)
            (table,) = db.execute("SELECT table_name FROM gpkg_contents").fetchone()
            (n,) = db.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            db.close()
            return n
    raise ValueError(f"unknown media type {media_type}")


def check_downloads(data):
    """Downloads every distribution; returns the problems."""
    problems = []
    matched = {}
    for dataset, distribution in data.subject_objects(DCAT.distribution):
        url = data.value(distribution, DCAT.downloadURL)
        if url is None:
            continue
        body = urllib.request.urlopen(str(url)).read()
        size = int(data.value(distribution, DCAT.byteSize))
        checksum = data.value(data.value(distribution, SPDX.checksum), SPDX.checksumValue)
        if len(body) != size:
            problems.append(f"{url}: {len(body)} bytes, the catalog says {size}")
        if hashlib.sha256(body).hexdigest() != str(checksum):
            problems.append(f"{url}: SHA-256 differs from the catalog's")
        landing = str(data.value(dataset, DCAT.landingPage))
        if landing not in matched:
            page = json.loads(urllib.request.urlopen(f"{landing}/items?limit=1").read())
            matched[landing] = page["numberMatched"]
        media = str(data.value(distribution, DCAT.mediaType))
        n = features_in(media, body)
        if n != matched[landing]:
            problems.append(f"{url}: {n} features, the collection has {matched[landing]}")
    return problems

args = sys.argv[1:]
inference = "none"
if args[:1] == ["--rdfs"]:
    inference, args = "rdfs", args[1:]
shapes_dir, *pairs = args
if not pairs or len(pairs) % 2:
    sys.exit(__doc__)
shapes = Graph()
for f in sorted(Path(shapes_dir).iterdir()):
    if f.suffix == ".ttl":
        shapes.parse(f, format="turtle")
    elif f.suffix == ".rdf":
        shapes.parse(f, format="xml")

failed = False
for document, data_format in zip(pairs[::2], pairs[1::2]):
    data = Graph().parse(document, format=data_format)
    _, report, _ = validate(
        data, shacl_graph=shapes, ont_graph=shapes, inference=inference, advanced=True
    )
    counts = {SH.Violation: 0, SH.Warning: 0}
    for result, severity in report.subject_objects(SH.resultSeverity):
        counts[severity] = counts.get(severity, 0) + 1
        if severity == SH.Violation:
            focus = report.value(result, SH.focusNode)
            path = report.value(result, SH.resultPath)
            message = report.value(result, SH.resultMessage)
            print(f"VIOLATION {document} {focus} {path}: {message}")
    bad = check_downloads(data)
    for problem in bad:
        print(f"BAD-DOWNLOAD {problem}")
    datasets = len(set(data.subjects(RDF.type, DCAT.Dataset)))
    downloads = len(set(data.objects(None, DCAT.downloadURL)))
    violations = counts[SH.Violation]
    ok = violations == 0 and not bad and len(data) > 0
    failed |= not ok
    status = "ok" if ok else "FAILED"
    print(
        f"{status} {document} triples={len(data)} datasets={datasets} downloads={downloads} "
        f"violations={violations} warnings={counts[SH.Warning]}"
    )
sys.exit(1 if failed else 0)
