"""What each /natlink verb means: the grammar, the value checks, the verb table, help and policy.

This package is pure: it never imports Slack, Azure, ``bot`` or ``sandbox``, so every rule here can
be tested as plain functions and reused by any front end.
"""
