#!/usr/bin/env python3
"""Prints which capability modules of the kencho crate name which others, and any cycle.

A capability is a top-level module of crates/kencho/src; the lower layers every capability may
use (see LOWER: the actor types, security policy and log, the worker runner, clock, files, errors, database,
texts, crypto, audit, mail, notify, tenants, procedures) and the layers above (web, config,
flows, demo, bench, main, lib) are not capabilities. A capability naming another, or a lower
module naming a capability or a layer above, is reported. Usage: scripts/capability-graph.py [--check]
"""
import os, re, sys
from collections import defaultdict

SRC = os.path.join(os.path.dirname(__file__), "..", "crates", "kencho", "src")
LOWER = {"actor", "security", "worker", "clock", "blobs", "error", "db", "i18n", "crypto", "audit", "mail", "notify", "tenants",
         "procedures"}
ABOVE = {"web", "flows", "config", "demo", "bench", "main", "lib"}

def module_of(path):
    rel = os.path.relpath(path, SRC)
    top = rel.split(os.sep)[0]
    return top[:-3] if top.endswith(".rs") else top

def strip_tests(text):
    # Code after `#[cfg(test)]` at the start of a line is the file's test module.
    m = re.search(r"^#\[cfg\(test\)\]", text, re.M)
    text = text[: m.start()] if m else text
    # Comments may name other modules (doc links); only code counts.
    return "\n".join(line.split("//")[0] for line in text.splitlines())

edges = defaultdict(lambda: defaultdict(list))
for root, _, files in os.walk(SRC):
    for f in files:
        if not f.endswith(".rs"):
            continue
        p = os.path.join(root, f)
        src = module_of(p)
        text = strip_tests(open(p, encoding="utf-8").read())
        for m in re.finditer(r"crate::(\w+)", text):
            dst = m.group(1)
            if dst != src:
                edges[src][dst].append(os.path.relpath(p, SRC))

caps = {m for m in set(edges) | {d for s in edges for d in edges[s]} if m not in LOWER | ABOVE}
bad = []
for s in sorted(edges):
    for d in sorted(edges[s]):
        if s in caps and d in caps:
            bad.append((s, d, sorted(set(edges[s][d]))))
        elif s in LOWER and (d in caps or d in ABOVE):
            bad.append((s, d, sorted(set(edges[s][d]))))
        elif s in caps and d in ABOVE:
            bad.append((s, d, sorted(set(edges[s][d]))))
for s, d, files in bad:
    print(f"{s} -> {d}: {', '.join(files)}")
if "--check" in sys.argv:
    sys.exit(1 if bad else 0)
