"""Holds across domains: the HTTP routes, and the capture flow that ingests an event
(events) and draws it down against the hold (credits) in one transaction."""
