"""`make demo`: the frontdoor lifecycle on a local AWS emulator; `python -m demo.demo`."""
