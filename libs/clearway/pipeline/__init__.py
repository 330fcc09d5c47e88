"""The machines every government's filing and status following run on: filing.py (the durable
submission schedule and its states) and decisions.py (what a status poll can conclude)."""
