"""Follow-up of performance (回访) after a mediation agreement (People's Mediation Law art 31)."""
