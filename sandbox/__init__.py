"""Stand-ins for the outside world (Azure, and later Slack) that run on loopback.

Nothing here imports natlink's product code and the product never imports this package:
a stand-in that shares code with its client would prove nothing.
"""
