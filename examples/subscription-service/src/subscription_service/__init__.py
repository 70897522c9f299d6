"""Subscription Service: billing plans, customer subscriptions and their Kafka events."""
