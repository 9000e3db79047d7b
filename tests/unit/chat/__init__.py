"""Tests of the chat domain: the client's chat package and the chat operator, sensor and trigger."""
