"""Agreement documents: rendering, PAdES signing and verification (the agreements issue)."""
