#!/usr/bin/env python3
"""Checks that the modules of each library crate import one another without
cycles, so every module depends only on modules below it.

    python3 tools/module_cycles.py yail-core yail-proto yail-state

For each crate it maps every source file under `src/` to its module path,
reads every path a module names (`crate::a::b`, `super::x`, a child's
`child::y`), resolves it to the deepest module it reaches, and draws an
edge from the naming module to that one. Unit tests (`#[cfg(test)]`
modules, files named `tests.rs`) are left out: a test may reach for
whatever it checks. Re-exports at the crate root are followed to where the
item is defined. Prints each crate's edges with `--verbose`, every cycle
found, and exits non-zero if there is one. Standard library only.
"""
import pathlib
import re
import sys


def module_of(src, path):
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts.pop()
    return tuple(parts)


def strip_tests(text):
    """The text without `#[cfg(test)]` items (a module block or a line)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        j = m.end()
        # Skip the item: to the end of its block or its semicolon.
        depth, k = 0, j
        while k < len(text):
            c = text[k]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    k += 1
                    break
            elif c == ";" and depth == 0:
                k += 1
                break
            k += 1
        i = k
    out.append(text[i:])
    return "".join(out)


def strip_comments(text):
    """The text without comments, string literals and character literals
    (whose braces would confuse `strip_tests`)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    text = re.sub(r"b?'(?:\\.|[^'\\])'", "' '", text)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def inline_modules_flattened(text):
    """`super::` inside an inline `mod name { ... }` names the file's own
    module; rewritten to `self::` so it resolves there."""
    out, i = [], 0
    for m in re.finditer(r"\bmod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        depth, k = 0, m.end() - 1
        while k < len(text):
            depth += text[k] == "{"
            depth -= text[k] == "}"
            k += 1
            if depth == 0:
                break
        out.append(text[i:m.start()])
        out.append(text[m.start():k].replace("super::", "self::"))
        i = k
    out.append(text[i:])
    return "".join(out)


def paths_named(text):
    """Every `a::b::c` path and every path inside `use` trees, flattened."""
    found = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        found.extend(expand(m.group(1).replace("\n", " ")))
    for m in re.finditer(r"\b((?:crate|super|self|[a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
        found.append(m.group(1).split("::"))
    return found


def expand(tree, prefix=()):
    tree = tree.strip()
    if "{" not in tree:
        name = tree.split(" as ")[0].strip()
        return [list(prefix) + [p for p in name.split("::") if p]]
    head, rest = tree.split("{", 1)
    inner = rest.rsplit("}", 1)[0]
    base = list(prefix) + [p for p in head.split("::") if p]
    parts, depth, cur = [], 0, ""
    for c in inner:
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += c == "{"
        depth -= c == "}"
        cur += c
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip():
            out.extend(expand(p, base))
    return out


def check(crate):
    src = pathlib.Path(crate) / "src"
    modules = {}
    for path in sorted(src.rglob("*.rs")):
        module = module_of(src, path)
        if module and module[-1] == "tests":
            continue
        text = inline_modules_flattened(strip_tests(strip_comments(path.read_text())))
        modules[module] = text
    # Re-exports at the root: name -> defining path.
    reexports = {}
    for p in paths_named(modules.get((), "")):
        if len(p) > 1 and p[0] not in ("crate", "super", "self", "std", "core"):
            reexports[p[-1]] = [q for q in p if q not in ("crate", "self")]
    edges = set()
    for module, text in modules.items():
        for path in paths_named(text):
            if path[0] == "crate":
                target, rest = [], path[1:]
            elif path[0] == "super":
                target, rest = list(module), path
                while rest and rest[0] == "super":
                    target, rest = target[:-1], rest[1:]
            elif path[0] == "self":
                target, rest = list(module), path[1:]
            elif tuple(module) + (path[0],) in modules:
                target, rest = list(module), path
            else:
                continue  # another crate
            if not target and rest and rest[0] in reexports and tuple(rest[:1]) not in modules:
                rest = reexports[rest[0]]
            for name in rest:
                if tuple(target + [name]) in modules:
                    target.append(name)
                else:
                    break
            target = tuple(target)
            if target != module and target in modules:
                edges.add((module, target))
    return modules, edges


def cycles(nodes, edges):
    graph = {n: sorted(t for s, t in edges if s == n) for n in nodes}
    found, state, stack = [], {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for t in graph[n]:
            if state.get(t) == 1:
                found.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[n] = 2

    for n in sorted(nodes):
        if n not in state:
            visit(n)
    return found


def name(crate, module):
    return "::".join([crate.replace("-", "_")] + list(module))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    verbose = "--verbose" in sys.argv
    bad = False
    for crate in args:
        modules, edges = check(crate)
        if verbose:
            for s, t in sorted(edges):
                print(f"  {name(crate, s)} -> {name(crate, t)}")
        found = cycles(modules, edges)
        for c in found:
            bad = True
            print(f"{crate}: cycle " + " -> ".join(name(crate, m) for m in c))
        if not found:
            print(f"{crate}: {len(modules)} modules, {len(edges)} imports, no cycle")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
