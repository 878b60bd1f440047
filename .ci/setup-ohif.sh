#!/usr/bin/env bash
# Installs the OHIF viewer's built application (npm `@ohif/app`, MIT) at a pinned version, checked
# against the registry's SHA-512 integrity, into $ELYSIUM_TOOLS/ohif-<version>/, idempotently.
# Elysium serves it under /ohif/ (`ELYSIUM_OHIF_DIR`, which the Makefile points here); nothing of
# it is committed, and nothing is downloaded at build or run time.
set -euo pipefail
TOOLS="${ELYSIUM_TOOLS:-$HOME/.cache/elysium-tools}"
OHIF_VERSION=3.13.2
# `npm view @ohif/app@3.13.2 dist.integrity`
OHIF_INTEGRITY="sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=="
DEST="$TOOLS/ohif-$OHIF_VERSION"
# Bumped when the relocation below changes, so that an older install is redone.
LAYOUT=1
[[ "$(cat "$DEST/.layout" 2>/dev/null)" == "$LAYOUT" ]] && exit 0
command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "[setup] OHIF viewer $OHIF_VERSION from the npm registry" >&2
(cd "$tmp" && npm pack --silent "@ohif/app@$OHIF_VERSION" >/dev/null)
tarball="$tmp/ohif-app-$OHIF_VERSION.tgz"
actual="sha512-$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")"
[[ "$actual" == "$OHIF_INTEGRITY" ]] || { echo "@ohif/app $OHIF_VERSION: integrity $actual, expected $OHIF_INTEGRITY" >&2; exit 1; }
tar -xzf "$tarball" -C "$tmp" package/dist package/LICENSE
# The build expects to be served at the site's root; Elysium serves it under /ohif/, so its
# absolute paths (index.html's links, webpack's public path in each runtime) move there. Its
# service worker is left out (it would cache the viewer against the session's scoping), and its
# app-config.js too: Elysium serves its own (`server/src/ohif.rs`).
python3 - "$tmp/package/dist" <<'PY'
import pathlib, re, sys
dist = pathlib.Path(sys.argv[1])
index = dist / "index.html"
html = index.read_text(encoding="utf-8")
html = re.sub(r'<script[^>]*src="/init-service-worker\.js"></script>', "", html)
html = html.replace('window.PUBLIC_URL="/"', 'window.PUBLIC_URL="/ohif/"')
html = html.replace('href="/', 'href="/ohif/').replace('src="/', 'src="/ohif/')
index.write_text(html, encoding="utf-8")
runtimes = 0
for script in dist.glob("*.js"):
    text = script.read_text(encoding="utf-8", errors="surrogateescape")
    if '__webpack_require__.p = "/";' in text:
        script.write_text(text.replace('__webpack_require__.p = "/";', '__webpack_require__.p = "/ohif/";'), encoding="utf-8", errors="surrogateescape")
        runtimes += 1
if runtimes == 0 or 'window.PUBLIC_URL="/ohif/"' not in html:
    sys.exit("the OHIF build's layout is not the expected one: nothing to relocate")
(dist / "app-config.js").unlink()
(dist / "init-service-worker.js").unlink(missing_ok=True)
(dist / "sw.js").unlink(missing_ok=True)
PY
rm -rf "$DEST.part"
mkdir -p "$DEST.part"
mv "$tmp/package/dist" "$tmp/package/LICENSE" "$DEST.part/"
echo "$LAYOUT" > "$DEST.part/.layout"
rm -rf "$DEST"
mv "$DEST.part" "$DEST"
