"""Court: the court portal of clerks and judges (judicial confirmation comes later)."""
