"""pygeoapi serving one GeoJSON file as the OGC API Features collection `defis`, on a free
loopback port: a foreign OGC API server for the harvest tests (issue 22). Prints the port on
its first line, then serves until killed.

Usage: pygeoapi_serve.py FILE.geojson WORKDIR
"""

import os
import socket
import sys

data, work = sys.argv[1], sys.argv[2]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]

config = f"""
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [de-DE]
  limits: {{default_items: 10, max_items: 50}}
  map:
    url: "http://127.0.0.1/{{z}}/{{x}}/{{y}}.png"
    attribution: none
logging: {{level: ERROR}}
metadata:
  identification:
    title: Nachbarkreis
    description: Defibrillatoren des Nachbarkreises
    keywords: [aed]
    keywords_type: theme
    terms_of_service: http://127.0.0.1/
    url: http://127.0.0.1/
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: Nachbarkreis, url: "http://127.0.0.1/"}}
  contact: {{name: GIS, position: GIS, address: x, city: x, stateorprovince: x, postalcode: x,
            country: DE, phone: x, fax: x, email: gis@example.org, url: "http://127.0.0.1/",
            hours: x, instructions: x, role: pointOfContact}}
resources:
  defis:
    type: collection
    title: Defibrillatoren
    description: Defibrillatoren des Nachbarkreises
    keywords: [aed]
    extents:
      spatial: {{bbox: [5, 45, 16, 55], crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    providers:
      - type: feature
        name: GeoJSON
        data: {data}
        id_field: id
"""
os.makedirs(work, exist_ok=True)
config_path = os.path.join(work, "pygeoapi.yml")
openapi_path = os.path.join(work, "openapi.yml")
with open(config_path, "w") as f:
    f.write(config)
os.environ["PYGEOAPI_CONFIG"] = config_path
os.environ["PYGEOAPI_OPENAPI"] = openapi_path

import yaml  # noqa: E402
from pygeoapi.openapi import get_oas  # noqa: E402
from pygeoapi.util import yaml_load  # noqa: E402

with open(config_path) as f:
    oas = get_oas(yaml_load(f))
with open(openapi_path, "w") as f:
    yaml.safe_dump(oas, f, sort_keys=False)

from wsgiref.simple_server import WSGIRequestHandler, make_server  # noqa: E402

from pygeoapi.flask_app import APP  # noqa: E402


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


server = make_server("127.0.0.1", port, APP, handler_class=Quiet)
print(port, flush=True)
server.serve_forever()
