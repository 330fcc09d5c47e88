"""The one filing machine every submitter runs: states.py (the states and the moves between
them), outcomes.py (what a government's Filer answers), gate.py (breakers, call limits),
machine.py (a claimed row worked to its next state), endings.py (the final events of a
filing the government does not have), service.py (the submitter process: the
schedule written on consume, the loop over due rows, one machine per mode)."""
