"""One module per verb (or pair of verbs): each a short story from check to reply record."""
