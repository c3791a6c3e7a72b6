#!/bin/sh
# Unpacks the gzipped Llama 3 tokenizer of every model folder here into tokenizer.json (git-ignored),
# so the engine's loader, which reads plain files only, can open the folder. Idempotent; needs only
# gzip or python3, so it runs on the build machine and on the GPU machine alike.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for gz in "$here"/models/*/tokenizer.json.gz; do
  out=${gz%.gz}
  [ -s "$out" ] && [ "$out" -nt "$gz" ] && continue
  if command -v gzip >/dev/null 2>&1; then
    gzip -dc "$gz" > "$out.tmp"
  else
    python3 -c 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$gz" "$out.tmp"
  fi
  mv "$out.tmp" "$out"
  echo "unpacked $out"
done
