"""The electronic minutes (电子笔录) of a session: written by the mediator while it runs,
then reviewed and confirmed by the parties (SPC online mediation rules art 22)."""
