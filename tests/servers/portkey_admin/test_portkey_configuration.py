"""portkey-admin against the sandbox's Portkey stand-in: configs and guardrails validated before
saving, prompts, limits, logs and audit logs through their lifecycles."""

from __future__ import annotations

import json
from typing import Any

from mcp import Client
from portkey_support import FALLBACK, WORKSPACE_KEY, fails, last_request, ok, portkey_key


async def test_configs_are_validated_before_saving(connect, upstream, sandbox) -> None:
    async with connect() as client:
        before = await ok(client, "manage_configs", action="list", limit=100)
        bad = {
            **FALLBACK,
            "targets": [FALLBACK["targets"][0], {"provider": "groq", "retyr": {"attempts": 1}}],
        }
        text = await fails(client, "manage_configs", action="create", name="broken", config=bad)
        assert "targets[1].retyr: unknown field (did you mean 'retry'?)" in text
        assert "stratgy" in await fails(
            client, "manage_configs", action="create", name="x", config={"stratgy": {"mode": "fallback"}}
        )
        assert len((await ok(client, "manage_configs", action="list", limit=100))["items"]) == len(
            before["items"]
        )
        checked = await ok(
            client,
            "manage_configs",
            action="validate",
            config={"strategy": {"mode": "fallbak"}, "targets": [{"provider": "x"}]},
        )
        assert not checked["item"]["valid"] and checked["item"]["errors"][0].startswith("strategy.mode")
        made = await ok(client, "manage_configs", action="create", name="fallback", config=FALLBACK)
        slug = made["item"]["slug"] if "slug" in made["item"] else made["item"]["id"]
        got = await ok(client, "manage_configs", action="get", slug=slug)
        assert "sk-target-secret-123456" not in json.dumps(got)  # provider keys inside configs are masked
        assert got["item"]["config"]["strategy"]["mode"] == "fallback"
        await ok(
            client,
            "manage_configs",
            action="update",
            slug=slug,
            config={**FALLBACK, "cache": {"mode": "simple"}},
        )
        versions = await ok(client, "manage_configs", action="versions", slug=slug)
        assert len(versions["items"]) == 2 and isinstance(versions["items"][0]["config"], dict)
        assert "cache.mode" in await fails(
            client, "manage_configs", action="update", slug=slug, config={"cache": {"mode": "fuzzy"}}
        )
        await ok(client, "manage_configs", action="delete", slug=slug, confirm=True)


async def test_guardrails_checked_against_portkeys_documented_checks(connect, upstream) -> None:
    checks = [
        {"id": "default.regexMatch", "parameters": {"rule": r"\d{3}-\d{2}-\d{4}", "not": True}},
        {"id": "portkey.pii", "parameters": {"redact": True, "categories": ["SSN", "EMAIL_ADDRESS"]}},
    ]
    actions = {"deny": True, "async": False, "on_fail": {"feedback": {"value": -5, "weight": 1}}}
    async with connect() as client:
        valid = await ok(client, "configure_guardrails", action="validate", checks=checks, actions=actions)
        assert valid["item"] == {"valid": True, "errors": [], "warnings": []}
        wrong = [{"id": "default.wordCount", "parameters": {"minWord": 3}}, {"id": "regexMatch"}]
        report = (await ok(client, "configure_guardrails", action="validate", checks=wrong))["item"]
        assert report["errors"] == [
            "checks[0].parameters.minWord: not a parameter of default.wordCount (did you mean 'minWords'?)",
            "checks[1].id: 'regexMatch' needs its plugin prefix; did you mean 'default.regexMatch'?",
        ]
        text = await fails(
            client, "configure_guardrails", action="create", name="x", checks=wrong, actions=actions
        )
        assert "checks[0].parameters.minWord" in text
        listed = await ok(client, "configure_guardrails", action="list", limit=100)
        made = await ok(
            client, "configure_guardrails", action="create", name="No SSNs", checks=checks, actions=actions
        )
        guard = made["item"]["id"]
        got = await ok(client, "configure_guardrails", action="get", guardrail_id=guard)
        assert got["item"]["name"] == "No SSNs"
        await ok(client, "configure_guardrails", action="update", guardrail_id=guard, name="No SSN")
        assert "checks[0].parameters.rule: required" in await fails(
            client,
            "configure_guardrails",
            action="update",
            guardrail_id=guard,
            checks=[{"id": "default.regexMatch"}],
        )
        after = await ok(client, "configure_guardrails", action="list", limit=100)
        assert len(after["items"]) == len(listed["items"]) + 1
        await ok(client, "configure_guardrails", action="delete", guardrail_id=guard, confirm=True)


async def create_item(client: Client, resource: str, fields: dict[str, Any]) -> dict[str, Any]:
    return (await ok(client, "manage_prompts", resource=resource, action="create", fields=fields))["item"]


async def get_and_update(client: Client, resource: str, item: str, fields: dict[str, Any]) -> None:
    await ok(client, "manage_prompts", resource=resource, action="get", id=item)
    await ok(client, "manage_prompts", resource=resource, action="update", id=item, fields=fields)


async def test_prompts_partials_labels_and_collections(connect, upstream) -> None:
    async with connect() as client:
        workspace = (await ok(client, "manage_workspaces", action="list", limit=1))["items"][0]["id"]
        vk = (await ok(client, "manage_virtual_keys", action="list", limit=1))["items"][0]["slug"]
        coll = (await create_item(client, "collection", {"name": "Support", "workspace_id": workspace}))["id"]
        assert coll in [
            c["id"]
            for c in (
                await ok(
                    client, "manage_prompts", resource="collection", action="list", workspace_id=workspace
                )
            )["items"]
        ]
        await get_and_update(client, "collection", coll, {"name": "Support EU"})
        prompt = (
            await create_item(
                client,
                "prompt",
                {
                    "name": "greeter",
                    "collection_id": coll,
                    "string": "{{#user}}Hello {{name}}{{/user}}",
                    "parameters": {"model": "gpt-4o-mini"},
                    "virtual_key": vk,
                },
            )
        )["id"]
        listed = await ok(client, "manage_prompts", action="list", collection_id=coll, search="greet")
        assert [p["id"] for p in listed["items"]] == [prompt]
        assert (await ok(client, "manage_prompts", action="get", id=prompt))["item"]["name"] == "greeter"
        await ok(
            client,
            "manage_prompts",
            action="update",
            id=prompt,
            fields={"string": "{{#user}}Hi {{name}}{{/user}}"},
        )
        versions = (await ok(client, "manage_prompts", action="versions", id=prompt))["items"]
        assert len(versions) == 2
        newest = versions[0]
        await ok(client, "manage_prompts", action="get_version", id=prompt, version_id=newest["id"])
        label = (await create_item(client, "label", {"name": "ci-canary", "workspace_id": workspace}))["id"]
        await ok(
            client,
            "manage_prompts",
            action="update_version",
            id=prompt,
            version_id=newest["id"],
            fields={"label_id": label},
        )
        await ok(client, "manage_prompts", action="make_default", id=prompt, version=newest["prompt_version"])
        rendered = await ok(client, "manage_prompts", action="render", id=prompt, variables={"name": "Ada"})
        assert "Hi Ada" in json.dumps(rendered["item"])
        answered = await ok(client, "manage_prompts", action="complete", id=prompt, variables={"name": "Ada"})
        assert answered["applied"] and "Sandbox answer" in json.dumps(answered["item"])
        await ok(
            client, "manage_prompts", resource="label", action="list", workspace_id=workspace, search="canary"
        )
        await get_and_update(client, "label", label, {"name": "ci-canary-2"})
        partial = await create_item(
            client, "partial", {"name": "footer", "string": "Thanks!", "workspace_id": workspace}
        )
        partial_id = partial.get("id") or partial["slug"]
        await ok(client, "manage_prompts", resource="partial", action="list")
        await get_and_update(client, "partial", partial_id, {"string": "Thank you!"})
        partial_versions = (
            await ok(client, "manage_prompts", resource="partial", action="versions", id=partial_id)
        )["items"]
        await ok(
            client,
            "manage_prompts",
            resource="partial",
            action="make_default",
            id=partial_id,
            version=int(partial_versions[0]["version"]),
        )
        for resource, item in (
            ("prompt", prompt),
            ("partial", partial_id),
            ("label", label),
            ("collection", coll),
        ):
            await ok(client, "manage_prompts", resource=resource, action="delete", id=item, confirm=True)
        assert "NOT_FOUND" in await fails(client, "manage_prompts", action="get", id=prompt)


async def test_usage_and_rate_limit_policies(connect, upstream) -> None:
    scope = {"conditions": [{"key": "workspace_id", "value": "*"}], "group_by": [{"key": "api_key"}]}
    async with connect() as client:
        usage = (
            await ok(
                client,
                "manage_limits",
                action="create",
                fields={
                    "name": "monthly cap",
                    **scope,
                    "type": "cost",
                    "credit_limit": 100,
                    "periodic_reset": "monthly",
                },
            )
        )["item"]["id"]
        assert usage in [
            p["id"]
            for p in (await ok(client, "manage_limits", action="list", type="cost", status="active"))["items"]
        ]
        await ok(client, "manage_limits", action="get", id=usage, include_usage=True)
        await ok(client, "manage_limits", action="update", id=usage, fields={"credit_limit": 200})
        seeded = next(
            p["id"] for p in (await ok(client, "manage_limits", action="list"))["items"] if p["id"] != usage
        )
        entities = (await ok(client, "manage_limits", action="list_entities", id=seeded, status="active"))[
            "items"
        ]
        busy = next(e for e in entities if e["current_usage"] > 0)
        preview = await ok(
            client, "manage_limits", action="reset_entity", id=seeded, entity_id=busy["id"], dry_run=True
        )
        assert not preview["applied"] and preview["item"]["current"]["id"] == seeded
        await ok(
            client, "manage_limits", action="reset_entity", id=seeded, entity_id=busy["id"], confirm=True
        )
        after = (await ok(client, "manage_limits", action="list_entities", id=seeded))["items"]
        assert next(e for e in after if e["id"] == busy["id"])["current_usage"] == 0
        assert "type: Input should be 'cost' or 'tokens'" in await fails(
            client,
            "manage_limits",
            action="create",
            fields={
                **scope,
                "type": "money",
                "credit_limit": 1,
            },
        )
        await ok(client, "manage_limits", action="delete", id=usage, confirm=True)
        rate = (
            await ok(
                client,
                "manage_limits",
                resource="rate",
                action="create",
                fields={
                    "name": "burst",
                    **scope,
                    "type": "requests",
                    "unit": "rpm",
                    "value": 60,
                },
            )
        )["item"]["id"]
        assert rate in [
            p["id"]
            for p in (await ok(client, "manage_limits", resource="rate", action="list", unit="rpm"))["items"]
        ]
        await ok(client, "manage_limits", resource="rate", action="get", id=rate)
        await ok(client, "manage_limits", resource="rate", action="update", id=rate, fields={"value": 120})
        await ok(client, "manage_limits", resource="rate", action="delete", id=rate, confirm=True)


async def test_logs_exports_and_feedback(connect, upstream) -> None:
    entry = {
        "request": {
            "url": "https://api.openai.com/v1/chat/completions",
            "method": "POST",
            "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        },
        "response": {"status": 200, "body": {"choices": []}},
        "metadata": {"trace_id": "trace-ci-1"},
    }
    async with connect() as client:
        inserted = await ok(client, "manage_logs", action="insert", entries=[entry, entry])
        log_ids = inserted["item"]["log_ids"]
        assert len(log_ids) == 2
        log = await ok(client, "get_logs", action="get", id=log_ids[0])
        assert log["item"]["request"]["url"].endswith("/chat/completions")
        assert "entries[0].request: Field required" in await fails(
            client, "manage_logs", action="insert", entries=[{"response": {"body": {}}}]
        )
        feedback = await ok(
            client,
            "manage_logs",
            action="add_feedback",
            fields={"trace_id": "trace-ci-1", "value": 5, "weight": 0.5},
        )
        await ok(
            client,
            "manage_logs",
            action="update_feedback",
            id=feedback["item"]["feedback_ids"][0],
            fields={"value": -3},
        )
        assert "value" in await fails(
            client, "manage_logs", action="add_feedback", fields={"trace_id": "t", "value": 11}
        )
        export = await ok(
            client,
            "manage_logs",
            action="create_export",
            fields={
                "filters": {"time_of_generation_min": "2026-01-01T00:00:00Z"},
                "requested_data": ["id", "cost"],
            },
        )
        export_id = export["item"]["id"]
        await ok(
            client,
            "manage_logs",
            action="update_export",
            id=export_id,
            fields={"requested_data": ["id", "cost", "ai_model"]},
        )
        assert export_id in [e["id"] for e in (await ok(client, "get_logs", action="list_exports"))["items"]]
        await ok(client, "manage_logs", action="start_export", id=export_id)
        await ok(client, "manage_logs", action="cancel_export", id=export_id)
        assert (await ok(client, "get_logs", action="get_export", id=export_id))["item"][
            "status"
        ] == "stopped"
        await ok(client, "manage_logs", action="start_export", id=export_id)
        for _ in range(2):
            status = (await ok(client, "get_logs", action="get_export", id=export_id))["item"]["status"]
        assert status == "success"
        link = await ok(client, "get_logs", action="download_export", id=export_id)
        assert link["item"]["signed_url"].startswith("http")


async def test_audit_logs_find_the_organisation_and_forward_filters(connect, upstream, sandbox) -> None:
    async with connect() as client:
        await ok(client, "manage_prompts", resource="label", action="create", fields={"name": "audited-ci"})
        found = await ok(
            client, "get_audit_logs", timeframe="1h", method="POST", response_status_code=200, limit=5
        )
        assert found["items"] and all(r["method"] == "POST" for r in found["items"])
        query = last_request(sandbox, "/v1/audit-logs")["query"]
        assert (
            query["organisation_id"] and query["method"] == "POST" and query["response_status_code"] == "200"
        )
        assert {"start_time", "end_time", "current_page", "page_size"} <= set(query)


async def test_organisation_guardrail_defaults_and_workspace_exclusions(
        connect, upstream, settings, sandbox) -> None:
    checks = [{"id": "default.wordCount", "parameters": {"minWords": 1, "maxWords": 500}}]
    async with connect() as client:
        made = await ok(client, "configure_guardrails", action="create", name="Length", checks=checks,
                        actions={"deny": False})
        guard = made["item"]["id"]
        before = await ok(client, "configure_guardrails", action="get_defaults")
        preview = await ok(client, "configure_guardrails", action="set_defaults", dry_run=True,
                           fields={"input_guardrails": [guard]})
        assert not preview["applied"] and preview["item"]["current"] == before["item"]
        done = await ok(client, "configure_guardrails", action="set_defaults",
                        fields={"input_guardrails": [guard], "output_guardrails": []})
        assert done["applied"] and len(done["item"]["input_guardrails"]) == 1  # stored by slug
        workspace = (await ok(client, "manage_workspaces", action="list", limit=1))["items"][0]["id"]
        await ok(client, "configure_guardrails", action="set_exclusions", direction="output",
                 fields={"workspace_ids": [workspace]})
        excluded = await ok(client, "configure_guardrails", action="get_exclusions", direction="output")
        assert excluded["item"]["workspace_ids"] == [workspace]
        assert "`direction` is required" in await fails(client, "configure_guardrails",
                                                        action="get_exclusions")
    async with connect(portkey_key(settings, sandbox, WORKSPACE_KEY)) as client:
        denied = await fails(client, "configure_guardrails", action="get_defaults")
        assert "FORBIDDEN_SCOPE" in denied and "organisation admin key" in denied
