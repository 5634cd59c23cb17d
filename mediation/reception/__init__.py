"""Reception days (issue #21, item 2): a talk booked in a host's public reception hours."""
