"""Validates an RDF document against the DCAT-AP.de SHACL shapes with pyshacl.

usage: shacl.py SHAPES_DIR DATA_FILE FORMAT

The shapes graph is the union of every .ttl and .rdf file in SHAPES_DIR (the official shapes and
the validator's vocabulary mirrors, as ../shared/dcat-ap-de-shapes/README.md says). Prints one
line per violation and then `violations: N`; exits 0 only when N is 0.
"""
import sys
from pathlib import Path

from pyshacl import validate
from rdflib import Graph
from rdflib.namespace import SH

shapes_dir, data_file, data_format = sys.argv[1:4]
shapes = Graph()
for f in sorted(Path(shapes_dir).iterdir()):
    if f.suffix == ".ttl":
        shapes.parse(f, format="turtle")
    elif f.suffix == ".rdf":
        shapes.parse(f, format="xml")
data = Graph().parse(data_file, format=data_format)
conforms, report, _ = validate(
    data, shacl_graph=shapes, ont_graph=shapes, inference="none", advanced=True
)
violations = 0
for result in report.subjects(SH.resultSeverity, SH.Violation):
    violations += 1
    focus = report.value(result, SH.focusNode)
    path = report.value(result, SH.resultPath)
    message = report.value(result, SH.resultMessage)
    print(f"{focus} {path}: {message}")
print(f"triples: {len(data)}")
print(f"violations: {violations}")
sys.exit(0 if violations == 0 else 1)
