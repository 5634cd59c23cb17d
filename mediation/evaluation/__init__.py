"""Before filing: what a dispute would cost in court, how long each way takes, and how
similar disputes ended on this platform (issue #20, "evaluation")."""
