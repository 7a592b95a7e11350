//! The security probe of issue 26 replayed against a running `kreisgeo serve` with its default
//! settings: requests that once killed the process, took every database connection, poisoned
//! links and the catalog, overflowed a byte range or a date. Each must get a 4xx or a normal
//! answer, and the server must go on serving everyone else.

// Tests stop at the first surprise, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/portal.rs"]
mod portal;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/http.rs"]
mod http;

use http::{agent, encode, raw};
use portal::{fixture, Portal};
use serde_json::Value as Json;

/// Status, headers and body of a GET with extra headers.
fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let answer = http::get(url, headers);
    (answer.status, answer.headers, answer.body)
}

fn json(body: &[u8]) -> Json {
    serde_json::from_slice(body).unwrap_or(Json::Null)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A raw HTTP/1.0 GET from the source address `from` (another client than 127.0.0.1); the
/// status and the body.
fn get_from(from: [u8; 4], port: u16, path: &str) -> (u16, String) {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((from, 0)).into())
        .expect("bind the source address");
    socket
        .connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], port)).into(),
            Duration::from_secs(5),
        )
        .expect("connect");
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("answer");
    let (status, _, body) = http::split_answer(&answer);
    (status, body)
}

/// A portal with the Köln AEDs and a collection of large features (a page of 2,000 is 20 MB),
/// served with the defaults.
fn portal(name: &str) -> Portal {
    let mut portal = Portal::start(name);
    portal.ingest("aed_koeln.geojson", "aed", "aed");
    let big = portal.file("big.geojson");
    let text = "x".repeat(10_000);
    let features: Vec<Json> = (0..2_000)
        .map(|i| {
            serde_json::json!({"type": "Feature", "properties": {"n": i, "text": text},
                "geometry": {"type": "Point", "coordinates": [10.0 + f64::from(i) * 1e-4, 53.0]}})
        })
        .collect();
    std::fs::write(
        &big,
        serde_json::json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .expect("write");
    portal.ok(&["ingest", &big.display().to_string(), "--dataset", "big"]);
    portal.serve(&[]);
    portal
}

fn alive(portal: &Portal) {
    let (status, _, body) = get(&portal.url("/collections/aed/items?limit=1"), &[]);
    assert_eq!(
        status,
        200,
        "{}\n{}",
        String::from_utf8_lossy(&body),
        portal.log()
    );
    assert_eq!(json(&body)["numberMatched"], 121);
}

#[test]
fn hostile_requests_get_4xx_and_the_server_goes_on() {
    let portal = portal("hostile");
    let items = |query: &str| portal.url(&format!("/collections/aed/items?{query}"));

    // 1. Filters nested far deeper than allowed (the probe's 2,000 signs, and more than ten
    // times the 32 levels and 200 terms that fit in a URL): 400, the process survives.
    let deep = 2_000;
    for filter in [
        format!("access={}1", "-".repeat(deep)),
        format!("{}flur = 1", "NOT ".repeat(deep / 2)),
        format!("{}name = 'a'{}", "(".repeat(deep / 2), ")".repeat(deep / 2)),
        format!("name = 'a'{}", " AND name = 'a'".repeat(400)),
    ] {
        let (status, _, body) = get(&items(&format!("filter={}", encode(&filter))), &[]);
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
        assert_eq!(json(&body)["parameter"], "filter");
        alive(&portal);
    }
    let json_filter = format!(
        "{}{{\"op\":\"=\",\"args\":[{{\"property\":\"name\"}},\"a\"]}}{}",
        "{\"op\":\"not\",\"args\":[".repeat(150),
        "]}".repeat(150)
    );
    let (status, _, body) = get(
        &items(&format!(
            "filter-lang=cql2-json&filter={}",
            encode(&json_filter)
        )),
        &[],
    );
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    alive(&portal);

    // 5. Forwarded headers of an untrusted client build nothing; a Host that is not one is
    // refused.
    let own = format!("http://127.0.0.1:{}", portal.port);
    for headers in [
        vec![
            ("X-Forwarded-Host", "evil.example"),
            ("X-Forwarded-Proto", "javascript"),
        ],
        vec![("Forwarded", "host=evil.example;proto=javascript")],
    ] {
        let (status, _, body) = get(&items("limit=1"), &headers);
        assert_eq!(status, 200);
        let links = json(&body)["links"].clone();
        for link in links.as_array().expect("links") {
            let href = link["href"].as_str().expect("href");
            assert!(href.starts_with(&own), "{href}");
        }
        let (_, _, ttl) = get(&portal.url("/catalog.ttl"), &headers);
        let ttl = String::from_utf8_lossy(&ttl);
        assert!(
            !ttl.contains("evil") && !ttl.contains("javascript"),
            "{ttl}"
        );
    }
    for host in ["evil.example/x", "a b", "x\"><script>", "javascript://x"] {
        let (status, headers, body) = get(&items("limit=1"), &[("Host", host)]);
        assert_eq!(status, 400, "{host}: {}", String::from_utf8_lossy(&body));
        assert_eq!(json(&body)["parameter"], "Host");
        assert!(header(&headers, "cache-control").is_none_or(|c| !c.contains("public")));
    }

    // 10. The log names the peer, never an address a client chose for itself.
    let (status, _, _) = get(
        &portal.url("/admin/datasets/aed/metadata"),
        &[
            ("X-Forwarded-For", "203.0.113.9"),
            ("Forwarded", "for=198.51.100.7"),
            ("Authorization", "Bearer wrong"),
        ],
    );
    assert_eq!(status, 401);
    let (status, _, _) = get(&items("limit=1"), &[("X-Forwarded-For", "203.0.113.9")]);
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let log = portal.log();
    assert!(log.contains("admin request without a valid key"), "{log}");
    assert!(log.contains("127.0.0.1"), "{log}");
    assert!(
        !log.contains("203.0.113.9") && !log.contains("198.51.100.7"),
        "an untrusted forwarded address reached the log:\n{log}"
    );
    assert!(log.contains("no --public-url"), "{log}");

    // 8. A byte range to the end of u64: the whole file, with a Content-Range that adds up.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (file, length) = loop {
        let (_, _, body) = get(&portal.url("/collections/aed/downloads"), &[]);
        let listing = json(&body);
        let ready = listing["downloads"].as_array().and_then(|files| {
            files.iter().find_map(|f| {
                let href = f["href"].as_str()?;
                let (status, _, body) = get(href, &[]);
                (status == 200).then(|| (href.to_string(), body.len() as u64))
            })
        });
        if let Some(ready) = ready {
            break ready;
        }
        assert!(
            Instant::now() < deadline,
            "no download was built: {listing}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let (status, headers, body) = get(&file, &[("Range", "bytes=0-18446744073709551615")]);
    assert_eq!(status, 206);
    assert_eq!(body.len() as u64, length);
    assert_eq!(
        header(&headers, "content-range"),
        Some(format!("bytes 0-{}/{length}", length - 1).as_str())
    );
    let (status, headers, body) = get(&file, &[("Range", "bytes=5-18446744073709551615")]);
    assert_eq!(status, 206);
    assert_eq!(body.len() as u64, length - 5);
    assert_eq!(
        header(&headers, "content-range"),
        Some(format!("bytes 5-{}/{length}", length - 1).as_str())
    );

    // 9. Dates PostgreSQL cannot read: 400, not 500.
    for since in [
        "0000-01-01",
        "0000-12-31T23:00:00Z",
        "0001-01-01T00:00:00+05:00",
    ] {
        let (status, _, body) = get(
            &portal.url(&format!("/catalog?modified_since={}", encode(since))),
            &[],
        );
        assert_eq!(status, 400, "{since}: {}", String::from_utf8_lossy(&body));
        assert_eq!(json(&body)["parameter"], "modified_since");
    }
    let (status, _, _) = get(&items("datetime=0000-01-01"), &[]);
    assert!(status == 400, "datetime=0000-01-01: {status}");

    // Requests the HTTP parser refuses before any handler runs (issue 16, point 3) get the
    // JSON error body every other error has: a filter of 60,000 characters, a URL over the
    // parser's 64 KiB, a head over its 128 KiB or 96 fields, bytes that are not HTTP.
    let port = portal.port;
    let get_line = |target: &str| format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let filter = format!("name = '{}'", "a".repeat(60_000));
    let fields: String = (0..100).map(|i| format!("X-Field-{i}: 1\r\n")).collect();
    for (request, expected, code) in [
        (
            get_line(&format!(
                "/collections/aed/items?filter={}",
                encode(&filter)
            )),
            414,
            "UriTooLong",
        ),
        (
            get_line(&format!("/collections/aed/items?a={}", "a".repeat(70_000))),
            414,
            "UriTooLong",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
                "a".repeat(140_000)
            ),
            431,
            "RequestHeaderFieldsTooLarge",
        ),
        (
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{fields}\r\n"),
            431,
            "RequestHeaderFieldsTooLarge",
        ),
        ("NOT HTTP AT ALL\r\n\r\n".to_string(), 400, "BadRequest"),
        (
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n".to_string(),
            400,
            "BadRequest",
        ),
    ] {
        let (status, head, body) = raw(port, request.as_bytes());
        let what = &request[..request.len().min(60)];
        assert_eq!(status, expected, "{what}: {head}\n{body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{what}: {head}"
        );
        let body = json(body.as_bytes());
        assert_eq!(body["status"], expected, "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert!(body["description"].as_str().is_some_and(|d| d.len() > 10));
    }
    // A head that never ends gets 408 after the header timeout (5 s by default), in JSON too.
    let (status, head, body) = raw(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    assert_eq!(status, 408, "{head}");
    assert_eq!(json(body.as_bytes())["code"], "RequestTimeout", "{body}");
    alive(&portal);

    // 2. Twenty clients ask for 20 MB pages and never read them. Once they held every
    // database connection and the portal answered 503 "database not reachable" to everyone.
    let mut stalled: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", portal.port)).expect("connect");
            write!(
                s,
                "GET /collections/big/items?limit=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            )
            .expect("send");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    // Another client is served, again and again, and the node stays ready.
    for _ in 0..10 {
        let (status, body) = get_from(
            [127, 0, 0, 2],
            portal.port,
            "/collections/aed/items?limit=5",
        );
        assert_eq!(status, 200, "{body}\n{}", portal.log());
        assert!(body.contains("FeatureCollection"), "{body}");
        let (status, body) = get_from(
            [127, 0, 0, 3],
            portal.port,
            "/collections/big/items?limit=1",
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = get_from([127, 0, 0, 2], portal.port, "/ready");
    assert_eq!(status, 200, "{body}");
    // The stalled client itself waits for its own requests (503 after a while at worst),
    // never sees the database as down.
    let (status, _, body) = get(&portal.url("/health"), &[]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    stalled.clear();
    // Gone, its places are free again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, _) = get(&items("limit=1"), &[]);
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stalled client's places were never freed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !portal.log().contains("database is unreachable"),
        "{}",
        portal.log()
    );
}

/// Every triple of a Turtle document that says something of the dataset `id` (its IRI or its
/// blank nodes) as N-Triples lines.
fn triples_of(ttl: &[u8], base: &str, id: &str) -> BTreeSet<String> {
    let triples: Vec<oxrdf::Triple> = oxttl::TurtleParser::new()
        .for_slice(ttl)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| {
            panic!(
                "the catalog is not Turtle: {e}\n{}",
                String::from_utf8_lossy(ttl)
            )
        });
    let iri = format!("<{base}/catalog/datasets/{id}");
    triples
        .iter()
        .map(ToString::to_string)
        .filter(|t| t.starts_with(&iri))
        .collect()
}

fn put_metadata(portal: &Portal, key: &str, dataset: &str, body: &Json) -> (u16, Json) {
    let mut resp = agent()
        .put(&portal.url(&format!("/admin/datasets/{dataset}/metadata")))
        .header("Authorization", &format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("HTTP answer");
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_vec().unwrap_or_default();
    (status, json(&body))
}

#[test]
fn metadata_of_one_dataset_never_changes_anothers_triples() {
    let mut portal = Portal::start("metadata");
    for (file, dataset) in [("aed_koeln.geojson", "aed"), ("aed_koeln.csv", "x")] {
        let mut args = vec!["ingest", file, "--dataset", dataset, "--kind", "aed"];
        let path = fixture(file);
        args[1] = &path;
        if std::path::Path::new(file)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            args.extend(["--crs", "EPSG:4326"]);
        }
        portal.ok(&args);
    }
    let key = portal
        .ok(&[
            "keys",
            "create",
            "--name",
            "x-pflege",
            "--datasets",
            "x",
            "--actions",
            "metadata",
        ])
        .split_whitespace()
        .find(|w| w.len() > 20)
        .expect("the key")
        .to_string();
    portal.serve(&[]);
    let base = format!("http://127.0.0.1:{}", portal.port);
    let catalog = || {
        let (status, _, ttl) = get(&portal.url("/catalog.ttl"), &[]);
        assert_eq!(status, 200);
        for extension in ["rdf", "jsonld"] {
            let (status, _, _) = get(&portal.url(&format!("/catalog.{extension}")), &[]);
            assert_eq!(status, 200);
        }
        ttl
    };
    // Once the downloads are built, the catalog lists them and stays as it is.
    let deadline = Instant::now() + Duration::from_secs(120);
    for dataset in ["aed", "x"] {
        while json(
            &get(
                &portal.url(&format!("/collections/{dataset}/downloads")),
                &[],
            )
            .2,
        )["downloads"]
            .as_array()
            .is_none_or(|files| files.len() < 6)
        {
            assert!(Instant::now() < deadline, "the downloads were never built");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    let aed = triples_of(&catalog(), &base, "aed");
    assert!(aed.len() > 10, "{aed:?}");
    let unchanged = |after: &str| {
        let now = triples_of(&catalog(), &base, "aed");
        let changed: Vec<&String> = now.symmetric_difference(&aed).collect();
        assert!(changed.is_empty(), "after {after}: {changed:#?}");
    };

    // The probe's payload: a contact address that closed its IRI and set aed's title.
    let probe = format!(
        "a@b.de> . <{base}/catalog/datasets/aed> <http://purl.org/dc/terms/title> \"pwned\"@de . <mailto:a@b.de"
    );
    let (status, body) = put_metadata(
        &portal,
        &key,
        "x",
        &serde_json::json!({"contact": {"name": "x", "email": probe}}),
    );
    assert_eq!(
        (status, body["parameter"].as_str()),
        (400, Some("contact.email"))
    );

    // Every text field of x's metadata with every hostile string: accepted or refused, never a
    // server error, and aed's triples stay what they were.
    let hostile = [
        probe.as_str(),
        "\"\"\" ; <http://purl.org/dc/terms/title> \"x",
        "x\" . <a> <b> <c> . \"",
        "line\nbreak\r\n\u{0}nul",
        "</rdf:RDF><rdf:Description>",
        "]]><!ENTITY x SYSTEM \"file:///etc/passwd\">",
        "\\u0022\\\" @prefix x: <y> .",
        "{\"@id\": \"x\"}",
        "https://x.de/a> <b",
        "+49 (0) 4131>",
    ];
    for value in hostile {
        for document in [
            serde_json::json!({"title": {"de": value, "en": value}}),
            serde_json::json!({"description": {"de": value}}),
            serde_json::json!({"keywords": [value]}),
            serde_json::json!({"licenseAttributionByText": value}),
            serde_json::json!({"license": value}),
            serde_json::json!({"contact": {"name": value, "email": "a@b.de"}}),
            serde_json::json!({"contact": {"name": "x", "email": value}}),
            serde_json::json!({"contact": {"name": "x", "url": value}}),
            serde_json::json!({"contact": {"name": "x", "phone": value}}),
        ] {
            let (status, body) = put_metadata(&portal, &key, "x", &document);
            assert!(
                status == 200 || status == 400,
                "{document}: {status} {body}"
            );
            unchanged(&document.to_string());
        }
    }

    // Metadata stored before these checks existed, straight in the database: still one
    // dataset's own triples, the catalog still parses.
    let url = portal.ok(&["db", "start"]);
    let url = url
        .split_whitespace()
        .find(|w| w.starts_with("postgres"))
        .expect("URL");
    let stored =
        serde_json::json!({"contact": {"name": "x", "email": probe, "url": probe, "phone": "1>2"}});
    let sql = format!(
        "UPDATE catalog.datasets SET metadata = '{}'::jsonb WHERE id = 'x'",
        stored.to_string().replace('\'', "''")
    );
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-c", &sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    unchanged("metadata stored in the database");
    assert!(!String::from_utf8_lossy(&catalog()).contains("pwned"));
}

/// The defaults against a flood from one address, and for the clients that page one request
/// at a time as fast as they can (GDAL, OWSLib, harvesters): those are never refused.
#[test]
fn a_sequential_client_is_never_refused_a_flood_from_one_address_is() {
    let mut portal = Portal::start("flood");
    let parcels = portal.file("parcels.fgb").display().to_string();
    portal.ok(&[
        "generate", "--kind", "parcels", "--count", "2000", "--seed", "1", "--out", &parcels,
    ]);
    portal.ok(&[
        "ingest",
        &parcels,
        "--dataset",
        "parcels",
        "--kind",
        "parcels",
    ]);
    portal.serve(&[]);

    // GDAL pages two features at a time: a thousand requests in a row, all answered.
    let out = portal.file("parcels.gpkg").display().to_string();
    let copied = Command::new("ogr2ogr")
        .args(["-f", "GPKG", &out])
        .arg(format!("OAPIF:http://127.0.0.1:{}", portal.port))
        .args(["-oo", "PAGE_SIZE=2", "parcels"])
        .output()
        .expect("ogr2ogr is required (apt-get install gdal-bin)");
    assert!(
        copied.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&copied.stderr),
        portal.log()
    );
    let info = Command::new("ogrinfo")
        .args(["-ro", "-so", &out, "parcels"])
        .output()
        .expect("ogrinfo");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("Feature Count: 2000"), "{info}");

    // 64 connections from one address at once: some are told to slow down (429 with
    // Retry-After), none fails otherwise.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(64));
    let url = portal.url("/collections/parcels/items?limit=1000");
    let answers: Vec<(u16, Option<String>)> = (0..64)
        .map(|_| {
            let (barrier, url) = (barrier.clone(), url.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (status, headers, _) = get(&url, &[]);
                (status, header(&headers, "retry-after").map(str::to_string))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let refused = answers.iter().filter(|(s, _)| *s == 429).count();
    assert!(refused > 0, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, retry)| *s == 200 || (*s == 429 && retry.as_deref() == Some("1"))),
        "{answers:?}"
    );
    // The flood over, the same address is served again.
    alive_on(&portal, "/collections/parcels/items?limit=1");
}

fn alive_on(portal: &Portal, path: &str) {
    let (status, _, body) = get(&portal.url(path), &[]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}
