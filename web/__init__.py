"""People's pages: the privacy officers' console (/console) and the citizens' portal (/mijn),
server-rendered in Dutch, with OpenID Connect sign-in and server-side sessions (SPEC §9)."""
