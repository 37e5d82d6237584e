"""The citizens' portal (`/mijn`, SPEC §9): ask for inzage, follow it, read and download the answer."""
