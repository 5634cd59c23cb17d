"""Cases: a dispute from intake to the end; the caseload views."""
