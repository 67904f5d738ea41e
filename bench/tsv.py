"""The benchmark's TSV rows (key, value, unit per line), for bench/compare.sh's tables."""

import statistics


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


def alternating(values, key, base_key):
    """Rounds that alternated `key` with `base_key`: (how many, the median of
    the rounds' ratios, each round's ratio as "1.23x, …", key's median,
    base_key's median), or None when there are no rounds."""
    ratios = [a / b for a, b in zip(values.get(key, []), values.get(base_key, []))]
    if not ratios:
        return None
    return (len(ratios), statistics.median(ratios), ", ".join(f"{r:.2f}x" for r in ratios),
            statistics.median(values[key]), statistics.median(values[base_key]))
