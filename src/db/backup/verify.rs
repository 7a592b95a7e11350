//! Reading a backup back without a database: `pg_restore` turns the whole archive into SQL
//! (every data block decompressed), and the rows of each table's COPY are counted against the
//! manifest.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::manifest::Manifest;
use super::tools::Tools;
use super::{BackupError, Result};

/// Checks `archive` against `manifest`: size and checksum, then every table's rows as
/// pg_restore reads them.
pub async fn verify(archive: &Path, manifest: &Manifest) -> Result<()> {
    let path = archive.to_path_buf();
    let expected = manifest.clone();
    tokio::task::spawn_blocking(move || expected.check_archive(&path))
        .await
        .map_err(|e| BackupError::Tools(e.to_string()))??;
    let tools = Tools::for_server(manifest.server_major)?;
    let mut child = tools
        .command("pg_restore", None)
        .arg("--data-only")
        .arg("--file=-")
        .arg(archive)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BackupError::Tools(format!("cannot run pg_restore: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| BackupError::Tools("pg_restore has no output".into()))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| BackupError::Tools("pg_restore has no error output".into()))?;
    // Both pipes at once: a tool blocked on a full stderr would never finish its stdout.
    let mut said = Vec::new();
    let (counted, _) = tokio::join!(
        count_copy_rows(BufReader::with_capacity(1 << 20, stdout)),
        tokio::io::AsyncReadExt::read_to_end(&mut stderr, &mut said)
    );
    let status = child
        .wait()
        .await
        .map_err(|e| BackupError::Tools(format!("pg_restore: {e}")))?;
    if !status.success() {
        return Err(BackupError::Damaged {
            path: archive.to_path_buf(),
            reason: format!(
                "pg_restore cannot read it ({status}): {}",
                String::from_utf8_lossy(&said).trim()
            ),
        });
    }
    let counted = counted.map_err(|e| BackupError::Damaged {
        path: archive.to_path_buf(),
        reason: e,
    })?;
    compare(&manifest.tables, &counted).map_err(|reason| BackupError::Damaged {
        path: archive.to_path_buf(),
        reason,
    })
}

/// Rows of each `COPY table (…) FROM stdin;` block up to its `\.` line. COPY's text format
/// escapes newlines inside values, so one row is one line.
async fn count_copy_rows<R: tokio::io::AsyncRead + Unpin>(
    mut reader: BufReader<R>,
) -> std::result::Result<BTreeMap<String, i64>, String> {
    let mut counts = BTreeMap::new();
    let mut current: Option<(String, i64)> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        match &mut current {
            Some((table, rows)) => {
                if text == b"\\." {
                    counts.insert(std::mem::take(table), *rows);
                    current = None;
                } else {
                    *rows += 1;
                }
            }
            None => {
                if let Some(table) = copy_target(text) {
                    current = Some((table, 0));
                }
            }
        }
    }
    match current {
        Some((table, _)) => Err(format!("the data of {table} ends without its end mark")),
        None => Ok(counts),
    }
}

/// `COPY public.t (a, b) FROM stdin;` → `public.t`.
fn copy_target(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix("COPY ")?;
    if !text.ends_with(" FROM stdin;") {
        return None;
    }
    let end = rest.find(" (").or_else(|| rest.find(" FROM stdin;"))?;
    Some(rest[..end].to_string())
}

/// Every table of the manifest with its row count; tables the manifest does not list (rows a
/// user added to an extension's table) are not judged.
pub fn compare(
    expected: &BTreeMap<String, i64>,
    found: &BTreeMap<String, i64>,
) -> std::result::Result<(), String> {
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(table, rows)| found.get(*table) != Some(rows))
        .map(|(table, rows)| match found.get(table) {
            Some(got) => format!("{table}: {got} rows, {rows} expected"),
            None => format!("{table}: missing ({rows} rows expected)"),
        })
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn copy_blocks_are_counted_and_a_cut_block_is_found() {
        let sql = b"SET x;\nCOPY public.a (id, t) FROM stdin;\n1\tx\\ny\n2\tz\n\\.\n\n\
                    COPY \"data\".\"v 1\" FROM stdin;\n\\.\n";
        let counts = count_copy_rows(BufReader::new(&sql[..])).await.unwrap();
        assert_eq!(counts.get("public.a"), Some(&2));
        assert_eq!(counts.get("\"data\".\"v 1\""), Some(&0));
        let cut = b"COPY public.a (id) FROM stdin;\n1\n";
        assert!(count_copy_rows(BufReader::new(&cut[..])).await.is_err());
        let expected: BTreeMap<String, i64> = [("public.a".to_string(), 3)].into();
        assert!(compare(&expected, &counts)
            .unwrap_err()
            .contains("public.a: 2 rows, 3 expected"));
    }
}
