"""portkey-admin against the sandbox's Portkey stand-in: keys, virtual keys, workspaces and users,
each through its whole lifecycle, with secrets shown once."""

from __future__ import annotations

import json
import logging

import pytest
from portkey_support import fails, last_request, last_request_reply, ok

from gatewise.errors import GatewiseError


async def test_api_keys_lifecycle_shows_each_secret_once(connect, upstream, sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with connect() as client:
        listed = await ok(client, "get_api_keys", limit=100)
        assert listed["provider"] == "sandbox" and listed["total"] == len(listed["items"])
        workspace_id = next(k["workspace_id"] for k in listed["items"] if k.get("workspace_id"))
        made = await ok(
            client,
            "manage_api_keys",
            action="create",
            name="ci bot",
            scopes=["logs.view"],
            workspace_id=workspace_id,
            fields={"rate_limits": [{"type": "requests", "unit": "rpm", "value": 60}]},
        )
        secret, key_id = made["secret"], made["item"]["id"]
        assert secret and made["applied"] and "shown only" in made["notes"][0]
        assert secret not in json.dumps(made["item"])
        seen = [
            await ok(client, "get_api_keys", action="get", id=key_id),
            await ok(client, "manage_api_keys", action="get", id=key_id),
            await ok(client, "manage_api_keys", action="list", workspace_id=workspace_id),
            await ok(client, "manage_api_keys", action="update", id=key_id, name="ci bot 2"),
        ]
        assert seen[0]["item"]["name"] == "ci bot" and seen[3]["applied"]
        assert key_id in [k["id"] for k in seen[2]["items"]]
        assert last_request(sandbox, "/v1/api-keys")["query"]["workspace_id"] == workspace_id
        refused = await fails(client, "manage_api_keys", action="rotate", id=key_id)
        assert "confirm" in refused and "nothing was changed" in refused
        preview = await ok(client, "manage_api_keys", action="rotate", id=key_id, dry_run=True)
        assert not preview["applied"] and preview["item"]["current"]["id"] == key_id
        assert preview["item"]["request"] == {
            "method": "POST",
            "path": f"/api-keys/{key_id}/rotate",
            "body": {},
        }
        rotated = await ok(
            client,
            "manage_api_keys",
            action="rotate",
            id=key_id,
            confirm=True,
            key_transition_period_ms=1_800_000,
        )
        assert rotated["secret"] and rotated["secret"] != secret
        later = [
            await ok(client, "get_api_keys", limit=100),
            await ok(client, "get_api_keys", action="get", id=key_id),
        ]
        for output in [*seen, preview, *later]:
            assert secret not in json.dumps(output) and rotated["secret"] not in json.dumps(output)
        assert secret not in caplog.text and rotated["secret"] not in caplog.text
        await ok(client, "manage_api_keys", action="delete", id=key_id, confirm=True)
        gone = await fails(client, "get_api_keys", action="get", id=key_id)
        assert "NOT_FOUND" in gone


async def test_virtual_keys_never_echo_the_provider_key(connect, upstream) -> None:
    provider_key = "sk-provider-secret-0123456789"
    async with connect() as client:
        made = await ok(
            client,
            "manage_virtual_keys",
            action="create",
            name="openai main",
            provider="openai",
            key=provider_key,
            fields={"note": "ci"},
        )
        slug = made["item"]["slug"]
        rotate = {"action": "rotate", "slug": slug, "key": provider_key + "2"}
        outputs = [
            made,
            await ok(client, "manage_virtual_keys", action="list", limit=100),
            await ok(client, "manage_virtual_keys", action="get", slug=slug),
            await ok(client, "manage_virtual_keys", action="update", slug=slug, fields={"note": "x"}),
            await ok(client, "manage_virtual_keys", **rotate, dry_run=True),
            await ok(client, "manage_virtual_keys", **rotate, confirm=True),
        ]
        assert slug in [v["slug"] for v in outputs[1]["items"]]
        assert all(provider_key not in json.dumps(o) for o in outputs)
        assert outputs[4]["item"]["request"]["body"]["key"] != provider_key + "2"  # masked in previews
        assert "`key` is required" in await fails(
            client, "manage_virtual_keys", action="rotate", slug=slug, confirm=True
        )
        await ok(client, "manage_virtual_keys", action="delete", slug=slug, confirm=True)
        assert "NOT_FOUND" in await fails(client, "manage_virtual_keys", action="get", slug=slug)


async def test_workspaces_and_members(connect, upstream) -> None:
    async with connect() as client:
        users = (await ok(client, "manage_users", action="list", limit=3))["items"]
        made = await ok(
            client,
            "manage_workspaces",
            action="create",
            name="Payments",
            fields={"description": "card flows"},
        )
        ws = made["item"]["id"]
        assert (await ok(client, "manage_workspaces", action="get", workspace_id=ws))["item"][
            "name"
        ] == "Payments"
        found = await ok(client, "manage_workspaces", action="list", name="Pay", status="active")
        assert [w["id"] for w in found["items"]] == [ws]
        await ok(client, "manage_workspaces", action="update", workspace_id=ws, name="Payments EU")
        await ok(
            client,
            "manage_workspaces",
            action="add_members",
            workspace_id=ws,
            user_id=users[0]["id"],
            role="manager",
        )
        members = await ok(
            client, "manage_workspaces", action="list_members", workspace_id=ws, role="manager"
        )
        assert [m["id"] for m in members["items"]] == [users[0]["id"]]
        member = {"workspace_id": ws, "user_id": users[0]["id"]}
        assert (await ok(client, "manage_workspaces", action="get_member", **member))["item"][
            "role"
        ] == "manager"
        await ok(client, "manage_workspaces", action="update_member", role="admin", **member)
        await ok(client, "manage_workspaces", action="remove_member", confirm=True, **member)
        assert (await ok(client, "manage_workspaces", action="list_members", workspace_id=ws))["items"] == []
        preview = await ok(client, "manage_workspaces", action="delete", workspace_id=ws, dry_run=True)
        assert preview["item"]["current"]["name"] == "Payments EU" and not preview["applied"]
        await ok(client, "manage_workspaces", action="get", workspace_id=ws)  # the dry run changed nothing
        await ok(client, "manage_workspaces", action="delete", workspace_id=ws, confirm=True)


async def test_users_invites_and_scim(connect, upstream) -> None:
    async with connect() as client:
        users = (await ok(client, "manage_users", action="list", role="member"))["items"]
        assert users and all(u["role"] == "member" for u in users)
        user = users[0]["id"]
        assert (await ok(client, "manage_users", action="get", user_id=user))["item"]["id"] == user
        await ok(client, "manage_users", action="update", user_id=user, role="admin")
        assert (await ok(client, "manage_users", action="get", user_id=user))["item"]["role"] == "admin"
        await ok(client, "manage_users", action="delete", user_id=user, confirm=True)
        workspace = (await ok(client, "manage_workspaces", action="list", limit=1))["items"][0]["id"]
        invite = await ok(
            client,
            "manage_users",
            action="invite",
            email="new@example.com",
            role="member",
            fields={"workspaces": [{"id": workspace, "role": "member"}]},
        )
        invite_id = invite["item"]["id"]
        pending = await ok(
            client, "manage_users", action="list_invites", status="pending", email="new@example.com"
        )
        assert [i["id"] for i in pending["items"]] == [invite_id]
        await ok(client, "manage_users", action="get_invite", invite_id=invite_id)
        await ok(client, "manage_users", action="resend_invite", invite_id=invite_id)
        await ok(client, "manage_users", action="delete_invite", invite_id=invite_id, confirm=True)
        scim = await ok(
            client,
            "manage_users",
            action="create_scim",
            workspace_id=workspace,
            role="member",
            fields={"scim_group_name": "Engineering"},
        )
        listed = await ok(client, "manage_users", action="list_scim", workspace_id=workspace)
        assert scim["item"]["id"] in [m["id"] for m in listed["items"]]
        await ok(client, "manage_users", action="delete_scim", scim_id=scim["item"]["id"], confirm=True)




async def test_a_project_bound_caller_cannot_administer_the_organisation(connect, upstream, sandbox) -> None:
    from gatewise.caller import CALLER, Caller

    bound = CALLER.set(Caller("bob", "beta"))  # as the HTTP auth layer sets it for bob's token
    try:
        async with connect() as bob:
            for tool, args in [("get_api_keys", {}), ("get_usage_analytics", {}), ("get_workspace_stats", {}),
                               ("get_audit_logs", {}), ("manage_workspaces", {"action": "list"}),
                               ("manage_api_keys", {"action": "delete", "id": "k1", "dry_run": True})]:
                text = await fails(bob, tool, **args)
                assert f"{tool}: FORBIDDEN_SCOPE: this caller is bound to project 'beta', and the Portkey " \
                       "organisation covers every project" in text, text
            # checking a config touches no organisation, so it stays open to every caller
            checked = await ok(bob, "manage_configs", action="validate", config={"retry": {"attempts": 2}})
            assert checked["provider"] == "local" and checked["item"]["valid"]
    finally:
        CALLER.reset(bound)
    assert last_request_reply(sandbox, "/v1/api-keys").status_code == 404  # nothing reached Portkey
    async with connect() as operator:  # a token that names no project administers as before
        assert (await ok(operator, "get_api_keys"))["provider"] == "sandbox"


async def test_a_dot_segment_id_never_reaches_another_resource(connect, upstream, sandbox) -> None:
    async with connect() as client:
        ws = (await ok(client, "manage_workspaces", action="create", name="Keep me"))["item"]["id"]
        for bad in ("..", ".", "a\x00b", "x\ny", "../users", "ws/..", "a\\b"):
            for args in [{"action": "remove_member", "workspace_id": ws, "user_id": bad, "confirm": True},
                         {"action": "remove_member", "workspace_id": ws, "user_id": bad, "dry_run": True},
                         {"action": "get", "workspace_id": bad}]:
                text = await fails(client, "manage_workspaces", **args)
                assert "INVALID_INPUT" in text and "is not an id" in text, text
        kept = await ok(client, "manage_workspaces", action="get", workspace_id=ws)
        assert kept["item"]["name"] == "Keep me"
        # ids with dots inside are ids, sent encoded as ever
        assert "NOT_FOUND" in await fails(client, "manage_workspaces", action="get", workspace_id="a..b")
    assert last_request_reply(sandbox, f"/v1/admin/workspaces/{ws}/users/..").status_code == 404
    # A model's name holds a slash, sent encoded; its steps are still names, never "..".
    from gatewise.portkey.client import fill_path
    from gatewise.portkey.endpoints import ENDPOINTS
    pricing = ENDPOINTS["pricing.get"]
    assert fill_path(pricing, {"provider": "groq", "model": "meta-llama/llama-3.1-8b"}) == \
        "/model-configs/pricing/groq/meta-llama%2Fllama-3.1-8b"
    for bad in ("../x", "a/../b", "a//b", "/a"):
        with pytest.raises(GatewiseError, match="is not an id"):
            fill_path(pricing, {"provider": "groq", "model": bad})


async def test_a_secret_sent_is_masked_wherever_the_answer_echoes_it(connect, upstream) -> None:
    provider_key = "sk-ant-api03-Zq8vL2mX9rT4kP7wN1bC"
    service_account = '{"type": "service_account", "private_key_id": "4f1c9a0e7d2b6c3a"}'
    async with connect() as client:
        # the upstream stores the note as given and returns it in every answer about the key
        made = await ok(client, "manage_virtual_keys", action="create", name="anthropic",
                        provider="anthropic", key=provider_key, fields={"note": f"copy of {provider_key}",
                                                  "metadata": {"backup": {"key": "sk-9Hh3Jk4Lm5Np6Qr7"}}})
        got = await ok(client, "manage_virtual_keys", action="get", slug=made["item"]["slug"])
        preview = await ok(client, "manage_integrations", resource="integration", action="create",
                           dry_run=True, fields={"name": "Vertex", "ai_provider_id": "vertex-ai",
                                   "configurations": {"vertex_service_account_json": service_account}})
    for answer in (made, got):
        assert provider_key not in json.dumps(answer) and "Zq8vL2mX" not in json.dumps(answer)
        assert "sk-9Hh3Jk4Lm5Np6Qr7" not in json.dumps(answer)  # a key shape, however deep
    assert got["item"]["note"] == "copy of sk-…N1bC"  # masked, not dropped
    shown = preview["item"]["request"]["body"]["configurations"]["vertex_service_account_json"]
    assert "4f1c9a0e7d2b6c3a" not in json.dumps(preview) and shown != service_account
