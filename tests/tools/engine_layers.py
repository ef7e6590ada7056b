#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that the engine's files call one another only downwards, and
that each sits in its layer's folder.

The layers are the table in kernel-shim/engine/README.md ("Layers", between
the <!-- layers:begin/end --> markers): a row per layer, numbered from the
bottom, naming its .c files and the lower layers it may call (a layer may
skip one below it: the transports and the state machines are siblings,
neither calls the other).  The call graph is the linker's view of the
built library (nm on libsrxe_engine.a): a file "calls" another when it
references a global symbol the other defines.  That includes calls made by
static inline functions of headers (they are compiled into the including
file) and a function's address taken as a callback, and excludes calls
through function pointers, which is what the ports between layers are for.

Fails, naming each offending edge and its symbols, when
  - a file calls a file of another layer that its layer may not call (a
    higher one, which a cycle between layers needs, or a lower one left
    out), unless the README lists the edge as an exception;
  - a layer's row lets it call its own or a higher layer;
  - an engine .c file is in no layer, in two, or a listed file is missing;
  - the library holds an object no layer names;
  - a file is not in its layer's folder (the table's folder column,
    `engine/<folder>/`, under --src): a layer's .c files, the headers its
    row lists ("headers: ...") and each .c file's own header (x.c, x.h);
    the headers the README lists after <!-- layers:shared --> (shared by
    every layer) sit at the top of --src; a header is in no layer and not
    shared; two files have one name anywhere under --src.
Files are found under --src recursively and named by their basename, as
the table and the archive's members name them.
Cycles between files of one layer are printed as notes.

usage: engine_layers.py --lib libsrxe_engine.a --src kernel-shim/engine
                        [--readme kernel-shim/engine/README.md] [--nm nm]
"""
import argparse
import os
import re
import subprocess
import sys


def parse_readme(path):
    """{file.c: layer}, {layer: name}, {layer: {callable layers}},
    {(from, to): {symbols}}, {layer: folder}, {file.h: layer},
    {shared file.h}, [errors]"""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- layers:begin -->(.*?)<!-- layers:end -->", text,
                  re.S)
    if not m:
        sys.exit(f"{path}: no <!-- layers:begin --> ... end table")
    layer_of, names, may, errors = {}, {}, {}, []
    folders, header_of = {}, {}
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].isdigit():
            continue
        n = int(cells[0])
        names[n] = cells[1]
        may[n] = {int(x) for x in re.findall(r"\d+", cells[3])}
        for m in sorted(may[n]):
            if m >= n:
                errors.append(f"layer {n} may call layer {m}: only lower "
                              "layers keep the graph free of cycles")
        for c in re.findall(r"`([\w.]+\.c)`", cells[2]):
            if c in layer_of:
                errors.append(f"{c} is in layers {layer_of[c]} and {n}")
            layer_of[c] = n
        for h in re.findall(r"`([\w.]+\.h)`", cells[2]):
            if header_of.get(h, n) != n:
                errors.append(f"{h} is in layers {header_of[h]} and {n}")
            header_of[h] = n
        f = re.findall(r"`([\w./-]+)`", cells[5]) if len(cells) > 5 else []
        if len(f) != 1:
            errors.append(f"layer {n} ({cells[1]}) names no folder")
        else:
            folders[n] = f[0]
    shared = set()
    m = re.search(r"<!-- layers:shared -->(.*?)(?:\n\n|\Z)", text, re.S)
    if m:
        shared = set(re.findall(r"`([\w.]+\.h)`", m.group(1)))
    for h in sorted(shared & header_of.keys()):
        errors.append(f"{h} is shared and in layer {header_of[h]}")
    for c, n in layer_of.items():
        h = c[:-2] + ".h"
        if h in shared:
            continue
        if header_of.get(h, n) != n:
            errors.append(f"{h} is in layer {header_of[h]}, its {c} in {n}")
        header_of.setdefault(h, n)
    exceptions = {}
    m = re.search(r"<!-- layers:exceptions -->(.*?)(?:\n\n|\Z)", text, re.S)
    if m:
        for a, b, syms in re.findall(
                r"`([\w.]+\.c)` -> `([\w.]+\.c)` \(([^)]*)\)", m.group(1)):
            exceptions[(a, b)] = set(re.findall(r"`(\w+)`", syms))
    if not layer_of:
        errors.append(f"{path}: the layers table names no file")
    return layer_of, names, may, exceptions, folders, header_of, shared, \
        errors


def symbols(nm, lib):
    """{member.c: set(defined globals)}, {member.c: set(undefined)}"""
    out = subprocess.run([nm, "-P", "-A", lib], check=True,
                         capture_output=True, text=True).stdout
    defs, undefs = {}, {}
    for line in out.splitlines():
        m = re.match(r"^.*\[([\w.]+?)(?:\.o|\.obj)\]: (\S+) (\w)", line)
        if not m:
            continue
        member, sym, kind = m.groups()
        defs.setdefault(member, set())
        undefs.setdefault(member, set())
        if kind == "U":
            undefs[member].add(sym)
        elif kind.isupper() or kind in "iuvw":
            defs[member].add(sym)
    return defs, undefs


def sccs(nodes, edges):
    """Tarjan: strongly connected components of more than one node."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--readme")
    ap.add_argument("--nm", default="nm")
    a = ap.parse_args()
    readme = a.readme or os.path.join(a.src, "README.md")
    (layer_of, names, may, exceptions, folders, header_of, shared,
     errors) = parse_readme(readme)

    def place(rel):
        return os.path.join(a.src, rel) if rel else a.src

    where = {}  # basename -> folder under --src ("" for the top)
    for d, dirs, files in os.walk(a.src):
        dirs.sort()
        rel = os.path.relpath(d, a.src)
        rel = "" if rel == "." else rel
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            if f in where:
                errors.append(f"{f} is in {place(where[f])} and "
                              f"{place(rel)}")
            where[f] = rel
    sources = {f for f in where if f.endswith(".c")}
    for f in sorted(sources - layer_of.keys()):
        errors.append(f"{f} is in no layer of {readme}")
    for f in sorted(layer_of.keys() - sources):
        errors.append(f"{f} is in the layers table but not in {a.src}")

    top = os.path.basename(os.path.normpath(os.path.abspath(a.src)))
    for f in sorted(where):
        n = layer_of.get(f, header_of.get(f))
        if n is None and f.endswith(".c"):
            continue  # in no layer: said above
        if n is None and f not in shared:
            errors.append(f"{f} is in no layer of {readme} and not shared")
            continue
        if n is None:
            want, what = "", "shared by all layers"
        elif n in folders:
            parts = folders[n].strip("/").split("/")
            if parts and parts[0] == top:
                parts = parts[1:]
            want, what = os.path.join(*parts) if parts else "", \
                f"layer {n} {names[n]}, folder `{folders[n]}`"
        else:
            continue  # the layer names no folder: said above
        if where[f] != want:
            errors.append(f"{f} is in {place(where[f])}, not {place(want)} "
                          f"({what})")

    defs, undefs = symbols(a.nm, a.lib)
    if len(defs) < 2:
        errors.append(f"{a.lib}: nm found no objects")
    for f in sorted(defs.keys() - layer_of.keys()):
        errors.append(f"{a.lib} holds {f}, which is in no layer")
    owner = {}
    for f, syms in defs.items():
        for s in syms:
            owner[s] = f

    calls = {}  # (from, to) -> symbols
    for f, syms in undefs.items():
        for s in syms:
            g = owner.get(s)
            if g and g != f:
                calls.setdefault((f, g), set()).add(s)

    if not calls:
        errors.append(f"{a.lib}: no call between two files found (is this "
                      "nm's POSIX output?)")
    used = set()
    for (f, g), syms in sorted(calls.items()):
        lf, lg = layer_of.get(f), layer_of.get(g)
        if lf is None or lg is None or lg == lf or lg in may[lf]:
            continue
        allowed = exceptions.get((f, g), set())
        bad = sorted(syms - allowed)
        if syms & allowed:
            used.add((f, g))
        if bad:
            errors.append(
                f"{'upward' if lg > lf else 'forbidden'} call: {f} (layer "
                f"{lf} {names[lf]}) -> {g} (layer {lg} {names[lg]}): "
                f"{', '.join(bad)}")
    for e in sorted(exceptions.keys() - used):
        print(f"note: the exception {e[0]} -> {e[1]} is no longer needed: "
              f"remove it from {readme}")

    by_layer = {}
    for (f, g) in calls:
        if layer_of.get(f) is not None and layer_of.get(f) == \
                layer_of.get(g):
            by_layer.setdefault(f, set()).add(g)
    for comp in sccs(set(by_layer), by_layer):
        print(f"note: a cycle inside layer {layer_of[comp[0]]}: "
              f"{' <-> '.join(comp)}")

    for e in errors:
        print(f"FAIL: {e}")
    n = len({f for f in layer_of})
    print(f"{len(calls)} file-to-file call edges among {n} files, "
          f"{len(names)} layers: {'FAIL' if errors else 'ok'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
