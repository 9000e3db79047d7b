"""What every TWIN domain builds on: configuration, auth, retries, errors and the clients.

:class:`~.engine.Engine` is the one implementation of request building, token renewal,
retries and error mapping; :class:`~.sync_client.TwinClient` and
:class:`~.async_client.AsyncTwinClient` are the two drivers that perform its effects.
"""
