"""Recording the proceedings (SPC online mediation rules art 22): consent-gated, by a separate
recorder process that joins rooms as a hidden, receive-only peer."""
