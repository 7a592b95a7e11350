"""Validates RDF documents against the DCAT-AP.de SHACL shapes with pyshacl.

usage: shacl.py SHAPES_DIR (DOCUMENT FORMAT)...

DOCUMENT is a file or an http URL, FORMAT an rdflib format name (turtle, xml, json-ld). The
shapes graph is the union of every .ttl and .rdf file in SHAPES_DIR (the official shapes and
the validator's vocabulary mirrors, as ../shared/dcat-ap-de-shapes/README.md says).

Prints every violation as `VIOLATION document focus path: message`, then per document
`ok|FAILED document triples=N datasets=N downloads=N violations=N warnings=N`; exits 0 only when no
document has a violation.
"""
import sys
from pathlib import Path

from pyshacl import validate
from rdflib import Graph
from rdflib.namespace import DCAT, RDF, SH

shapes_dir, *pairs = sys.argv[1:]
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
        data, shacl_graph=shapes, ont_graph=shapes, inference="none", advanced=True
    )
    counts = {SH.Violation: 0, SH.Warning: 0}
    for result, severity in report.subject_objects(SH.resultSeverity):
        counts[severity] = counts.get(severity, 0) + 1
        if severity == SH.Violation:
            focus = report.value(result, SH.focusNode)
            path = report.value(result, SH.resultPath)
            message = report.value(result, SH.resultMessage)
            print(f"VIOLATION {document} {focus} {path}: {message}")
    datasets = len(set(data.subjects(RDF.type, DCAT.Dataset)))
    downloads = len(set(data.objects(None, DCAT.downloadURL)))
    violations = counts[SH.Violation]
    failed |= violations > 0 or len(data) == 0
    status = "ok" if violations == 0 and len(data) > 0 else "FAILED"
    print(
        f"{status} {document} triples={len(data)} datasets={datasets} downloads={downloads} "
        f"violations={violations} warnings={counts[SH.Warning]}"
    )
sys.exit(1 if failed else 0)
