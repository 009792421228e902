#!/usr/bin/env python3
"""Checks that the modules of each crate import one another downward only.

    python3 tools/module_cycles.py yail-core yail-proto yail-state
    python3 tools/module_cycles.py --layers yail-core yail-proto

For each crate it maps every source file under `src/` to its module path
(`lib.rs` is the root; `main.rs` is the root of a crate without `lib.rs`),
reads every path a module names (`crate::a::b`, `super::x`, a child's
`child::y`, a name brought in by `use`), resolves it to the deepest module
it reaches, follows `use` re-exports to the module that defines the item,
and draws an edge from the naming module to that one. Unit tests
(`#[cfg(test)]` items, files named `tests.rs`) are left out: a test may
reach for whatever it checks.

Without flags it reports every cycle of modules (files). With `--layers`
it also reports each import that runs back up the tree of modules:

- a module importing an item defined in a module above it, the `mod.rs`
  (or the crate root) that declares it, directly or further up;
- a cycle between folders: each level of the tree is collapsed to the
  modules directly under one parent (a folder stands for everything in
  it), and siblings that import each other in a loop are reported even
  when no pair of files does. Of such a loop, the imports against the
  order that leaves the fewest imports running upward are the ones
  reported (each loop has at least one).

Each report names the file, the line and the path as written. Exits
non-zero if anything is reported. `--verbose` prints every edge.
Standard library only.
"""
import itertools
import pathlib
import re
import sys

# -- Reading the source ------------------------------------------------------

CHAR_LITERAL = re.compile(r"b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'")
RAW_STRING = re.compile(r'b?r(#*)"')


def blank(text):
    """`text` with its newlines kept and everything else removed."""
    return "\n" * text.count("\n")


def strip_comments(text):
    """The text without comments, string literals and character literals
    (whose braces would confuse the block matching below). Newlines stay
    where they were, so offsets still give the right line."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            depth, j = 0, i
            while j < n:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                    if depth == 0:
                        break
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := RAW_STRING.match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = '"' + m.group(1)
            end = text.find(close, m.end())
            end = n if end < 0 else end + len(close)
            out.append('""' + blank(text[i:end]))
            i = end
        elif c == '"' or (c == "b" and text.startswith('b"', i) and (i == 0 or not text[i - 1].isalnum())):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + blank(text[i:j + 1]))
            i = j + 1
        elif c in "'b" and (m := CHAR_LITERAL.match(text, i)) and (c == "'" or i == 0 or not text[i - 1].isalnum()):
            out.append("' '")
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def block_end(text, start):
    """Where the item starting at `start` ends: after its closing brace, or
    after its semicolon when one comes before any brace."""
    depth, k = 0, start
    while k < len(text):
        c = text[k]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return k + 1
        elif c == ";" and depth == 0:
            return k + 1
        k += 1
    return k


def strip_tests(text):
    """The text without `#[cfg(test)]` items (a module block or a line),
    newlines kept."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        end = block_end(text, m.end())
        out.append(blank(text[m.start():end]))
        i = end
    out.append(text[i:])
    return "".join(out)


def inline_modules_flattened(text):
    """`super::` inside an inline `mod name { ... }` names the file's own
    module; rewritten to `self::` so it resolves there."""
    out, i = [], 0
    for m in re.finditer(r"\bmod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        end = block_end(text, m.start())
        out.append(text[i:m.start()])
        out.append(text[m.start():end].replace("super::", "self::"))
        i = end
    out.append(text[i:])
    return "".join(out)


def expand(tree, prefix=()):
    """The paths of a `use` tree, flattened: (segments, the name bound)."""
    tree = tree.strip()
    if "{" not in tree:
        path, _, alias = tree.partition(" as ")
        segments = list(prefix) + [p.strip() for p in path.split("::") if p.strip()]
        if segments and segments[-1] == "self":
            segments.pop()
        bound = alias.strip() or (segments[-1] if segments else "")
        return [(segments, bound)] if segments else []
    head, rest = tree.split("{", 1)
    inner = rest.rsplit("}", 1)[0]
    base = list(prefix) + [p.strip() for p in head.split("::") if p.strip()]
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


USE = re.compile(r"\buse\s+([^;]+);")
PATH = re.compile(r"\b((?:crate|super|self|[a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


class Module:
    """One module: its file, its text as read, and the names its `use`
    declarations bring in (name -> path as written)."""

    def __init__(self, file, text):
        self.file = file
        self.text = text
        self.uses = {}
        for m in USE.finditer(text):
            for segments, bound in expand(m.group(1).replace("\n", " ")):
                if bound and bound not in ("*", "_"):
                    self.uses[bound] = segments

    def paths_named(self):
        """Every path the module names, with its offset: the paths of `use`
        trees, flattened, and every other `a::b::c`."""
        found = []
        for m in USE.finditer(self.text):
            for segments, _ in expand(m.group(1).replace("\n", " ")):
                found.append((segments, m.start()))
        for m in PATH.finditer(self.text):
            found.append((m.group(1).split("::"), m.start()))
        return found

    def line_of(self, offset):
        return self.text.count("\n", 0, offset) + 1


def module_of(src, path):
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod" or parts in (["lib"], ["main"]):
        parts.pop()
    return tuple(parts)


def read_crate(crate):
    """The crate's modules by path. `main.rs` and `src/bin/` are crates of
    their own beside a `lib.rs`, which they reach by the crate's name."""
    src = pathlib.Path(crate) / "src"
    has_lib = (src / "lib.rs").exists()
    modules = {}
    for path in sorted(src.rglob("*.rs")):
        relative = path.relative_to(src).parts
        if relative[0] == "bin" or (has_lib and relative == ("main.rs",)):
            continue
        module = module_of(src, path)
        if module and module[-1] == "tests":
            continue
        text = inline_modules_flattened(strip_tests(strip_comments(path.read_text())))
        modules[module] = Module(path, text)
    return modules


# -- Resolving paths ---------------------------------------------------------


class Import:
    """A path a module names that resolves to another module of the crate."""

    def __init__(self, source, target, named, line, item):
        self.source = source  # the naming module
        self.target = target  # the module defining what is named
        self.named = named  # the path as written
        self.line = line
        self.item = item  # the name taken from `target` (or the module's)


def resolve(modules, module, segments, depth=0):
    """(defining module, the rest of the path) for a path named in
    `module`, or `None` for a path into another crate."""
    if not segments or depth > 8:
        return None
    head = segments[0]
    if head == "crate":
        target, rest = [], segments[1:]
    elif head == "super":
        target, rest = list(module), list(segments)
        while rest and rest[0] == "super":
            target, rest = target[:-1], rest[1:]
    elif head == "self":
        target, rest = list(module), segments[1:]
    elif module + (head,) in modules:
        target, rest = list(module), list(segments)
    elif head in modules[module].uses and modules[module].uses[head] != [head]:
        return resolve(modules, module, modules[module].uses[head] + segments[1:], depth + 1)
    else:
        return None  # another crate, or a name of this module
    rest = list(rest)
    while rest and tuple(target + [rest[0]]) in modules:
        target.append(rest.pop(0))
    target = tuple(target)
    if target not in modules:
        return None
    # A name the target only re-exports (`pub use`, or a `use` a child can
    # see) is defined where that `use` points.
    if rest and rest[0] in modules[target].uses:
        further = resolve(modules, target, modules[target].uses[rest[0]] + rest[1:], depth + 1)
        if further is not None:
            return further
    return target, rest


def check(crate):
    """The crate's modules and its imports between distinct modules."""
    modules = read_crate(crate)
    imports, seen = [], set()
    for module, m in modules.items():
        for segments, offset in m.paths_named():
            resolved = resolve(modules, module, segments)
            if resolved is None:
                continue
            target, rest = resolved
            if target == module:
                continue
            item = rest[0] if rest else (target[-1] if target else "crate")
            named = "::".join(segments)
            key = (module, target, item)
            if key in seen:
                continue
            seen.add(key)
            imports.append(Import(module, target, named, m.line_of(offset), item))
    return modules, imports


# -- Cycles of files ---------------------------------------------------------


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


# -- Layers ------------------------------------------------------------------


def is_above(upper, lower):
    """Whether `upper` encloses `lower` (is a proper prefix of it)."""
    return len(upper) < len(lower) and lower[: len(upper)] == upper


def parent_imports(imports):
    """Imports of an item defined in an enclosing module."""
    return [i for i in imports if is_above(i.target, i.source)]


def strongly_connected(nodes, edges):
    """Tarjan's components of the graph, each a sorted list."""
    graph = {n: sorted({t for s, t in edges if s == n}) for n in nodes}
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(n):
        index[n] = low[n] = len(index)
        stack.append(n)
        on_stack.add(n)
        for t in graph[n]:
            if t not in index:
                visit(t)
                low[n] = min(low[n], low[t])
            elif t in on_stack:
                low[n] = min(low[n], index[t])
        if low[n] == index[n]:
            component = []
            while True:
                t = stack.pop()
                on_stack.discard(t)
                component.append(t)
                if t == n:
                    break
            out.append(sorted(component))

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return out


def best_order(members, weight):
    """The order of `members` (bottom first) that leaves the least weight
    on edges running back up; ties go to the first order in name order.
    Exhaustive up to 7 members, greedy beyond."""

    def upward(order):
        rank = {m: i for i, m in enumerate(order)}
        return sum(w for (s, t), w in weight.items() if rank[s] < rank[t])

    if len(members) <= 7:
        return min(itertools.permutations(members), key=upward)
    order, left = [], set(members)
    while left:
        # The member that imports least from those still left goes lowest.
        pick = min(sorted(left), key=lambda m: sum(w for (s, t), w in weight.items() if s == m and t in left))
        order.append(pick)
        left.discard(pick)
    return tuple(order)


def sibling_cycles(modules, imports):
    """For every module with children, the loops among its children, each
    child standing for everything under it: [(parent, members, imports
    running back up)]."""
    by_pair = {}
    for i in imports:
        if is_above(i.target, i.source) or is_above(i.source, i.target):
            continue
        common = 0
        while i.source[common] == i.target[common]:
            common += 1
        parent = i.source[:common]
        pair = (i.source[: common + 1], i.target[: common + 1])
        by_pair.setdefault(parent, {}).setdefault(pair, []).append(i)
    found = []
    for parent, pairs in sorted(by_pair.items()):
        nodes = sorted({m for pair in pairs for m in pair})
        for members in strongly_connected(nodes, list(pairs)):
            if len(members) < 2:
                continue
            inside = {p: v for p, v in pairs.items() if p[0] in members and p[1] in members}
            weight = {p: len(v) for p, v in inside.items()}
            rank = {m: k for k, m in enumerate(best_order(members, weight))}
            back = [i for (s, t), v in sorted(inside.items()) if rank[s] < rank[t] for i in v]
            found.append((parent, members, back))
    return found


# -- Report ------------------------------------------------------------------


def name(crate, module):
    return "::".join([pathlib.Path(crate).resolve().name.replace("-", "_")] + list(module))


def where(modules, i):
    return f"{modules[i.source].file}:{i.line}"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    verbose = "--verbose" in sys.argv
    layers = "--layers" in sys.argv
    bad = False
    for crate in args:
        modules, imports = check(crate)
        edges = {(i.source, i.target) for i in imports}
        if verbose:
            for s, t in sorted(edges):
                print(f"  {name(crate, s)} -> {name(crate, t)}")
        found = cycles(modules, edges)
        for c in found:
            bad = True
            print(f"{crate}: cycle " + " -> ".join(name(crate, m) for m in c))
        upward = 0
        if layers:
            for i in sorted(parent_imports(imports), key=lambda i: (str(modules[i.source].file), i.line)):
                upward += 1
                print(
                    f"{where(modules, i)}: `{i.named}` imports from {name(crate, i.target)}, "
                    f"which encloses {name(crate, i.source)}"
                )
            for parent, members, back in sibling_cycles(modules, imports):
                loop = ", ".join(name(crate, m) for m in members)
                print(f"{crate}: the modules under {name(crate, parent)} import each other in a loop: {loop}")
                for i in back:
                    upward += 1
                    print(
                        f"  {where(modules, i)}: `{i.named}` runs back up "
                        f"({name(crate, i.source)} -> {name(crate, i.target)})"
                    )
            bad = bad or upward > 0
        if not found and not upward:
            checked = "no cycle, no import back up" if layers else "no cycle"
            print(f"{crate}: {len(modules)} modules, {len(edges)} imports, {checked}")
        elif upward:
            print(f"{crate}: {upward} imports run back up")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
