"""Propagation downstream: consent changes and erasures as signed webhooks.

``service`` writes events to a transactional outbox and manages subscriptions; ``worker``
delivers them with Standard Webhooks signatures, retries with backoff and logs every attempt.
"""
