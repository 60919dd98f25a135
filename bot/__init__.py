"""The Slack side of natlink, and the ``natlink`` command line."""
