"""Several commands in one round trip, for the hot paths (a check, a call's webhook, a fetch):
a read and a script, or two reads, sent together.

On one Redis they go in one pipeline. On a Redis Cluster each command goes to the node that
holds its keys, one after another through the cluster client, which knows the slots and
follows a MOVED or ASK: redis-py's ClusterPipeline first asks a node for each EVALSHA's keys
(COMMAND GETKEYS), a round trip of its own, so it would save none; and it sends a command whose
reply timed out once more, so a slow node would count a check twice. Here a timeout raises,
as on one Redis, and nothing after it is sent.
"""
from __future__ import annotations

import redis
from redis.cluster import RedisCluster
from redis.exceptions import ResponseError


def send(client: redis.Redis | RedisCluster, *commands: tuple) -> list:
    """Each command's reply, in order. An error reply comes back as its exception (the caller
    can tell a NOSCRIPT from the rest); a lost connection or a timeout raises."""
    if isinstance(client, RedisCluster):
        replies = []
        for command in commands:
            try:
                replies.append(client.execute_command(*command))
            except ResponseError as error:
                replies.append(error)
        return replies
    with client.pipeline(transaction=False) as pipe:
        for command in commands:
            pipe.execute_command(*command)
        return pipe.execute(raise_on_error=False)
