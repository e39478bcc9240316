#!/usr/bin/env python3
"""Print the mined words of processor/scrubprocessor/vocabulary.txt.

Words (runs of letters and digits, split at camelCase, lower-cased, numbers
left out) of: the semantic conventions' attribute keys, enumerated values and
metric names; the metric names, descriptions and units of every metadata.yaml
of the collector modules and of this repository; and the names Chroma emits in
the telemetry corpus. The curated English words of vocabulary.txt are not
printed. Run from the repository root:

    python3 scripts/scrub-vocabulary.py [corpus-dir]
"""
import glob
import json
import os
import re
import subprocess
import sys

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CORPUS_KEYS = {"code.namespace", "target", "thread.name", "include", "level", "classification",
               "http.method", "http.version", "http.route"}


def add(words, s):
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", UUID.sub("", s))
    for w in re.findall(r"[A-Za-z0-9]+", s):
        if not w.isdigit():
            words.add(w.lower())


def semconv(words, modcache):
    root = sorted(glob.glob(modcache + "/go.opentelemetry.io/otel@*/semconv/v1.*"),
                  key=lambda p: [int(x) for x in re.findall(r"\d+", p.rsplit("/", 1)[1])])[-1]
    for f in glob.glob(root + "/**/*.go", recursive=True):
        if f.endswith("_test.go"):
            continue
        src = open(f).read()
        for pat in (r'attribute\.Key\("([^"]+)"\)', r'Name\s*=\s*"([^"]+)"', r'(?:Key|Name)\w*\.String\("([^"]+)"\)'):
            for s in re.findall(pat, src):
                add(words, s)


def metadata(words, modcache):
    files = glob.glob(modcache + "/go.opentelemetry.io/collector/**/metadata.yaml", recursive=True)
    files += glob.glob("**/metadata.yaml", recursive=True)
    for f in files:
        t = open(f).read()
        for pat in (r"^\s{2}([a-z][\w.]+):\s*$", r"description:\s*(.+)$", r"unit:\s*(.+)$"):
            for s in re.findall(pat, t, re.M):
                add(words, s)


def corpus(words, d):
    for f in glob.glob(d + "/*.otlp.jsonl"):
        for line in open(f):
            o = json.loads(line)["otlp_json"]
            for rs in o.get("resourceSpans", []):
                for ss in rs["scopeSpans"]:
                    add(words, ss["scope"].get("name", ""))
                    for sp in ss["spans"]:
                        add(words, sp["name"])
                        attrs(words, sp.get("attributes"))
                        for e in sp.get("events", []):
                            add(words, e.get("name", ""))
                            attrs(words, e.get("attributes"))
            for rm in o.get("resourceMetrics", []):
                for sm in rm["scopeMetrics"]:
                    add(words, sm["scope"].get("name", ""))
                    for m in sm["metrics"]:
                        add(words, m["name"])


def attrs(words, kvs):
    for a in kvs or []:
        add(words, a["key"])
        if a["key"] in CORPUS_KEYS:
            add(words, str(next(iter(a["value"].values()), "")))


def main():
    modcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    words = set()
    semconv(words, modcache)
    metadata(words, modcache)
    corpus(words, sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus/chroma-1.0.1")
    print("\n".join(sorted(words)))


if __name__ == "__main__":
    main()
