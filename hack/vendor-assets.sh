#!/usr/bin/env bash
# Vendors the portal's front-end assets from the npm packages pinned in package-lock.json, so that
# `go build`, `make dev` and CI need no Node. Run it after changing a version in package.json and
# commit what it writes.
#
#   hack/vendor-assets.sh
#
# What it writes:
#   services/portal/assets/vendor/   GOV.UK Frontend and MoJ Frontend compiled CSS and JS, favicon
#   services/portal/ui/testdata/fixtures/   each component's fixtures.json, which the port's tests replay
#   services/portal/portaltest/axe.min.js   axe-core, for the browser tests only
#   services/portal/assets/vendor/LICENCES.md
#
# Homeward is not a GOV.UK service: the GDS Transport typeface is licensed for GOV.UK only, so its
# @font-face rules are removed from the compiled CSS and every font stack falls back to Arial.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi

govuk=node_modules/govuk-frontend/dist/govuk
moj=node_modules/@ministryofjustice/frontend/moj
out=services/portal/assets/vendor
fixtures=services/portal/ui/testdata/fixtures
rm -rf "$out" "$fixtures"
mkdir -p "$out" "$fixtures/govuk" "$fixtures/moj" services/portal/portaltest

# Strip the GDS Transport @font-face rules and name Arial first wherever the typeface was named.
without_gds_transport() {
  sed -E 's/@font-face\{font-family:GDS Transport;[^}]*\}//g; s/GDS Transport,arial,sans-serif/arial,sans-serif/g' "$1" >"$2"
  if grep -q 'GDS Transport' "$2"; then
    echo "vendor-assets: $1 still names GDS Transport after rewriting" >&2
    exit 1
  fi
}
without_gds_transport "$govuk/govuk-frontend.min.css" "$out/govuk-frontend.min.css"
without_gds_transport "$moj/moj-frontend.min.css" "$out/moj-frontend.min.css"
cp "$govuk/govuk-frontend.min.js" "$out/govuk-frontend.min.js"
cp "$moj/moj-frontend.min.js" "$out/moj-frontend.min.js"
mkdir -p "$out/images"
cp "$govuk/assets/images/favicon.ico" "$govuk/assets/images/favicon.svg" "$out/images/"

# The components the portal ports; their fixtures keep the port faithful across upgrades.
for c in button error-summary error-message input textarea radios checkboxes date-input fieldset hint label \
  summary-list table tag panel notification-banner back-link pagination task-list select skip-link footer \
  service-navigation generic-header; do
  cp "$govuk/components/$c/fixtures.json" "$fixtures/govuk/$c.json"
done
# MoJ Frontend ships no fixtures: keep its templates, so an upgrade shows what changed in review.
for c in sub-navigation identity-bar timeline badge button-menu filter; do
  cp "$moj/components/$c/template.njk" "$fixtures/moj/$c.njk"
done

cp node_modules/axe-core/axe.min.js services/portal/portaltest/axe.min.js
cp node_modules/axe-core/LICENSE services/portal/portaltest/AXE-LICENSE

version() { node -p "require('./node_modules/$1/package.json').version"; }
cat >"$out/LICENCES.md" <<LICENCES
# Vendored front-end assets

Written by \`hack/vendor-assets.sh\` from the npm packages pinned in \`package-lock.json\`; do not edit.

| package | version | licence | files |
|---|---|---|---|
| govuk-frontend | $(version govuk-frontend) | MIT | govuk-frontend.min.css (GDS Transport removed), govuk-frontend.min.js, images/ |
| @ministryofjustice/frontend | $(version @ministryofjustice/frontend) | MIT | moj-frontend.min.css (GDS Transport removed), moj-frontend.min.js |
| axe-core (tests only, in services/portal/portaltest/) | $(version axe-core) | MPL-2.0 (AXE-LICENSE) | axe.min.js |

## MIT License (govuk-frontend: Copyright (c) 2018 Crown Copyright (Government Digital Service); @ministryofjustice/frontend: Copyright (c) Crown Copyright (Ministry of Justice))

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN
AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE
OR OTHER DEALINGS IN THE SOFTWARE.
LICENCES
echo "[vendor-assets] wrote $out, $fixtures and services/portal/portaltest/axe.min.js" >&2
