"""Converts tests/conformance/*.toml into the line format bindings-c/tests/conformance_runner.c reads.

One record per line, tab-separated (values never contain tabs or newlines):
  F <file> <name>            a scenario starts
  C <type> <key> <value>     a [config] entry, in file order (type: s, i, f, b)
  X <key>                    [expect_config_error] key
  T                          a [[step]] starts
  K <type> <key> <value>     a step entry; inline tables are flattened to "table.key"
  A <key> <value>            one item of an array (strings), after "K a <key> <length>"
  E                          the scenario ends
Usage: python3 conformance_to_lines.py FILE.toml...  (needs Python 3.11+ for tomllib)
"""
import sys
import tomllib


def typed(v):
    if isinstance(v, bool):
        return "b", "true" if v else "false"
    if isinstance(v, int):
        return "i", str(v)
    if isinstance(v, float):
        return "f", repr(v)
    if isinstance(v, str):
        return "s", v
    raise SystemExit(f"unsupported value {v!r}")


def clean(s):
    if "\t" in s or "\n" in s:
        raise SystemExit(f"value with a tab or newline is not supported: {s!r}")
    return s


def entries(prefix, table, out):
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            entries(f"{key}.", v, out)
        elif isinstance(v, list):
            out.append(f"K\ta\t{key}\t{len(v)}")  # presence (also of an empty list) and length
            for item in v:
                out.append(f"A\t{key}\t{clean(str(item))}")
        else:
            t, s = typed(v)
            out.append(f"K\t{t}\t{key}\t{clean(s)}")


def main(paths):
    out = []
    for path in paths:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        name = path.rsplit("/", 1)[-1]
        out.append(f"F\t{name}\t{clean(doc.get('name', name))}")
        for k, v in doc.get("config", {}).items():
            t, s = typed(v)
            out.append(f"C\t{t}\t{k}\t{clean(s)}")
        if "expect_config_error" in doc:
            out.append(f"X\t{doc['expect_config_error'].get('key', '')}")
        for step in doc.get("step", []):
            out.append("T")
            entries("", step, out)
        out.append("E")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
