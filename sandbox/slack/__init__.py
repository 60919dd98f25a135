"""A Slack stand-in: the Web API the bot calls, response URLs, and a driver that plays Slack's side.

Start it with ``python -m sandbox.slack``; see ``server.py`` for the HTTP side, ``api.py`` for the
methods and ``driver.py`` for signed slash commands, clicks and view submissions.
"""
