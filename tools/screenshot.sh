#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Executes the quickstart notebook in the Deno kernel, converts it to HTML and screenshots
# it with headless Chromium, offline (plotly.js is embedded in the notebook's first figure).
#
# Usage: tools/screenshot.sh [--figure] [NOTEBOOK] [PNG]
#   NOTEBOOK  default notebooks/00_quickstart.ipynb
#   PNG       default docs/quickstart_plot.png
#   --figure  screenshot only the notebook's first Plotly figure instead of the top of the page
#   WINDOW_SIZE=W,H  browser window, i.e. the screenshot size (default 1200,900; 1200,470 with --figure)
#
# Needs Debian's chromium and jupyter-nbconvert: apt-get install -y chromium jupyter-nbconvert
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '7,13p' "$0" | sed 's/^# \{0,1\}//'; }
figure_only=0
positional=()
for arg in "$@"; do
  case "${arg}" in
    --figure) figure_only=1 ;;
    --help | -h) usage; exit 0 ;;
    -*) echo "screenshot: unknown flag ${arg} (see --help)" >&2; exit 2 ;;
    *) positional+=("${arg}") ;;
  esac
done
if [[ ${#positional[@]} -gt 2 ]]; then
  echo "screenshot: expected at most NOTEBOOK and PNG, got ${#positional[@]} arguments (see --help)" >&2
  exit 2
fi
set -- "${positional[@]+"${positional[@]}"}"
notebook="${1:-notebooks/00_quickstart.ipynb}"
png="${2:-docs/quickstart_plot.png}"
window="${WINDOW_SIZE:-1200,900}"
if [[ ${figure_only} -eq 1 ]]; then window="${WINDOW_SIZE:-1200,470}"; fi
name="$(basename "${notebook}" .ipynb)"

chromium="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "${chromium}" ]]; then
  echo "screenshot: chromium is not installed: apt-get install -y chromium" >&2
  exit 1
fi

/usr/bin/python3 tools/run_notebooks.py --html "${notebook}"
page="build/notebooks/${name}.html"

if [[ ${figure_only} -eq 1 ]]; then
  # The first figure's HTML output carries plotly.js itself, so it renders on its own.
  page="build/notebooks/${name}_figure.html"
  /usr/bin/python3 - "build/notebooks/${name}.ipynb" "${page}" <<'EOF'
import sys
import nbformat

nb = nbformat.read(sys.argv[1], as_version=4)
for cell in nb.cells:
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "application/vnd.plotly.v1+json" in data and "text/html" in data:
            with open(sys.argv[2], "w") as f:
                f.write('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n')
                f.write(data["text/html"] + "\n</body></html>\n")
            sys.exit(0)
sys.exit(f"screenshot: {sys.argv[1]} has no Plotly figure output")
EOF
fi

mkdir -p "$(dirname "${png}")"
rm -f "${png}"
log="build/notebooks/chromium.log"
# --virtual-time-budget lets the figure scripts (which poll for window.Plotly) finish.
# Chromium's stderr (D-Bus noise in containers) goes to a log, shown only on failure.
if ! "${chromium}" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --no-first-run --disable-component-update --disable-sync --allow-file-access-from-files \
  --hide-scrollbars --virtual-time-budget=10000 \
  --screenshot="${png}" --window-size="${window}" "file://${PWD}/${page}" 2>"${log}" ||
  [[ ! -s "${png}" ]]; then
  cat "${log}" >&2
  echo "screenshot: chromium did not write ${png}" >&2
  exit 1
fi
echo "wrote ${png} (${window}) from ${page}"
