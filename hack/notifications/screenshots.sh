#!/bin/sh
# Renders internal/notify/testdata's Slack and Teams fixtures to HTML (render.py) and
# screenshots them with headless Chromium into docs/images/notify-*.png.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$root/hack/notifications/render.py" "$tmp"
for f in slack-succeeded teams-succeeded slack-budgetexhausted teams-budgetexhausted slack-digest teams-digest slack-proposed; do
	h=560
	case $f in *digest*) h=780 ;; *budget*) h=470 ;; *proposed*) h=460 ;; esac
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
		--no-first-run --hide-scrollbars --user-data-dir="$tmp/profile" \
		--screenshot="$root/docs/images/notify-$f.png" --window-size=800,$h "file://$tmp/$f.html" >/dev/null 2>&1
done
