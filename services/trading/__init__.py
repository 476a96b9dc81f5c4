"""Shared trading services: market entities, sealed bids, deposits, experts, evaluation."""
