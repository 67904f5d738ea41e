"""The benchmark's TSV rows (key, value, unit per line), for bench/compare.sh's tables."""


def load(path):
    """{key: (value, unit)} of a TSV file; lines without three fields are skipped."""
    rows = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3:
            rows[parts[0]] = (float(parts[1]), parts[2])
    return rows


def rounds(path):
    """{key: [value of each round, in order]} of a TSV file that holds several runs' rows."""
    values = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3:
            values.setdefault(parts[0], []).append(float(parts[1]))
    return values


def round_ratios(values, key, base_key):
    """Each round's value of `key` over the same round's value of `base_key`."""
    return [a / b for a, b in zip(values.get(key, []), values.get(base_key, []))]
