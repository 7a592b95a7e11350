#!/usr/bin/env bash
# Builds kreisgeo_VERSION_amd64.deb with dpkg-deb: the binary, the systemd unit, the annotated
# settings file as /etc/kreisgeo/kreisgeo.toml (a conffile: an edited one survives upgrades),
# and maintainer scripts that create the user and never delete data.
#
#   scripts/build-deb.sh [--binary PATH] [--out DIR] [--fast]
#     default: target/release/kreisgeo into target/deb, xz-compressed; --fast: gzip -1 (tests)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=target/release/kreisgeo
out=target/deb
compression=(-Zxz)
while [[ $# -gt 0 ]]; do
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fast) compression=(-Zgzip -z1); shift ;;
    *) echo "usage: $0 [--binary PATH] [--out DIR] [--fast]" >&2; exit 2 ;;
  esac
done
[[ -x $binary ]] || { echo "no binary at $binary (cargo build --release)" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
root=$out/root
rm -rf "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/kreisgeo" \
  "$root/usr/share/doc/kreisgeo"
# Stripped, as Debian ships binaries.
install -m 0755 --strip "$binary" "$root/usr/bin/kreisgeo"
install -m 0644 packaging/kreisgeo.service "$root/lib/systemd/system/kreisgeo.service"
install -m 0640 packaging/kreisgeo.toml "$root/etc/kreisgeo/kreisgeo.toml"
install -m 0644 README.md "$root/usr/share/doc/kreisgeo/README.md"
install -m 0644 fixtures/README.md "$root/usr/share/doc/kreisgeo/fixtures-provenance.md"
for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$root/DEBIAN/$script"
done
echo /etc/kreisgeo/kreisgeo.toml >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: kreisgeo
Version: $version
Architecture: $arch
Maintainer: kreisgeo developers <kreisgeo@localhost>
Installed-Size: $size
Depends: adduser, libc6, postgresql-15-postgis-3 | postgresql-16-postgis-3 | postgresql-17-postgis-3, postgresql-15-pgrouting | postgresql-16-pgrouting | postgresql-17-pgrouting
Section: web
Priority: optional
Homepage: https://github.com/kreisgeo/kreisgeo
Description: geodata and open-data portal backend for German counties
 Ingests county cadastres, solar potential and defibrillator locations into
 PostGIS and serves them through OGC API Features and Tiles, plain REST,
 DCAT-AP.de and CKAN, with its own PostgreSQL in /var/lib/kreisgeo.
CONTROL
deb=$out/kreisgeo_${version}_${arch}.deb
dpkg-deb --root-owner-group "${compression[@]}" --build "$root" "$deb" >/dev/null
echo "$deb"
