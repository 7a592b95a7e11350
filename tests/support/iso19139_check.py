#!/usr/bin/env python3
"""Validate an ISO 19139 (gmd:MD_Metadata) XML file against the ISO 19139 XSDs, fully offline.

Usage: validate.py RECORD.xml [--xsd-dir DIR]

Schemas: the ISO 19139 (gmd/gco/gmx/gts/gsr/gss) + GML 3.2 + xlink XSDs bundled in the PyPI
package `bas-metadata-library` (bas_metadata_library/schemas/xsd/), whose schemaLocations are
already relative. The package is located WITHOUT importing it (its __init__ needs jsonschema etc.),
so `pip install --no-deps bas-metadata-library==0.15.1 lxml` is sufficient.
Override the schema directory with --xsd-dir or the env var ISO19139_XSD_DIR.

Offline guarantees:
  * every parser is created with no_network=True, no DTD loading, no entity resolution;
  * a resolver maps well-known http(s) locations of the ISO 19139 / GML / xlink / xml schemas
    onto the local copies and REFUSES any other non-file URL (raises instead of fetching);
  * xsi:schemaLocation / xsi:noNamespaceSchemaLocation are removed from the instance before
    validation so libxml2 cannot try to load schemas named by the document itself.

A service record (srv:SV_ServiceIdentification, ISO 19119) is validated against the same schemas
plus the srv schemas bundled in the PyPI package `pycsw` (its apiso profile, 2006-05-04 release;
located without importing it): srv's own imports of gmd and gco are then already satisfied by the
bas-metadata-library copies, which libxml2 loads first.

Prints 'valid' (exit 0) or one error per line (exit 1). Exit 2 on usage/setup errors.
"""
import argparse
import importlib.util
import os
import sys
from pathlib import Path

from lxml import etree

XSI = "http://www.w3.org/2001/XMLSchema-instance"

# remote prefix -> sub directory of the local xsd dir ('' = xsd dir root, keeps gmd/, gco/, ... layout)
REMOTE_PREFIXES = {
    "http://schemas.opengis.net/iso/19139/20070417/": "",
    "http://schemas.opengis.net/iso/19139/20060504/": "",
    "https://schemas.opengis.net/iso/19139/20070417/": "",
    "http://standards.iso.org/ittf/PubliclyAvailableStandards/ISO_19139_Schemas/": "",
    "https://standards.iso.org/ittf/PubliclyAvailableStandards/ISO_19139_Schemas/": "",
    "http://standards.iso.org/iso/19139/Schemas/": "",
    "https://standards.iso.org/iso/19139/Schemas/": "",
    "http://www.isotc211.org/2005/": "",
    "https://www.isotc211.org/2005/": "",
    "http://schemas.opengis.net/gml/3.2.1/": "gml/",
    "https://schemas.opengis.net/gml/3.2.1/": "gml/",
    "http://schemas.opengis.net/xlink/1.0.0/": "xlink/",
    "https://schemas.opengis.net/xlink/1.0.0/": "xlink/",
    "http://www.w3.org/1999/xlink.xsd": "xlink/xlink.xsd",
    "https://www.w3.org/1999/xlink.xsd": "xlink/xlink.xsd",
    "http://www.w3.org/2001/xml.xsd": "xml/xml.xsd",
    "https://www.w3.org/2001/xml.xsd": "xml/xml.xsd",
    "http://www.w3.org/XML/1998/namespace": "xml/xml.xsd",
}


def default_xsd_dir() -> Path:
    env = os.environ.get("ISO19139_XSD_DIR")
    if env:
        return Path(env)
    # find_spec on a top-level package does not execute its __init__.py
    spec = importlib.util.find_spec("bas_metadata_library")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("bas_metadata_library not installed (pip install --no-deps bas-metadata-library==0.15.1)")
    return Path(list(spec.submodule_search_locations)[0]) / "schemas" / "xsd"


class OfflineResolver(etree.Resolver):
    def __init__(self, xsd_dir: Path):
        super().__init__()
        self.xsd_dir = xsd_dir

    def resolve(self, url, public_id, context):
        if url is None or "://" not in url or url.startswith("file:"):
            return None  # local path: default loader (no network involved)
        for prefix, sub in REMOTE_PREFIXES.items():
            if url.startswith(prefix):
                rest = url[len(prefix):]
                local = self.xsd_dir / (sub if sub.endswith(".xsd") else sub + rest)
                if local.is_file():
                    return self.resolve_filename(str(local), context)
        raise etree.XMLSchemaParseError(f"refusing to fetch remote resource {url} (no local mapping)")


def srv_xsd() -> Path:
    spec = importlib.util.find_spec("pycsw")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pycsw not installed (pip install --no-deps pycsw==2.6.2)")
    return (Path(list(spec.submodule_search_locations)[0]) / "plugins" / "profiles" / "apiso"
            / "schemas" / "ogc" / "iso" / "19139" / "20060504" / "srv" / "srv.xsd")


def make_parser(xsd_dir: Path) -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False, huge_tree=False)
    parser.resolvers.add(OfflineResolver(xsd_dir))
    return parser


def load_schema(xsd_dir: Path, service: bool) -> etree.XMLSchema:
    gmd = xsd_dir / "gmd" / "gmd.xsd"  # bundled gmd.xsd also imports gmx (gmx:Anchor)
    if not gmd.is_file():
        raise SystemExit(f"gmd.xsd not found at {gmd}")
    if not service:
        return etree.XMLSchema(etree.parse(str(gmd), make_parser(xsd_dir)))
    srv = srv_xsd()
    if not srv.is_file():
        raise SystemExit(f"srv.xsd not found at {srv}")
    wrapper = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.isotc211.org/2005/gmd" schemaLocation="{gmd.as_uri()}"/>
  <xs:import namespace="http://www.isotc211.org/2005/gmx" schemaLocation="{(xsd_dir / 'gmx' / 'gmx.xsd').as_uri()}"/>
  <xs:import namespace="http://www.isotc211.org/2005/srv" schemaLocation="{srv.as_uri()}"/>
</xs:schema>"""
    doc = etree.fromstring(wrapper.encode(), make_parser(xsd_dir), base_url=str(xsd_dir / "wrapper.xsd"))
    return etree.XMLSchema(etree.ElementTree(doc))


def validate(xml_path: str, xsd_dir: Path) -> list:
    try:
        doc = etree.parse(xml_path, make_parser(xsd_dir))
    except etree.XMLSyntaxError as e:
        return [f"XML syntax error: {e}"]
    root = doc.getroot()
    service = root.find(".//{http://www.isotc211.org/2005/srv}SV_ServiceIdentification") is not None
    schema = load_schema(xsd_dir, service)
    for attr in (f"{{{XSI}}}schemaLocation", f"{{{XSI}}}noNamespaceSchemaLocation"):
        root.attrib.pop(attr, None)
    errors = []
    if root.tag != "{http://www.isotc211.org/2005/gmd}MD_Metadata":
        errors.append(f"root element is {root.tag}, expected gmd:MD_Metadata")
    if not schema.validate(doc):
        errors.extend(f"line {e.line}: {e.message}" for e in schema.error_log)
    return errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("xml")
    ap.add_argument("--xsd-dir", type=Path, default=None)
    args = ap.parse_args()
    try:
        errors = validate(args.xml, args.xsd_dir or default_xsd_dir())
    except (etree.XMLSchemaParseError, OSError) as e:
        print(f"setup error: {e}", file=sys.stderr)
        return 2
    if errors:
        print("\n".join(errors))
        return 1
    print("valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
