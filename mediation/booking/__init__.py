"""Booking: mediators' availability, free slots, sessions without double booking, personal
join links, calendar invitations (RFC 5545) and reminders before each session."""
