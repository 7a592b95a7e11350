"""Uses the Python client that openapi-python-client generated from openapi/openapi.json
(package `kreisgeo_client` on sys.path) against a running kreisgeo: lists the collections,
pages the items of one with a bbox by following `next`, asks /nearest and /at. Prints one JSON
line of what it saw; the Rust test (tests/contract.rs) checks it against the server's own
answers. Usage: generated_client.py BASE_URL AED_COLLECTION SOLAR_COLLECTION LON,LAT"""

import json
import sys
from urllib.parse import parse_qs, urlparse

from kreisgeo_client import Client
from kreisgeo_client.api.capabilities import get_collections
from kreisgeo_client.api.citizens import get_at, get_nearest
from kreisgeo_client.api.data import get_items
from kreisgeo_client.models import ErrorBody, FeatureCollectionDoc

base, aed, solar, point = sys.argv[1:5]
client = Client(base_url=base, raise_on_unexpected_status=True)

collections = get_collections.sync(client=client)
ids = [c.id for c in collections.collections]

# Every page of the AEDs in a box around Köln's centre, following `next` with its cursor.
bbox = [6.90, 50.90, 7.00, 50.97]
features, pages, cursor = [], 0, None
while True:
    kwargs = {"limit": 7, "bbox": bbox}
    if cursor:
        kwargs["cursor"] = cursor
    page = get_items.sync(aed, client=client, **kwargs)
    if isinstance(page, ErrorBody):
        sys.exit(f"items: {page.status} {page.description}")
    assert isinstance(page, FeatureCollectionDoc), type(page)
    pages += 1
    features += [f.id for f in page.features]
    nxt = [l.href for l in page.links if l.rel == "next"]
    if not nxt:
        break
    cursor = parse_qs(urlparse(nxt[0]).query)["cursor"][0]

nearest = get_nearest.sync(aed, client=client, point="6.96,50.94", limit=3)
if isinstance(nearest, ErrorBody):
    sys.exit(f"nearest: {nearest.status} {nearest.description}")
at = get_at.sync(solar, client=client, point=point)
if isinstance(at, ErrorBody):
    sys.exit(f"at: {at.status} {at.description}")

print(json.dumps({
    "collections": ids,
    "bbox_features": features,
    "bbox_pages": pages,
    "nearest": [f.id for f in nearest.features],
    "at": [f.id for f in at.features],
}))
