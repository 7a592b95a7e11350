//! Vector tiles through HTTP, decoded as MVT.

use geozero::mvt::{Message, Tile};

use crate::common::{app, get, TestDb};
use kreisgeo::catalog::DatasetKind;

/// The WebMercatorQuad tile (z, y, x) holding lon/lat.
fn tile_of(lon: f64, lat: f64, z: u8) -> (u8, u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
    (z, y, x)
}

/// WebMercatorQuad tiles of the parcel fixture: z12 (capped when a test sets a small cap), z14
/// and z16 in its densest part.
fn parcel_tile_uris() -> Vec<String> {
    [
        (12, 10.41, 53.25),
        (14, 10.4093, 53.2488),
        (16, 10.4093, 53.2488),
    ]
    .into_iter()
    .map(|(z, lon, lat)| {
        let (z, y, x) = tile_of(lon, lat, z);
        format!("/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}")
    })
    .collect()
}

#[actix_web::test]
async fn tile_decodes_as_mvt_with_the_collection_layer() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    let (z, y, x) = tile_of(10.4093, 53.2488, 14);
    let uri = format!("/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}");
    let (status, content_type, body) = get(&app, &uri).await;
    assert_eq!(status, 200, "{uri}");
    assert_eq!(content_type, "application/vnd.mapbox-vector-tile");
    let tile = Tile::decode(body.as_slice()).expect("MVT");
    assert_eq!(tile.layers.len(), 1);
    let layer = &tile.layers[0];
    assert_eq!(layer.name, "parcels");
    assert_eq!(layer.extent, Some(4096));
    assert!(!layer.features.is_empty());
    assert!(
        layer.keys.iter().any(|k| k == "flurstueckskennzeichen"),
        "{:?}",
        layer.keys
    );
    assert!(layer
        .features
        .iter()
        .all(|f| f.id.is_some_and(|id| (1..=1000).contains(&id))));
    // Every polygon has geometry commands.
    assert!(layer.features.iter().all(|f| !f.geometry.is_empty()));

    // GDAL's MVT driver reads the tile (z/x/y from its path).
    let dir = crate::common::scratch_root().join(format!("mvt-{}/{z}/{x}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join(format!("{y}.pbf"));
    std::fs::write(&file, &body).expect("write");
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(&file)
        .output()
        .expect("ogrinfo (gdal-bin)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Layer name: parcels")
            && text.contains(&format!("Feature Count: {}", layer.features.len())),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir.parent().expect("z").parent().expect("root"));

    // Counties are large enough to show on the zoom 5 tile of Lower Saxony, without
    // attributes (they start at zoom 12); at zoom 0 they are smaller than a pixel.
    db.ingest(
        "kreise_niedersachsen_25832.fgb",
        "kreise",
        DatasetKind::Generic,
    )
    .await;
    let (z, y, x) = tile_of(9.5, 52.8, 5);
    let (status, _, body) = get(
        &app,
        &format!("/collections/kreise/tiles/WebMercatorQuad/{z}/{y}/{x}"),
    )
    .await;
    assert_eq!(status, 200);
    let tile = Tile::decode(body.as_slice()).expect("MVT");
    assert_eq!(tile.layers[0].name, "kreise");
    assert!(
        tile.layers[0].features.len() > 20,
        "{}",
        tile.layers[0].features.len()
    );
    assert!(tile.layers[0].keys.is_empty());
    let (status, _, _) = get(&app, "/collections/kreise/tiles/WebMercatorQuad/0/0/0").await;
    assert_eq!(status, 204);
    let (z, y, x) = tile_of(10.41, 53.25, 12);
    let (_, _, body) = get(
        &app,
        &format!("/collections/kreise/tiles/WebMercatorQuad/{z}/{y}/{x}"),
    )
    .await;
    let tile = Tile::decode(body.as_slice()).expect("MVT");
    assert!(tile.layers[0].keys.iter().any(|k| k == "AGS"));
}

#[actix_web::test]
async fn empty_and_invalid_tiles() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let app = app(&db).await;
    // The Atlantic: no features.
    let (z, y, x) = tile_of(-30.0, 40.0, 10);
    let (status, _, body) = get(
        &app,
        &format!("/collections/aed/tiles/WebMercatorQuad/{z}/{y}/{x}"),
    )
    .await;
    assert_eq!(status, 204);
    assert!(body.is_empty());

    for (uri, status) in [
        ("/collections/aed/tiles/WebMercatorQuad/2/4/0", 404),
        ("/collections/aed/tiles/WebMercatorQuad/2/0/4", 404),
        ("/collections/aed/tiles/WebMercatorQuad/25/0/0", 404),
        ("/collections/aed/tiles/WebMercatorQuad/z/0/0", 400),
        ("/collections/aed/tiles/WebMercatorQuad/1/-1/0", 400),
        ("/collections/aed/tiles/NoSuchMatrixSet/0/0/0", 404),
        ("/collections/nope/tiles/WebMercatorQuad/0/0/0", 404),
    ] {
        let (got, content_type, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}");
        assert!(content_type.starts_with("application/json"), "{uri}");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON body");
        assert_eq!(body["status"], status);
    }
}

#[actix_web::test]
async fn adv_grid_tiles_hold_the_features_postgis_places_there() {
    use kreisgeo::crs::Point;
    use kreisgeo::tiles::tms::{TileMatrixSet, ADV_25832};
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    let adv = TileMatrixSet::find(ADV_25832).expect("AdV");
    // The AdV tile at level 10 (about 1.2 km) around the first parcel.
    let (x, y): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM data.parcels_v1 WHERE fid = 1) s",
    )
    .fetch_one(&db.pool)
    .await
    .expect("point");
    let t = adv
        .tile_at(Point { x, y, srid: 25832 }, 10)
        .expect("inside the grid");
    let b = adv.bounds(t, 0.0);
    let expected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM data.parcels_v1 WHERE ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 25832))",
    )
    .bind(b.min_x)
    .bind(b.min_y)
    .bind(b.max_x)
    .bind(b.max_y)
    .fetch_one(&db.pool)
    .await
    .expect("count");
    let uri = format!("/collections/parcels/tiles/AdV_25832/10/{}/{}", t.y, t.x);
    let (status, _, body) = get(&app, &uri).await;
    assert_eq!(status, 200, "{uri}");
    let tile = Tile::decode(body.as_slice()).expect("MVT");
    let features = tile.layers[0].features.len() as i64;
    // The buffer adds the neighbours' edges; nothing inside the tile is missing.
    assert!(
        features >= expected && expected > 0,
        "{features} vs {expected}"
    );
    let (status, _, _) = get(&app, "/collections/parcels/tiles/AdV_25832/15/0/0").await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn tiles_are_cached_per_version_and_gzipped_once() {
    use std::io::Read;
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let app = app(&db).await;
    let (z, y, x) = tile_of(10.4093, 53.2488, 13);
    let uri = format!("/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}");
    let (_, first, raw) = crate::common::get_with_headers(&app, &uri, &[]).await;
    assert_eq!(first["x-tile-cache"], "miss");
    let (_, second, again) = crate::common::get_with_headers(&app, &uri, &[]).await;
    assert_eq!(second["x-tile-cache"], "hit");
    assert_eq!(raw, again);
    assert_eq!(first["etag"], second["etag"]);
    // gzip and brotli: the same bytes, each compressed when first asked for, under their own
    // strong ETags.
    let (_, zipped, body) =
        crate::common::get_with_headers(&app, &uri, &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(zipped["content-encoding"], "gzip");
    assert_eq!(zipped["x-tile-cache"], "hit");
    assert_ne!(zipped["etag"], first["etag"]);
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(body.as_slice())
        .read_to_end(&mut unzipped)
        .expect("gzip");
    assert_eq!(unzipped, raw);
    let (_, br, body) =
        crate::common::get_with_headers(&app, &uri, &[("Accept-Encoding", "gzip, deflate, br")])
            .await;
    assert_eq!(br["content-encoding"], "br");
    let mut unbrotli = Vec::new();
    brotli::Decompressor::new(body.as_slice(), 4096)
        .read_to_end(&mut unbrotli)
        .expect("brotli");
    assert_eq!(unbrotli, raw);
    assert!(body.len() < raw.len());
    let (status, _, _) = crate::common::get_with_headers(
        &app,
        &uri,
        &[("Accept-Encoding", "br"), ("If-None-Match", &br["etag"])],
    )
    .await;
    assert_eq!(status, 304);
    let (_, refused, _) =
        crate::common::get_with_headers(&app, &uri, &[("Accept-Encoding", "br;q=0, gzip;q=0")])
            .await;
    assert_eq!(refused["content-encoding"], "identity");
    // A new version is a new key: never the old tile.
    let solar = db
        .ingest(
            "generated/solar_lueneburg_500_25832.geojson",
            "parcels",
            DatasetKind::Solar,
        )
        .await;
    assert_eq!(solar.dataset, "parcels");
    let (status, after, body) = crate::common::get_with_headers(&app, &uri, &[]).await;
    assert_ne!(after.get("etag"), first.get("etag"), "{status}");
    if status == 200 {
        assert_eq!(after["x-tile-cache"], "miss");
        let tile = Tile::decode(body.as_slice()).expect("MVT");
        assert!(tile.layers[0]
            .keys
            .iter()
            .all(|k| k != "flurstueckskennzeichen"));
    }
}

#[actix_web::test]
async fn tileset_metadata_tilejson_and_multi_layer_tiles() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let app = app(&db).await;
    let json = |uri: String| {
        let app = &app;
        async move { crate::common::get_json(app, &uri).await }
    };

    let sets = json("/tileMatrixSets".into()).await;
    let ids: Vec<&str> = sets["tileMatrixSets"]
        .as_array()
        .expect("sets")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["WebMercatorQuad", "AdV_25832"]);
    let adv = json("/tileMatrixSets/AdV_25832".into()).await;
    assert_eq!(adv["crs"], "http://www.opengis.net/def/crs/EPSG/0/25832");
    assert_eq!(adv["tileMatrices"][14]["matrixWidth"], 16384);

    let list = json("/collections/parcels/tiles".into()).await;
    assert_eq!(list["tilesets"].as_array().expect("tilesets").len(), 2);
    let set = json("/collections/parcels/tiles/AdV_25832".into()).await;
    assert_eq!(set["dataType"], "vector");
    assert_eq!(set["layers"][0]["id"], "parcels");
    assert_eq!(
        set["layers"][0]["propertiesSchema"]["properties"]["amtlicheflaeche"]["type"],
        "integer"
    );
    let template = set["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "item")
        .expect("item link")["href"]
        .as_str()
        .expect("href")
        .to_string();
    assert!(
        template.ends_with("/collections/parcels/tiles/AdV_25832/{tileMatrix}/{tileRow}/{tileCol}")
    );

    let tj = json("/collections/parcels/tiles/WebMercatorQuad/tilejson".into()).await;
    assert_eq!(tj["tilejson"], "3.0.0");
    let url = tj["tiles"][0].as_str().expect("template");
    assert!(
        url.ends_with("/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}"),
        "{url}"
    );
    assert_eq!(
        tj["vector_layers"][0]["fields"]["flurstueckskennzeichen"],
        "String"
    );
    let bounds: Vec<f64> = tj["bounds"]
        .as_array()
        .expect("bounds")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    assert!(bounds[0] > 10.0 && bounds[2] < 11.2 && bounds[1] > 53.0 && bounds[3] < 53.5);
    // The template, filled in as MapLibre does, gives the tile.
    let (z, y, x) = tile_of(10.4093, 53.2488, 12);
    let filled = url
        .replace("{z}", &z.to_string())
        .replace("{y}", &y.to_string())
        .replace("{x}", &x.to_string());
    let path = &filled[filled.find("/collections").expect("path")..];
    assert_eq!(get(&app, path).await.0, 200);

    // Dataset tiles: one layer per collection that has features there.
    let dataset = json("/tiles/WebMercatorQuad/tilejson".into()).await;
    assert_eq!(
        dataset["vector_layers"].as_array().expect("layers").len(),
        2
    );
    let (z, y, x) = tile_of(10.4093, 53.2488, 13);
    let (status, _, body) = get(&app, &format!("/tiles/WebMercatorQuad/{z}/{y}/{x}")).await;
    assert_eq!(status, 200);
    let tile = Tile::decode(body.as_slice()).expect("MVT");
    let names: Vec<&str> = tile.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["aed", "parcels"]);
    let (_, _, body) = get(
        &app,
        &format!("/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=aed"),
    )
    .await;
    let tile = Tile::decode(body.as_slice()).expect("MVT");
    assert_eq!(tile.layers.len(), 1);
    assert_eq!(tile.layers[0].name, "aed");
    let (status, _, _) = get(
        &app,
        &format!("/tiles/WebMercatorQuad/{z}/{y}/{x}?collections=nope"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _) = get(&app, "/tiles/WebMercatorQuad/0/0/0").await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&app, "/collections/parcels/tiles/Nope").await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn tile_settings_cap_features_and_choose_attributes() {
    use kreisgeo::catalog::{repo, TileSettings};
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let app = app(&db).await;
    let (z, y, x) = tile_of(10.41, 53.25, 8);
    let uri = format!("/collections/aed/tiles/WebMercatorQuad/{z}/{y}/{x}");
    let layer = |body: Vec<u8>| Tile::decode(body.as_slice()).expect("MVT").layers.remove(0);
    let all = layer(get(&app, &uri).await.2);
    assert!(all.features.len() > 100, "{}", all.features.len());
    assert!(
        all.keys.is_empty(),
        "no attributes below zoom 12: {:?}",
        all.keys
    );

    let settings = TileSettings {
        max_features: Some(50),
        attributes_from_zoom: Some(0),
        attributes: Some(vec!["operator".into()]),
    };
    assert!(repo::set_tile_settings(&db.pool, "aed", &settings)
        .await
        .expect("set"));
    let capped = layer(get(&app, &uri).await.2);
    assert_eq!(capped.features.len(), 50);
    assert!(
        capped.keys.iter().all(|k| k == "operator"),
        "{:?}",
        capped.keys
    );
    // Deterministic: the same 50 each time.
    let ids = |l: &geozero::mvt::tile::Layer| -> Vec<u64> {
        let mut v: Vec<u64> = l.features.iter().filter_map(|f| f.id).collect();
        v.sort_unstable();
        v
    };
    let again = layer(get(&app, &uri).await.2);
    assert_eq!(ids(&again), ids(&capped));
    // Back to the defaults: a new cache key, the full tile again.
    assert!(
        repo::set_tile_settings(&db.pool, "aed", &TileSettings::default())
            .await
            .expect("reset")
    );
    assert_eq!(
        layer(get(&app, &uri).await.2).features.len(),
        all.features.len()
    );
    assert!(!repo::set_tile_settings(&db.pool, "nope", &settings)
        .await
        .expect("none"));
}

#[actix_web::test]
async fn seeding_renders_the_low_zooms_into_the_cache() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/aed_lueneburg_200_25832.geojson",
        "aed",
        DatasetKind::Aed,
    )
    .await;
    let state = db.state();
    let app = actix_web::test::init_service(kreisgeo::api::app(state.clone())).await;
    let collection = kreisgeo::catalog::repo::require_collection(&db.pool, "aed")
        .await
        .expect("collection");
    let seeded = kreisgeo::tiles::seed::seed_collection(&db.pool, &state.tiles, &collection, 9)
        .await
        .expect("seed");
    assert!(seeded >= 10, "{seeded}");
    let (z, y, x) = tile_of(10.41, 53.25, 9);
    let (status, headers, _) = crate::common::get_with_headers(
        &app,
        &format!("/collections/aed/tiles/WebMercatorQuad/{z}/{y}/{x}"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-tile-cache"], "hit");
    let (status, headers, _) = crate::common::get_with_headers(
        &app,
        &format!(
            "/collections/aed/tiles/WebMercatorQuad/{}/{}/{}",
            12, 1315, 2166
        ),
        &[],
    )
    .await;
    assert!(status == 200 || status == 204);
    assert_eq!(headers["x-tile-cache"], "miss", "zoom 12 was not seeded");

    // The AdV grid too, to the same detail (its zoom 4 tiles are 78 km wide, Web Mercator's
    // zoom 9 ones about 47 km at 53° N): the AdV tile over Lüneburg is in the cache.
    let adv = kreisgeo::tiles::tms::TileMatrixSet::find("AdV_25832").expect("AdV");
    let lueneburg = kreisgeo::crs::Point {
        x: 590_000.0,
        y: 5_900_000.0,
        srid: 25832,
    };
    let t = adv.tile_at(lueneburg, 4).expect("inside the grid");
    let (status, headers, _) = crate::common::get_with_headers(
        &app,
        &format!("/collections/aed/tiles/AdV_25832/4/{}/{}", t.y, t.x),
        &[],
    )
    .await;
    assert!(status == 200 || status == 204, "{status}");
    assert_eq!(headers["x-tile-cache"], "hit", "AdV zoom 4 was seeded");
    let deeper = adv.tile_at(lueneburg, 7).expect("inside the grid");
    let (_, headers, _) = crate::common::get_with_headers(
        &app,
        &format!(
            "/collections/aed/tiles/AdV_25832/7/{}/{}",
            deeper.y, deeper.x
        ),
        &[],
    )
    .await;
    assert_eq!(
        headers["x-tile-cache"], "miss",
        "AdV zoom 7 is finer than what was seeded"
    );
}

#[actix_web::test]
async fn stored_tile_sizes_are_postgis_sizes_and_draw_the_same_tiles() {
    let db = TestDb::new().await;
    // A spike that the repair removes moves the bounds: the stored size must follow it.
    let path = std::env::temp_dir().join(format!("kg-sizes-{}.geojson", std::process::id()));
    std::fs::write(
        &path,
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"n":"square","tile_size":"z"},"geometry":{"type":"Polygon","coordinates":[[[10,53],[10.02,53],[10.02,53.01],[10,53.01],[10,53]]]}},
        {"type":"Feature","properties":{"n":"spike","tile_size":"a"},"geometry":{"type":"Polygon","coordinates":[[[10,53],[10.1,53],[10.1,53.1],[10.05,53.1],[10.05,53.4],[10.05,53.1],[10,53.1],[10,53]]]}},
        {"type":"Feature","properties":{"n":"point","tile_size":"m"},"geometry":{"type":"Point","coordinates":[10.2,53.2]}},
        {"type":"Feature","properties":{"n":"none","tile_size":"q"},"geometry":null}]}"#,
    )
    .expect("write");
    let mut request = kreisgeo::ingest::IngestRequest::new(&path, "shapes");
    request.skip_invalid = true;
    let report = db.try_ingest(request).await.expect("ingest");
    assert_eq!(report.repaired, 1, "{:?}", report.problems);
    let table: String = sqlx::query_scalar(
        "SELECT v.table_name FROM catalog.versions v \
         JOIN catalog.datasets d ON d.active_version = v.id WHERE d.id = 'shapes'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("table");
    let sizes: Vec<(String, Option<f64>, Option<f64>)> = sqlx::query_as(&format!(
        "SELECT n, tile_size, greatest(ST_XMax(geom) - ST_XMin(geom), ST_YMax(geom) - ST_YMin(geom)) \
         FROM data.{table} ORDER BY fid"
    ))
    .fetch_all(&db.pool)
    .await
    .expect("sizes");
    for (name, stored, postgis) in &sizes {
        assert_eq!(stored, postgis, "{name}");
    }
    let spike = sizes.iter().find(|(n, ..)| n == "spike").expect("spike");
    assert!(
        (spike.1.expect("size") - 0.1).abs() < 1e-9,
        "repaired: {spike:?}"
    );
    assert_eq!(sizes[2].1, Some(0.0), "a point is sized 0");
    assert_eq!(sizes[3].1, None, "no geometry, no size");
    // An attribute that happens to be called tile_size is served as such, and does not decide
    // which feature a capped tile keeps: the largest does.
    let settings = kreisgeo::catalog::TileSettings {
        max_features: Some(1),
        attributes_from_zoom: Some(0),
        attributes: None,
    };
    assert!(
        kreisgeo::catalog::repo::set_tile_settings(&db.pool, "shapes", &settings)
            .await
            .expect("settings")
    );
    {
        let app = app(&db).await;
        let (z, y, x) = tile_of(10.05, 53.05, 8);
        let (status, _, body) = get(
            &app,
            &format!("/collections/shapes/tiles/WebMercatorQuad/{z}/{y}/{x}"),
        )
        .await;
        assert_eq!(status, 200);
        let layer = Tile::decode(body.as_slice()).expect("MVT").layers.remove(0);
        assert_eq!(layer.features.len(), 1);
        assert_eq!(
            layer.features[0].id,
            Some(2),
            "the repaired spike is the largest"
        );
        assert!(
            layer.keys.iter().any(|k| k == "tile_size"),
            "{:?}",
            layer.keys
        );
        let (_, _, page) = get(&app, "/collections/shapes/items/1").await;
        let page: serde_json::Value = serde_json::from_slice(&page).expect("JSON");
        assert_eq!(page["properties"]["tile_size"], "z");
    }

    // A version loaded before the column existed computes the sizes itself: the same tiles.
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let uris = parcel_tile_uris();
    let mut stored = Vec::new();
    {
        let app = app(&db).await;
        for uri in &uris {
            let (status, _, body) = get(&app, uri).await;
            assert_eq!(status, 200, "{uri}");
            assert!(!Tile::decode(body.as_slice()).expect("MVT").layers[0]
                .features
                .is_empty());
            stored.push(body);
        }
    }
    let parcels: String = sqlx::query_scalar(
        "UPDATE catalog.versions v SET tile_sizes = false FROM catalog.datasets d \
         WHERE d.active_version = v.id AND d.id = 'parcels' RETURNING v.table_name",
    )
    .fetch_one(&db.pool)
    .await
    .expect("older version");
    sqlx::query(&format!("ALTER TABLE data.{parcels} DROP COLUMN tile_size"))
        .execute(&db.pool)
        .await
        .expect("drop column");
    let app = app(&db).await;
    for (uri, stored) in uris.iter().zip(&stored) {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, 200, "{uri}");
        assert_eq!(&body, stored, "{uri}");
    }
}

/// A version's Web Mercator copy draws the same tiles, byte for byte, capped or not, and goes
/// with its version.
#[actix_web::test]
async fn tiles_from_the_web_mercator_copy_are_the_tiles_of_the_version() {
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    // Capped at z12 (the largest 100 of the window), every feature from z14.
    let settings = kreisgeo::catalog::TileSettings {
        max_features: Some(100),
        attributes_from_zoom: None,
        attributes: None,
    };
    assert!(
        kreisgeo::catalog::repo::set_tile_settings(&db.pool, "parcels", &settings)
            .await
            .expect("settings")
    );
    let mut uris = parcel_tile_uris();
    // The AdV tile of level 10 around a parcel: its grid is in the version's CRS, no copy.
    let (x, y): (f64, f64) = sqlx::query_as(&format!(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM data.{} WHERE fid = 1) s",
        db.table_of("parcels").await
    ))
    .fetch_one(&db.pool)
    .await
    .expect("point");
    let adv =
        kreisgeo::tiles::tms::TileMatrixSet::find(kreisgeo::tiles::tms::ADV_25832).expect("AdV");
    let t = adv
        .tile_at(kreisgeo::crs::Point { x, y, srid: 25832 }, 10)
        .expect("inside the grid");
    uris.push(format!(
        "/collections/parcels/tiles/AdV_25832/10/{}/{}",
        t.y, t.x
    ));
    let render = |uris: Vec<String>| {
        let db = &db;
        async move {
            let app = app(db).await;
            let mut tiles = Vec::new();
            for uri in &uris {
                let (status, _, body) = get(&app, uri).await;
                assert_eq!(status, 200, "{uri}");
                tiles.push(body);
            }
            tiles
        }
    };
    let before = render(uris.clone()).await;
    for (uri, body) in uris.iter().zip(&before).take(3) {
        let layer = Tile::decode(body.as_slice()).expect("MVT").layers.remove(0);
        assert!(!layer.features.is_empty(), "{uri}");
        if uri.contains("/12/") {
            assert_eq!(layer.features.len(), 100, "capped: {uri}");
        }
    }

    let mut listener = sqlx::postgres::PgListener::connect_with(&db.pool)
        .await
        .expect("listener");
    listener
        .listen(kreisgeo::catalog::cache::CHANNEL)
        .await
        .expect("listen");
    let mut builder = kreisgeo::tiles::mercator::Builder::default();
    assert_eq!(builder.build_missing(&db.pool).await.expect("build"), 1);
    let announced = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
        .await
        .expect("announced in time")
        .expect("notification");
    assert_eq!(announced.payload(), "parcels");
    assert_eq!(
        builder.build_missing(&db.pool).await.expect("again"),
        0,
        "built once"
    );
    let table = db.table_of("parcels").await;
    let (copy, rows, transformed): (String, i64, i64) = sqlx::query_as(&format!(
        "SELECT v.tile_table, (SELECT count(*) FROM data.{table}_3857), \
         (SELECT count(*) FROM data.{table}_3857 c JOIN data.{table} t USING (fid) \
          WHERE ST_Equals(c.geom_3857, ST_Transform(t.geom, 3857)) AND ST_SRID(c.geom_3857) = 3857) \
         FROM catalog.versions v WHERE v.table_name = '{table}'"
    ))
    .fetch_one(&db.pool)
    .await
    .expect("copy");
    assert_eq!(copy, format!("{table}_3857"));
    assert_eq!((rows, transformed), (1000, 1000));

    let after = render(uris.clone()).await;
    for ((uri, before), after) in uris.iter().zip(&before).zip(&after) {
        assert_eq!(before, after, "{uri}");
    }
    // And the Web Mercator tiles are drawn from the copy: moved there, they move.
    sqlx::query(&format!(
        "UPDATE data.{table}_3857 SET geom_3857 = ST_Translate(geom_3857, 30, 0)"
    ))
    .execute(&db.pool)
    .await
    .expect("move");
    let moved = render(uris.clone()).await;
    for (i, uri) in uris.iter().enumerate() {
        if uri.contains("WebMercatorQuad") {
            assert_ne!(moved[i], before[i], "{uri}");
        } else {
            assert_eq!(moved[i], before[i], "the AdV grid reads the version: {uri}");
        }
    }

    // A lon/lat point layer gets one too. A version no longer served loses its copy once its
    // dataset has settled; a pruned or deleted version's copy goes with it.
    let exists = |name: String| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>("SELECT to_regclass('data.' || $1) IS NOT NULL")
                .bind(name)
                .fetch_one(&pool)
                .await
                .expect("regclass")
        }
    };
    let aed = |file: &str, keep_versions: i64| {
        let mut request = kreisgeo::ingest::IngestRequest::new(crate::common::fixture(file), "aed");
        request.kind = DatasetKind::Aed;
        request.keep_versions = keep_versions;
        request
    };
    db.try_ingest(aed("aed_koeln.geojson", 3))
        .await
        .expect("aed");
    assert_eq!(builder.build_missing(&db.pool).await.expect("aed copy"), 1);
    let first = format!("{}_3857", db.table_of("aed").await);
    assert!(exists(first.clone()).await);
    db.try_ingest(aed("generated/aed_lueneburg_200_25832.geojson", 3))
        .await
        .expect("aed again");
    let second = format!("{}_3857", db.table_of("aed").await);
    assert!(!exists(second.clone()).await, "built in the background");
    assert_eq!(builder.build_missing(&db.pool).await.expect("aed copy"), 1);
    assert!(exists(second.clone()).await);
    assert_eq!(builder.drop_idle(&db.pool).await.expect("drop"), 0);
    assert!(
        exists(first.clone()).await,
        "kept while requests for the old version may still come"
    );
    sqlx::query(
        "UPDATE catalog.datasets SET updated_at = now() - interval '10 minutes' WHERE id = 'aed'",
    )
    .execute(&db.pool)
    .await
    .expect("settle");
    assert_eq!(builder.drop_idle(&db.pool).await.expect("drop"), 1);
    assert!(!exists(first.clone()).await, "an old version's copy goes");
    assert!(exists(second.clone()).await, "the served version's stays");
    let (listed, companions): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE tile_table IS NOT NULL), \
         count(*) FILTER (WHERE $1 = ANY (companions)) FROM catalog.versions",
    )
    .bind(&first)
    .fetch_one(&db.pool)
    .await
    .expect("catalog");
    assert_eq!(
        (listed, companions),
        (2, 0),
        "parcels' and the served AED copy"
    );
    db.try_ingest(aed("aed_koeln_25832.gpkg", 1))
        .await
        .expect("aed pruning");
    assert!(!exists(second).await, "dropped with its pruned version");
    assert_eq!(builder.build_missing(&db.pool).await.expect("aed copy"), 1);
    let third = format!("{}_3857", db.table_of("aed").await);
    assert!(exists(third.clone()).await);
    assert!(kreisgeo::catalog::repo::delete_dataset(&db.pool, "aed")
        .await
        .expect("delete"));
    assert!(!exists(third).await, "dropped with its deleted dataset");
}

/// Tiles are rendered in a pool that keeps one plan per statement: the plan made for the first
/// tile serves every later one, with each tile's window and envelope computed from its own
/// values. Rendered both ways, every tile is the same, capped or not, with attributes and
/// without, in Web Mercator and in the AdV grid, from tables stored in UTM and in lon/lat.
#[tokio::test]
async fn a_reused_plan_draws_the_same_tiles_as_one_made_for_each() {
    use kreisgeo::crs::Point;
    use kreisgeo::db::{connect_with, Plans, PoolSettings};
    use kreisgeo::tiles::mvt;
    use kreisgeo::tiles::tms::{TileCoord, TileMatrixSet, ADV_25832, WEB_MERCATOR_QUAD};

    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    db.ingest("aed_koeln.geojson", "aed", DatasetKind::Aed)
        .await;
    // One connection each, so that every tile of the reused kind runs on the same prepared
    // statements.
    let pool = |plans| {
        let url = db.url.clone();
        async move {
            connect_with(
                &url,
                &PoolSettings {
                    max_connections: 1,
                    plans,
                    ..Default::default()
                },
            )
            .await
            .expect("pool")
        }
    };
    let (each, reused) = (pool(Plans::PerQuery).await, pool(Plans::Reused).await);
    let merc = TileMatrixSet::find(WEB_MERCATOR_QUAD).expect("tms");
    let adv = TileMatrixSet::find(ADV_25832).expect("tms");
    for (id, lon, lat) in [("parcels", 10.4093, 53.2488), ("aed", 6.9578, 50.9413)] {
        let mut collection = kreisgeo::catalog::repo::require_collection(&db.pool, id)
            .await
            .expect("collection");
        let (x, y): (f64, f64) = sqlx::query_as(
            "SELECT ST_X(p), ST_Y(p) FROM \
             (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 25832) p) s",
        )
        .bind(lon)
        .bind(lat)
        .fetch_one(&db.pool)
        .await
        .expect("UTM");
        let centre: Vec<TileCoord> = (3..=11u8)
            .filter_map(|level| adv.tile_at(Point { x, y, srid: 25832 }, level))
            .collect();
        assert_eq!(centre.len(), 9, "{id} inside the AdV grid");
        let mut drawn = 0;
        for cap in [None, Some(5)] {
            collection.tiles.max_features = cap;
            // Zooms below 12 carry no attributes: the other statement.
            let mut tiles: Vec<(&TileMatrixSet, TileCoord)> = Vec::new();
            for z in 8..=16u8 {
                let (z, y, x) = tile_of(lon, lat, z);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1)] {
                    tiles.push((
                        merc,
                        TileCoord {
                            z,
                            x: x + dx,
                            y: y + dy,
                        },
                    ));
                }
            }
            tiles.extend(centre.iter().map(|t| (adv, *t)));
            for (tms, t) in tiles {
                let one = mvt::tile(&each, &collection, tms, t).await.expect("tile");
                let other = mvt::tile(&reused, &collection, tms, t).await.expect("tile");
                assert_eq!(one, other, "{id} {} {t:?} cap {cap:?}", tms.id);
                if !one.is_empty() {
                    drawn += 1;
                    let features = Tile::decode(one.as_slice()).expect("MVT").layers[0]
                        .features
                        .len();
                    assert!(cap.is_none_or(|cap| features <= cap as usize), "{features}");
                }
            }
        }
        assert!(drawn >= 10, "{id}: only {drawn} tiles had features");
    }
    // The reused pool did reuse: its statements ran on plans made once.
    let (mode, generic): (String, i64) = sqlx::query_as(
        "SELECT current_setting('plan_cache_mode'), \
         coalesce(sum(generic_plans), 0)::bigint FROM pg_prepared_statements",
    )
    .fetch_one(&reused)
    .await
    .expect("plans");
    assert_eq!(mode, "force_generic_plan");
    assert!(generic >= 20, "{generic} runs on a reused plan");
}

/// A tile already in memory is answered before routing (`api::tile_hits`): with the handler's
/// status, bytes and headers, its 304s and CORS, and without taking a place in its client's
/// share. Everything else (a miss, a coding not made yet) still goes through the share.
#[actix_web::test]
async fn a_tile_in_memory_is_answered_before_routing_as_the_handler_answers_it() {
    use actix_web::test::{call_service, init_service, TestRequest};
    let db = TestDb::new().await;
    db.ingest(
        "generated/parcels_lueneburg_1000_25832.fgb",
        "parcels",
        DatasetKind::Parcels,
    )
    .await;
    let config = kreisgeo::api::state::ApiConfig {
        requests_per_client: Some(1),
        client_wait: std::time::Duration::from_millis(50),
        ..Default::default()
    };
    let state = kreisgeo::api::state::AppState::new(db.pool.clone(), config)
        .with_catalog_cache()
        .await
        .expect("listener");
    let share = state.share.clone();
    let catalog = state.catalog.clone().expect("catalog cache");
    let app = init_service(kreisgeo::api::app(state)).await;
    let client: std::net::SocketAddr = "192.0.2.7:40000".parse().expect("address");
    let fetch = |uri: String, headers: Vec<(&'static str, String)>| {
        let mut req = TestRequest::get().uri(&uri).peer_addr(client);
        for (name, value) in headers {
            req = req.insert_header((name, value));
        }
        req.to_request()
    };
    let answer = |resp: actix_web::dev::ServiceResponse<_>| async move {
        let status = resp.status().as_u16();
        let mut headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "x-request-id" | "date"))
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_string()))
            .collect();
        headers.sort();
        let id = resp.headers().contains_key("x-request-id");
        let body = actix_web::test::read_body(resp).await.to_vec();
        (status, headers, body, id)
    };
    let (z, y, x) = tile_of(10.4093, 53.2488, 14);
    let full = format!("/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}");
    let (z, y, x) = tile_of(0.0, 0.0, 14);
    let empty = format!("/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}");
    let origin = ("Origin", "https://karte.example".to_string());
    let gzip = ("Accept-Encoding", "gzip".to_string());

    for (uri, headers, status) in [
        (&full, vec![], 200),
        (&full, vec![gzip.clone(), origin.clone()], 200),
        (&empty, vec![origin.clone()], 204),
    ] {
        // The first answer is routed: a miss, or a tile compressed now for this coding.
        let (routed_status, mut routed, routed_body, _) =
            answer(call_service(&app, fetch(uri.clone(), headers.clone())).await).await;
        assert_eq!(routed_status, status, "{uri} {headers:?}");
        // With every place of the client taken, a routed request would wait and give up.
        let place = share
            .enter(Some(client.ip()))
            .await
            .expect("the client's one place");
        let (hit_status, hit, hit_body, hit_id) =
            answer(call_service(&app, fetch(uri.clone(), headers.clone())).await).await;
        assert_eq!(
            hit_status, status,
            "{uri} {headers:?}: not answered from memory"
        );
        assert!(hit_id, "a hit has its request id");
        assert!(hit.contains(&("x-tile-cache".into(), "hit".into())));
        assert_eq!(hit_body, routed_body);
        // The same headers as the handler's, but for whether this one was a hit.
        routed.retain(|(name, _)| name != "x-tile-cache");
        let mut same = hit.clone();
        same.retain(|(name, _)| name != "x-tile-cache");
        assert_eq!(same, routed, "{uri} {headers:?}");
        if headers.contains(&origin) {
            assert!(hit.contains(&(
                "access-control-allow-origin".into(),
                "https://karte.example".into()
            )));
        }
        // Revalidation from memory too.
        let etag = hit
            .iter()
            .find(|(name, _)| name == "etag")
            .map(|(_, v)| v.clone())
            .expect("ETag");
        let mut conditional = headers.clone();
        conditional.push(("If-None-Match", etag));
        let (revalidated, _, _, _) =
            answer(call_service(&app, fetch(uri.clone(), conditional)).await).await;
        assert_eq!(revalidated, 304);
        // Not in memory in this coding: routed, so it waits for the place and gives up.
        let (busy, _, _, _) = answer(
            call_service(
                &app,
                fetch(uri.clone(), vec![("Accept-Encoding", "br".to_string())]),
            )
            .await,
        )
        .await;
        assert_eq!(
            busy, 503,
            "{uri}: a coding not made yet is rendered, through the share"
        );
        drop(place);
    }
    // HEAD and a query string go the whole way (through the share).
    let place = share.enter(Some(client.ip())).await.expect("place");
    let head = TestRequest::default()
        .method(actix_web::http::Method::HEAD)
        .uri(&full)
        .peer_addr(client)
        .to_request();
    assert_eq!(call_service(&app, head).await.status(), 503);
    let query = fetch(format!("{full}?f=mvt"), vec![]);
    assert_eq!(call_service(&app, query).await.status(), 503);
    drop(place);
    let head = TestRequest::default()
        .method(actix_web::http::Method::HEAD)
        .uri(&full)
        .peer_addr(client)
        .to_request();
    assert_eq!(call_service(&app, head).await.status(), 200);

    // The checks before every request hold for hits too.
    let (status, _, body, _) = answer(
        call_service(
            &app,
            fetch(full.clone(), vec![("Host", "not a host!".into())]),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("Host"));

    // A new version is announced: from then on no tile of the old one is answered from memory
    // (the threads' memos of the catalog last a second, longer than this test waits).
    let (_, before, _, _) = answer(call_service(&app, fetch(full.clone(), vec![])).await).await;
    let generation = catalog.generation();
    db.ingest(
        "generated/solar_lueneburg_500_25832.geojson",
        "parcels",
        DatasetKind::Solar,
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while catalog.generation() == generation {
        assert!(
            std::time::Instant::now() < deadline,
            "the new version was not announced within 2 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (_, now, _, _) = answer(call_service(&app, fetch(full.clone(), vec![])).await).await;
    assert_ne!(now, before, "the old version's tile after the announcement");
    assert!(
        now.contains(&("x-tile-cache".into(), "miss".into())),
        "{now:?}"
    );
}
