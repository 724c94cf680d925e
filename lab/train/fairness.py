"""Whose job starts next: the fair queue's rule, as pure functions of who waits, who trains and who was served.

Each person has a first-in-first-out queue. When a place to train frees up, the next job is the first waiting job
of the person served longest ago (someone never served before anyone served; among those, whoever queued first),
skipping people who already train ``per_person`` jobs. One person's ten jobs therefore alternate with everyone
else's instead of holding the queue, and nobody waits behind a person's second job for their first.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

Owner = Hashable  # None is an owner too: the jobs of nobody in particular (the command line, scripts)
NOBODY = object()  # what ``pick`` answers when no waiting job may start


def pick(queues: Mapping[Owner, Sequence], running: Sequence[Owner], last_served: Mapping[Owner, int],
         per_person: int) -> Owner:
    """The person whose first waiting job starts next, or NOBODY when everyone waiting is at their share.

    ``queues``: each person's waiting jobs, people in the order they started waiting; ``running``: the owner of
    each job training now; ``last_served``: when each person last had a job started (a growing counter).
    """
    place = {owner: index for index, owner in enumerate(queues)}
    waiting = [owner for owner, queue in queues.items() if queue and running.count(owner) < per_person]
    if not waiting:
        return NOBODY
    return min(waiting, key=lambda owner: (last_served.get(owner, -1), place[owner]))


def start_order(queues: Mapping[Owner, Sequence], running: Sequence[Owner], last_served: Mapping[Owner, int],
                per_person: int, capacity: int) -> list:
    """Every waiting job in the order they will start, if the jobs training end in the order they started."""
    queues = {owner: list(queue) for owner, queue in queues.items() if queue}
    running = list(running)
    served = dict(last_served)
    clock = max(served.values(), default=0)
    order = []
    while queues:
        owner = pick(queues, running, served, per_person) if len(running) < capacity else NOBODY
        if owner is NOBODY:
            if not running:
                break
            running.pop(0)  # the oldest job training ends
            continue
        order.append(queues[owner].pop(0))
        if not queues[owner]:
            del queues[owner]
        clock += 1
        served[owner] = clock
        running.append(owner)
    return order
