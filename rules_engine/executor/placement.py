"""Where each rule runs, decided once per compiled rule when the pipeline is compiled.

- :data:`INLINE`: in the calling thread. Nothing the rule calls waits on I/O: it only
  computes, or its services answer at once (simulated services without latency).
  Handing it to a thread would cost more than the rule.
- :data:`INLINE_BOUNDED`: in the calling thread, its service calls given the time left
  before the rule's and the stage's deadlines
  (:func:`rules_engine.services.interfaces.call_deadline`). The rule waits on I/O, but
  every service it waits on ends its calls at that deadline itself (an HTTP client
  timeout), and nothing else of its stage could run meanwhile (a sequential stage, or
  a parallel one with room for one rule).
- :data:`POOL`: on the pipeline's thread pool. The rule waits on I/O that can overlap
  with the other ready rules of a parallel stage, or on something nothing but
  abandoning the call can bound (a service that cannot end its own calls, a rule that
  blocks on its own).

Two placements are worked out per rule: for runs without network look-ups and for runs
that allow them (run context ``allow_network``), because a rule's own look-ups
(:data:`rules_engine.rule.NETWORK_IO`) happen only in the latter.
"""

from __future__ import annotations

from rules_engine.rule import BLOCKING_IO, NETWORK_IO, Rule
from rules_engine.services.interfaces import bounds_calls, waits_on_io

INLINE = 0
INLINE_BOUNDED = 1
POOL = 2


def placement(rule: Rule, *, parallel: bool, max_parallel: int, network: bool) -> int:
    """Where ``rule`` runs in a stage with these settings, in runs that allow network
    look-ups (``network``) or not."""
    own = rule.own_io
    if own == BLOCKING_IO or (own == NETWORK_IO and network):
        return POOL
    waiting = [adapter for adapter in rule.services.values() if waits_on_io(adapter)]
    if not waiting:
        return INLINE
    if not all(bounds_calls(adapter) for adapter in waiting):
        return POOL
    if parallel and max_parallel > 1:
        return POOL
    return INLINE_BOUNDED
