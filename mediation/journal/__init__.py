"""Journal: the tamper-evident, hash-chained record of everything that happens in a case."""
