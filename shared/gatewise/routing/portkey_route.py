"""Route plans from a pasted Portkey config: its targets, in its order, with its rules."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from gatewise.routing.analyze import QueryProfile
from gatewise.routing.policy import Candidate, HybridPolicy, RoutePlan, RouteRequest
from gatewise.routing.portkey_config import PortkeyConfig, plan_targets, routing_context


class PortkeyPolicy:
    """Targets come from the config; a target without a model takes the hybrid policy's choice."""

    def __init__(self, config: PortkeyConfig, hybrid: HybridPolicy, rng: random.Random | None = None):
        self.config = config
        self.hybrid = hybrid
        self.rng = rng or random.Random()

    def plan(self, profile: QueryProfile, request: RouteRequest, *,
             metadata: Mapping[str, Any], params: Mapping[str, Any]) -> RoutePlan:
        hybrid_plan = self.hybrid.plan(profile, request)
        default_model = hybrid_plan.chosen.model
        catalog = self.hybrid.catalog
        candidates = []
        for attempt in plan_targets(self.config, routing_context(metadata, params), self.rng):
            model = default_model
            if attempt.model:
                model = catalog.resolve(attempt.model) or attempt.model
            where = attempt.path or "root"
            candidates.append(Candidate(
                model, f"portkey config {where}: {attempt.reason}",
                self.hybrid.estimate_cost(model, profile, request.max_tokens),
                params=attempt.override_params,
                timeout_s=attempt.timeout_ms / 1000 if attempt.timeout_ms else None,
                retries=attempt.retry_attempts, retry_on=attempt.retry_on, target=attempt))
        return RoutePlan(profile, candidates)
