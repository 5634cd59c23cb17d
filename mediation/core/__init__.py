"""Infrastructure shared by every feature: column types, access checks, i18n, health."""
