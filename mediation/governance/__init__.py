"""The governance view of a region (issue #21 items 3-4): region staff see the cases of their
GB/T 2260 division as aggregates and early warnings, never a case's contents."""
