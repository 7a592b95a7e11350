//! The SQL of the search: reads what the index is built from out of each searchable dataset's
//! served version table. Column names come from the catalog, never from a request.

use std::sync::Arc;

use sqlx::PgPool;

use super::index::{AddressRow, NamedRow, ParcelRow, Rows};
use crate::catalog::{Collection, DatasetKind, Version};
use crate::error::Result;

/// A point inside the feature, in lon/lat.
fn point_sql(v: &Version) -> &'static str {
    if v.source_crs == 4326 {
        "ST_PointOnSurface(geom)"
    } else {
        "ST_Transform(ST_PointOnSurface(geom), 4326)"
    }
}

/// The text of column `canonical` of `v`, or NULL when the version has none.
fn column(v: &Version, canonical: &str) -> String {
    v.columns
        .iter()
        .find(|c| c.original == canonical)
        .map_or_else(
            || "NULL::text".to_string(),
            |c| format!("{}::text", c.ident()),
        )
}

/// Everything the index needs from `collections`, official addresses first.
pub async fn rows(pool: &PgPool, collections: &[&Collection]) -> Result<Rows> {
    let mut rows = Rows::default();
    let mut ordered: Vec<&&Collection> = collections.iter().collect();
    ordered.sort_by_key(|c| (c.kind == DatasetKind::Osm, c.id.clone()));
    for c in ordered {
        let dataset: Arc<str> = c.id.as_str().into();
        match c.kind {
            DatasetKind::Addresses => addresses(pool, c, &dataset, &mut rows).await?,
            DatasetKind::Osm => osm(pool, c, &dataset, &mut rows).await?,
            DatasetKind::Parcels => parcels(pool, c, &dataset, &mut rows).await?,
            _ => {}
        }
    }
    Ok(rows)
}

type AddressTuple = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    f64,
    f64,
);

fn address_rows(dataset: &Arc<str>, found: Vec<AddressTuple>, rows: &mut Rows) {
    rows.addresses.extend(found.into_iter().filter_map(
        |(fid, street, number, postcode, locality, district, x, y)| {
            Some(AddressRow {
                dataset: dataset.clone(),
                fid,
                street: street?,
                number: number.unwrap_or_default(),
                postcode,
                locality,
                district,
                point: [x, y],
            })
        },
    ));
}

async fn addresses(
    pool: &PgPool,
    c: &Collection,
    dataset: &Arc<str>,
    rows: &mut Rows,
) -> Result<()> {
    let v = &c.version;
    let sql = format!(
        "SELECT fid, {street}, coalesce({number}, '') || coalesce({suffix}, ''), {postcode}, \
           {locality}, {district}, ST_X(p), ST_Y(p) \
         FROM (SELECT *, {point} AS p FROM {table} WHERE geom IS NOT NULL) t ORDER BY fid",
        street = column(v, "street"),
        number = column(v, "house_number"),
        suffix = column(v, "house_number_suffix"),
        postcode = column(v, "postcode"),
        locality = column(v, "locality"),
        district = column(v, "district"),
        point = point_sql(v),
        table = v.table(),
    );
    let found: Vec<AddressTuple> = sqlx::query_as(&sql).fetch_all(pool).await?;
    address_rows(dataset, found, rows);
    Ok(())
}

async fn osm(pool: &PgPool, c: &Collection, dataset: &Arc<str>, rows: &mut Rows) -> Result<()> {
    let table = c.version.table();
    let found: Vec<AddressTuple> = sqlx::query_as(&format!(
        "SELECT fid, street, housenumber, postcode, city, suburb, ST_X(geom), ST_Y(geom) \
         FROM {table} WHERE layer = 'address' ORDER BY fid"
    ))
    .fetch_all(pool)
    .await?;
    address_rows(dataset, found, rows);
    let places: Vec<(i64, String, String, Option<i64>, f64, f64)> = sqlx::query_as(&format!(
        "SELECT fid, coalesce(name_de, name), class, rank, ST_X(geom), ST_Y(geom) \
         FROM {table} WHERE layer = 'place' AND name IS NOT NULL ORDER BY fid"
    ))
    .fetch_all(pool)
    .await?;
    rows.places.extend(
        places
            .into_iter()
            .map(|(fid, name, class, rank, x, y)| NamedRow {
                dataset: dataset.clone(),
                fid,
                name,
                class,
                rank: rank.unwrap_or(7),
                point: [x, y],
            }),
    );
    // A street is one name within a few hundred metres: the same name in two villages is two.
    let roads: Vec<(i64, String, f64, f64)> = sqlx::query_as(&format!(
        "SELECT fid, name, ST_X(p), ST_Y(p) FROM ( \
           SELECT min(fid) AS fid, name, ST_PointOnSurface(ST_Collect(geom)) AS p FROM ( \
             SELECT fid, coalesce(name_de, name) AS name, geom, \
                    ST_ClusterDBSCAN(geom, eps := 0.005, minpoints := 1) \
                      OVER (PARTITION BY coalesce(name_de, name)) AS cluster \
             FROM {table} WHERE layer = 'road' AND name IS NOT NULL AND class <> 'path') r \
           GROUP BY name, cluster) s ORDER BY fid"
    ))
    .fetch_all(pool)
    .await?;
    rows.roads
        .extend(roads.into_iter().map(|(fid, name, x, y)| NamedRow {
            dataset: dataset.clone(),
            fid,
            name,
            class: "street".into(),
            rank: 8,
            point: [x, y],
        }));
    Ok(())
}

async fn parcels(pool: &PgPool, c: &Collection, dataset: &Arc<str>, rows: &mut Rows) -> Result<()> {
    let v = &c.version;
    let key = column(v, "flurstueckskennzeichen");
    if key.starts_with("NULL") {
        return Ok(());
    }
    let found: Vec<(i64, Option<String>, f64, f64)> = sqlx::query_as(&format!(
        "SELECT fid, k, ST_X(p), ST_Y(p) FROM (SELECT fid, {key} AS k, {point} AS p \
           FROM {table} WHERE geom IS NOT NULL) t",
        point = point_sql(v),
        table = v.table(),
    ))
    .fetch_all(pool)
    .await?;
    rows.parcels
        .extend(found.into_iter().filter_map(|(fid, key, x, y)| {
            Some(ParcelRow {
                dataset: dataset.clone(),
                fid,
                key: key?,
                point: [x, y],
            })
        }));
    Ok(())
}
