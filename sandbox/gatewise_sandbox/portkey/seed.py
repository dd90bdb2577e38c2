"""The seeded organisation: users, workspaces, keys, configs, prompts, policies, MCP, traffic.

Everything comes from the seed, so two sandboxes with the same seed hold the same objects; only
timestamps follow the clock (the traffic covers the 30 days before the sandbox first needs it).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from gatewise.redact import mask
from gatewise_sandbox.portkey.analytics import Call
from gatewise_sandbox.portkey.org import Org
from gatewise_sandbox.portkey.store import Record, iso

TRAFFIC = 2_000
DAYS = 30

_FIRST = ["Asha", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya",
          "Liam", "Mei", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
          "Wen", "Yusuf"]
_LAST = ["Okafor", "Lindqvist", "Moreau", "Patel", "Novak", "Haddad"]
# name, slug stem, member count
_WORKSPACES = [("Shared Team Workspace", "shared", 12), ("Engineering", "engineering", 35),
               ("Data Science", "data-science", 8), ("Support", "support", 6),
               ("Marketing", "marketing", 4), ("Research", "research", 3)]
# provider (Portkey's ai_org), model, cents per input token, cents per output token, base latency
MODELS = [("openai", "gpt-4o", 2.5e-4, 1e-3, 900), ("openai", "gpt-4o-mini", 1.5e-5, 6e-5, 600),
          ("anthropic", "claude-3-5-sonnet-20241022", 3e-4, 1.5e-3, 1100),
          ("anthropic", "claude-3-haiku-20240307", 2.5e-5, 1.25e-4, 500),
          ("google", "gemini-1.5-pro", 1.25e-4, 5e-4, 1000),
          ("mistral-ai", "mistral-large-latest", 2e-4, 6e-4, 850),
          ("groq", "llama-3.1-70b-versatile", 5.9e-5, 7.9e-5, 250)]
_ERRORS = [429, 429, 429, 500, 502, 503, 400, 401, 408, 504]
SCOPES = ["completions.write", "logs.view", "analytics.view", "configs.read", "configs.write",
          "prompts.read", "virtual_keys.read"]


def build(seed: int, anchor: datetime) -> Org:
    org = Org(seed, anchor)
    users = _users(org)
    workspaces = _workspaces(org, users)
    _api_keys(org, workspaces, users)
    integrations = _integrations(org, workspaces)
    virtual_keys = _virtual_keys(org, workspaces)
    _providers(org, workspaces, integrations)
    _secret_references(org)
    configs = _configs(org, workspaces, virtual_keys)
    prompts = _prompts(org, workspaces, virtual_keys)
    _labels(org, workspaces)
    _guardrails(org, workspaces)
    _policies(org, workspaces)
    _mcp(org, workspaces, users)
    _invites(org, workspaces)
    _scim(org, workspaces)
    _traffic(org, seed, workspaces, users, virtual_keys, configs, prompts)
    _exports(org, workspaces)
    _audit(org, workspaces)
    return org


def _at(org: Org, days_ago: float) -> str:
    return iso(org.anchor - timedelta(days=days_ago))


def _users(org: Org) -> list[Record]:
    users = org.table("users")
    for i in range(48):
        first, last = _FIRST[i % len(_FIRST)], _LAST[i // len(_FIRST) * 3 % len(_LAST) + i % 3]
        role = "owner" if i == 0 else "admin" if i < 5 else "member"
        created = _at(org, 400 - i * 7)
        users.add({"object": "user", "id": org.ids.uuid(), "first_name": first, "last_name": last,
                   "role": role, "email": f"{first.lower()}.{last.lower()}{i}@example.com",
                   "created_at": created, "last_updated_at": created})
    org.owner_id = users.all()[0]["id"]
    return users.all()


def _workspaces(org: Org, users: list[Record]) -> list[Record]:
    table = org.table("workspaces")
    for n, (name, stem, count) in enumerate(_WORKSPACES):
        created = _at(org, 380 - n * 20)
        ws = table.add({
            "id": org.ids.uuid(), "slug": f"ws-{stem}-{org.ids.hex(4)}", "name": name,
            "description": f"{name} workspace", "status": "active", "created_at": created,
            "last_updated_at": created, "usage_limits": [], "rate_limits": [],
            "defaults": {"metadata": {"team": stem}, "is_default": int(n == 0),
                         "input_guardrails": [], "output_guardrails": [], "object": "workspace"},
            "object": "workspace"})
        for j in range(count):
            user = users[(j * 5 + n) % len(users)] if n else users[j]
            role = "admin" if j == 0 else "manager" if j % 9 == 1 else "member"
            add_member(org, ws, user, role, created)
    org.default_workspace_id = table.all()[0]["id"]
    return table.all()


def add_member(org: Org, ws: Record, user: Record, role: str, when: str) -> Record:
    return org.table("members").add({
        "key": f"{ws['id']}:{user['id']}", "workspace_id": ws["id"], "user_id": user["id"],
        "role": role, "status": "active", "scopes": [], "settings": None,
        "created_at": when, "last_updated_at": when})


def new_key_secret(org: Org, workspace_scoped: bool) -> str:
    """Keys made here authenticate against the sandbox: ``pk-ws-`` marks a workspace key."""
    return ("pk-ws-" if workspace_scoped else "pk-org-") + org.ids.token(28)


def api_key_record(org: Org, kind: str, body: dict[str, Any], when: str) -> Record:
    workspace_scoped = kind != "organisation-service"
    secret = new_key_secret(org, workspace_scoped)
    row: Record = {
        "id": org.ids.uuid(), "_key": secret, "key": mask(secret), "name": body["name"],
        "description": body.get("description") or "", "type": kind,
        "organisation_id": org.id, "status": "active", "created_at": when,
        "last_updated_at": when, "creation_mode": body.get("creation_mode", "api"),
        "rate_limits": body.get("rate_limits") or [], "reset_usage": 0,
        "scopes": list(body.get("scopes") or []),
        "defaults": {"metadata": (body.get("defaults") or {}).get("metadata") or {},
                     **{k: v for k, v in (body.get("defaults") or {}).items() if k != "metadata"}},
        "alert_emails": list(body.get("alert_emails") or []), "object": "api-key"}
    if workspace_scoped:
        row["workspace_id"] = body.get("workspace_id") or org.default_workspace_id
    if kind == "workspace-user":
        row["user_id"] = body.get("user_id") or org.owner_id
    for optional in ("usage_limits", "expires_at", "rotation_policy"):
        if body.get(optional) is not None:
            row[optional] = body[optional]
    return row


def _api_keys(org: Org, workspaces: list[Record], users: list[Record]) -> None:
    table = org.table("api_keys")
    kinds = ["organisation-service"] * 3 + ["workspace-service"] * 14 + ["workspace-user"] * 8
    for i, kind in enumerate(kinds):
        ws = workspaces[i % len(workspaces)]
        body: dict[str, Any] = {
            "name": f"{ws['name']} {kind.split('-')[1]} key {i + 1}", "workspace_id": ws["id"],
            "user_id": users[i % len(users)]["id"], "creation_mode": "ui" if i % 3 else "api",
            "scopes": SCOPES[: 2 + i % 5],
            "rate_limits": [{"type": "requests", "unit": "rpm", "value": 100 + 50 * i}] if i % 4 == 0
            else []}
        if i % 5 == 2:
            body["usage_limits"] = {"credit_limit": 50 + i, "type": "cost", "alert_threshold": 40,
                                    "periodic_reset": "monthly"}
        row = table.add(api_key_record(org, kind, body, _at(org, 200 - i * 6)))
        if i == 7:
            row["status"] = "exhausted"


def _integrations(org: Org, workspaces: list[Record]) -> list[Record]:
    table = org.table("integrations")
    specs = [("OpenAI main", "openai", None), ("Anthropic main", "anthropic", None),
             ("Azure East US", "azure-openai", None), ("Bedrock prod", "bedrock", None),
             ("Groq shared", "groq", None), ("Research OpenAI", "openai", workspaces[5]["id"])]
    for i, (name, provider, ws_id) in enumerate(specs):
        secret = "sk-" + org.ids.token(32)
        row = integration_record(org, {"name": name, "ai_provider_id": provider, "key": secret,
                                       "workspace_id": ws_id}, _at(org, 300 - i * 9))
        row["_models"] = [model_entry(m, True) for p, m, *_ in MODELS if p == provider][:4]
        row["_workspaces"] = [{"id": ws["id"], "enabled": True} for ws in workspaces[: 3 + i % 3]]
        table.add(row)
    return table.all()


def integration_record(org: Org, body: dict[str, Any], when: str) -> Record:
    row: Record = {
        "id": org.ids.uuid(), "organisation_id": org.id, "ai_provider_id": body["ai_provider_id"],
        "name": body["name"], "status": "active", "created_at": when, "last_updated_at": when,
        "slug": body.get("slug") or org.ids.slug(body["name"]),
        "description": body.get("description") or "", "object": "integration",
        "_key": body.get("key"), "masked_key": mask(body.get("key")) if body.get("key") else "",
        "global_workspace_access_settings": {"enabled": False}, "allow_all_models": True,
        "secret_mappings": body.get("secret_mappings") or [], "_models": [], "_workspaces": []}
    if body.get("workspace_id"):
        row["workspace_id"] = body["workspace_id"]
    for optional in ("configurations", "pricing_adjustments"):
        if body.get(optional) is not None:
            row[optional] = body[optional]
    return row


def model_entry(slug: str, enabled: bool, **extra: Any) -> Record:
    return {"slug": slug, "name": slug, "enabled": enabled, "is_custom": False,
            "is_finetune": False, "base_model_slug": None, **extra}


def _virtual_keys(org: Org, workspaces: list[Record]) -> list[Record]:
    table = org.table("virtual_keys")
    specs = [("openai", "prod"), ("openai", "staging"), ("openai", "batch"), ("anthropic", "prod"),
             ("anthropic", "staging"), ("azure-openai", "prod"), ("bedrock", "prod"),
             ("vertex-ai", "prod"), ("google", "prod"), ("groq", "prod"), ("mistral-ai", "prod"),
             ("openrouter", "fallback")]
    for i, (provider, env) in enumerate(specs):
        row = virtual_key_record(org, {"name": f"{provider} {env}", "provider": provider,
                                       "key": "sk-" + org.ids.token(30),
                                       "workspace_id": workspaces[i % 3]["id"],
                                       "note": f"{env} traffic" if i % 2 else None},
                                 _at(org, 280 - i * 10))
        if i == 2:
            row["status"] = "exhausted"
            row["usage_limits"] = {"credit_limit": 20, "type": "cost", "alert_threshold": 15,
                                   "periodic_reset": "monthly"}
        table.add(row)
    return table.all()


def virtual_key_record(org: Org, body: dict[str, Any], when: str) -> Record:
    row: Record = {
        "slug": f"{body['provider']}-{org.ids.hex(6)}", "id": org.ids.uuid(),
        "name": body["name"], "provider": body["provider"], "note": body.get("note"),
        "status": "active", "reset_usage": None, "created_at": when, "model_config": {},
        "rate_limits": body.get("rate_limits"), "secret_mappings": body.get("secret_mappings") or [],
        "workspace_id": body.get("workspace_id") or org.default_workspace_id,
        "object": "virtual-key", "_key": body.get("key")}
    if isinstance(row["rate_limits"], dict):  # the create body takes one object
        row["rate_limits"] = [row["rate_limits"]]
    for optional in ("usage_limits", "expires_at"):
        if body.get(optional) is not None:
            row[optional] = body[optional]
    return row


def _providers(org: Org, workspaces: list[Record], integrations: list[Record]) -> None:
    table = org.table("providers")
    for i in range(8):
        integration = integrations[i % len(integrations)]
        ws = workspaces[i % 4]
        table.add(provider_record(org, {"name": f"{integration['name']} ({ws['name']})",
                                        "integration_id": integration["slug"],
                                        "workspace_id": ws["id"]}, _at(org, 150 - i * 5)))


def provider_record(org: Org, body: dict[str, Any], when: str) -> Record:
    row: Record = {
        "id": org.ids.uuid(), "name": body["name"],
        "slug": body.get("slug") or org.ids.slug(body["name"]),
        "integration_id": body["integration_id"], "note": body.get("note"), "status": "active",
        "reset_usage": None, "created_at": when,
        "workspace_id": body.get("workspace_id") or org.default_workspace_id, "object": "provider"}
    for optional in ("usage_limits", "rate_limits", "expires_at"):
        if body.get(optional) is not None:
            row[optional] = body[optional]
    if isinstance(row.get("rate_limits"), dict):
        row["rate_limits"] = [row["rate_limits"]]
    return row


def _secret_references(org: Org) -> None:
    table = org.table("secret_references")
    specs = [("Prod OpenAI key", "aws_sm", {"aws_auth_type": "accessKey", "aws_region": "us-east-1",
                                            "aws_access_key_id": "AKIA" + org.ids.token(16),
                                            "aws_secret_access_key": org.ids.token(40)}),
             ("Bedrock role", "aws_sm", {"aws_auth_type": "assumedRole", "aws_region": "eu-west-1",
                                         "aws_role_arn": "arn:aws:iam::123456789012:role/portkey"}),
             ("Azure vault", "azure_kv", {"azure_auth_mode": "entra", "azure_entra_tenant_id": "t1",
                                          "azure_entra_client_id": "c1",
                                          "azure_entra_client_secret": org.ids.token(24),
                                          "azure_vault_url": "https://vault.example.net"}),
             ("Vault token", "hashicorp_vault", {"vault_auth_type": "token",
                                                 "vault_addr": "https://vault.example.com",
                                                 "vault_token": "hvs." + org.ids.token(24)})]
    for i, (name, manager, auth) in enumerate(specs):
        table.add(secret_reference_record(org, {
            "name": name, "manager_type": manager, "auth_config": auth,
            "secret_path": f"portkey/{manager}/{i}", "secret_key": "api_key",
            "allow_all_workspaces": i % 2 == 0, "tags": {"env": "prod"}}, _at(org, 120 - i * 8)))


def secret_reference_record(org: Org, body: dict[str, Any], when: str) -> Record:
    return {
        "id": org.ids.uuid(), "organisation_id": org.id, "name": body["name"],
        "slug": body.get("slug") or org.ids.slug(body["name"]),
        "description": body.get("description"), "manager_type": body["manager_type"],
        "secret_path": body["secret_path"], "secret_key": body.get("secret_key"),
        "allow_all_workspaces": bool(body.get("allow_all_workspaces", False)),
        "allowed_workspaces": list(body.get("allowed_workspaces") or []), "tags": body.get("tags"),
        "status": "ACTIVE", "created_by": org.owner_id, "created_at": when, "last_updated_at": when,
        "_auth": dict(body["auth_config"]), "auth_config": masked_auth(body["auth_config"]),
        "object": "secret-reference"}


_SECRET_WORDS = ("secret", "token", "password", "key_id", "access_key", "service_account")


def masked_auth(auth: dict[str, Any]) -> dict[str, Any]:
    """Credentials in an auth config are shown masked; the rest (regions, URLs, modes) as given."""
    return {k: (mask(str(v)) if any(w in k.lower() for w in _SECRET_WORDS) and v else v)
            for k, v in auth.items()}


def _configs(org: Org, workspaces: list[Record], virtual_keys: list[Record]) -> list[Record]:
    table = org.table("configs")
    vk = [v["slug"] for v in virtual_keys]
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("Production fallback", {"strategy": {"mode": "fallback"},
                                 "targets": [{"virtual_key": vk[0]}, {"virtual_key": vk[3]}],
                                 "retry": {"attempts": 3, "on_status_codes": [429, 503]}}),
        ("Load balance OpenAI", {"strategy": {"mode": "loadbalance"},
                                 "targets": [{"virtual_key": vk[0], "weight": 0.7},
                                             {"virtual_key": vk[1], "weight": 0.3}]}),
        ("Cached support bot", {"cache": {"mode": "simple", "max_age": 3600},
                                "targets": [{"virtual_key": vk[3]}]}),
        ("Semantic cache", {"cache": {"mode": "semantic", "max_age": 600},
                            "targets": [{"virtual_key": vk[0]}]}),
        ("Cheap first", {"strategy": {"mode": "fallback"},
                         "targets": [{"virtual_key": vk[9]}, {"virtual_key": vk[0]}]}),
        ("Guarded", {"input_guardrails": ["pii-check"], "targets": [{"virtual_key": vk[3]}]}),
    ]
    for i, (name, config) in enumerate(bodies):
        when = _at(org, 100 - i * 11)
        row = config_record(org, {"name": name, "config": config,
                                  "workspace_id": workspaces[i % 3]["id"], "isDefault": int(i == 0)},
                            when)
        for extra in range(i % 3):  # some history
            add_config_version(org, row, {**config, "retry": {"attempts": 2 + extra}},
                               _at(org, 90 - i * 11 - extra))
        table.add(row)
    return table.all()


def config_record(org: Org, body: dict[str, Any], when: str) -> Record:
    row: Record = {
        "id": org.ids.uuid(), "name": body["name"], "slug": f"pc-{org.ids.slug(body['name'])}",
        "organisation_id": org.id,
        "workspace_id": body.get("workspace_id") or org.default_workspace_id,
        "is_default": int(body.get("isDefault") or 0), "status": "active", "owner_id": org.owner_id,
        "updated_by": org.owner_id, "created_at": when, "last_updated_at": when,
        "object": "config", "_versions": []}
    add_config_version(org, row, body["config"], when)
    return row


def add_config_version(org: Org, row: Record, config: dict[str, Any], when: str) -> Record:
    version = {"id": org.ids.uuid(), "version_id": org.ids.uuid(), "config": config,
               "created_at": when, "status": "active"}
    for old in row["_versions"]:
        old["status"] = "archived"
    row["_versions"].append(version)
    row["last_updated_at"] = when
    return version


_TEMPLATES = [
    ("Support reply", "{{#system}}You are a friendly support agent for {{product}}.{{/system}}\n"
                      "{{#user}}Customer wrote: {{message}}{{/user}}"),
    ("Summariser", "{{#system}}Summarise in {{words}} words.{{/system}}\n{{#user}}{{text}}{{/user}}"),
    ("Translator", "{{#user}}Translate into {{language}}: {{text}}{{/user}}"),
    ("SQL helper", "{{#system}}Write {{dialect}} SQL only.{{/system}}\n{{#user}}{{question}}{{/user}}"),
    ("Tagline writer", "{{#user}}Write a tagline for {{product}} aimed at {{audience}}.{{/user}}"),
    ("Classifier", "{{#system}}Answer with one label.{{/system}}\n{{#user}}{{text}}{{/user}}"),
    ("Email drafter", "{{#user}}Draft an email to {{name}} about {{topic}}.{{/user}}"),
    ("Code reviewer", "{{#system}}Review the diff.{{/system}}\n{{#user}}{{diff}}{{/user}}"),
]


def _prompts(org: Org, workspaces: list[Record], virtual_keys: list[Record]) -> list[Record]:
    collections = org.table("collections")
    default_ws = workspaces[0]["id"]
    for i, name in enumerate(["Default", "Support bots", "Marketing copy", "Escalations"]):
        when = _at(org, 200 - i * 15)
        parent = collections.all()[1]["id"] if i == 3 else None
        collections.add({"id": org.ids.uuid(), "name": name, "workspace_id": default_ws,
                         "slug": org.ids.slug(name), "parent_collection_id": parent,
                         "is_default": i == 0, "status": "active", "created_at": when,
                         "last_updated_at": when})
    table = org.table("prompts")
    for i, (name, template) in enumerate(_TEMPLATES):
        model = MODELS[i % len(MODELS)][1]
        body = {"name": name, "collection_id": collections.all()[i % 3]["id"], "string": template,
                "parameters": {"model": model, "temperature": 0.2 + 0.1 * (i % 5),
                               "max_tokens": 256},
                "virtual_key": virtual_keys[i % len(virtual_keys)]["slug"], "model": model}
        row = prompt_record(org, body, default_ws, _at(org, 90 - i * 8))
        for extra in range(i % 3):  # later drafts, not yet the default
            draft = {**body, "parameters": {**body["parameters"], "temperature": 0.9},
                     "version_description": f"draft {extra + 2}"}
            add_prompt_version(org, row, draft, _at(org, 80 - i * 8 - extra))
        table.add(row)
    partials = org.table("partials")
    for i, (name, text) in enumerate([("Tone guide", "Be concise and kind."),
                                      ("Safety footer", "Never share personal data."),
                                      ("Brand voice", "Sound like {{brand}}.")]):
        partials.add(partial_record(org, {"name": name, "string": text}, default_ws,
                                    collections.all()[0]["id"], _at(org, 60 - i * 5)))
    return table.all()


def prompt_record(org: Org, body: dict[str, Any], workspace_id: str, when: str) -> Record:
    row: Record = {"id": org.ids.uuid(), "slug": f"pp-{org.ids.slug(body['name'])}",
                   "name": body["name"], "collection_id": body["collection_id"],
                   "workspace_id": workspace_id, "status": "active", "created_at": when,
                   "last_updated_at": when, "object": "prompt", "_versions": [], "_default": 1}
    add_prompt_version(org, row, body, when)
    return row


def add_prompt_version(org: Org, row: Record, body: dict[str, Any], when: str) -> Record:
    version = {"id": org.ids.uuid(), "prompt_version": len(row["_versions"]) + 1,
               "string": body["string"], "parameters": body.get("parameters") or {},
               "model": body.get("model") or (body.get("parameters") or {}).get("model", ""),
               "virtual_key": body.get("virtual_key", ""), "functions": body.get("functions") or [],
               "tools": body.get("tools") or [], "tool_choice": body.get("tool_choice"),
               "template_metadata": body.get("template_metadata") or {},
               "description": body.get("version_description") or "",
               "is_raw_template": bool(body.get("is_raw_template", False)), "label_id": None,
               "status": "active", "created_at": when}
    row["_versions"].append(version)
    row["last_updated_at"] = when
    return version


def partial_record(org: Org, body: dict[str, Any], workspace_id: str, collection_id: str,
                   when: str) -> Record:
    row: Record = {"id": org.ids.uuid(), "slug": f"pl-{org.ids.slug(body['name'])}",
                   "name": body["name"], "collection_id": collection_id,
                   "workspace_id": workspace_id, "status": "active", "created_at": when,
                   "last_updated_at": when, "object": "partial", "_versions": [], "_default": 1}
    add_partial_version(org, row, body["string"], body.get("version_description") or "", when)
    return row


def add_partial_version(org: Org, row: Record, text: str, description: str, when: str) -> Record:
    version = {"id": org.ids.uuid(), "version": len(row["_versions"]) + 1, "string": text,
               "description": description, "status": "active", "created_at": when}
    row["_versions"].append(version)
    row["last_updated_at"] = when
    return version


def _labels(org: Org, workspaces: list[Record]) -> None:
    table = org.table("labels")
    specs = [("production", "#16a34a", None), ("staging", "#f59e0b", None),
             ("development", "#3b82f6", None), ("experiment-a", "#a855f7", workspaces[0]["id"]),
             ("holiday-2025", "#ef4444", workspaces[0]["id"])]
    for i, (name, color, ws) in enumerate(specs):
        when = _at(org, 300 - i * 30)
        row: Record = {"id": org.ids.uuid(), "name": name, "description": f"{name} label",
                       "color_code": color, "organisation_id": org.id, "is_universal": ws is None,
                       "created_at": when, "last_updated_at": when, "status": "active"}
        if ws:
            row["workspace_id"] = ws
        table.add(row)


_ACTIONS = {"deny": True, "async": False,
            "on_success": {"feedback": {"value": 5, "weight": 1, "metadata": ""}},
            "on_fail": {"feedback": {"value": -5, "weight": 1, "metadata": ""}}}


def _guardrails(org: Org, workspaces: list[Record]) -> None:
    table = org.table("guardrails")
    specs = [("PII check", [{"id": "portkey.pii", "parameters": {"redact": True,
                                                                 "categories": ["EMAIL_ADDRESS"]}}]),
             ("No code", [{"id": "default.containsCode", "parameters": {"format": "SQL"}}]),
             ("Word limit", [{"id": "default.wordCount",
                              "parameters": {"minWords": 1, "maxWords": 500}}]),
             ("Model allow-list", [{"id": "default.modelWhitelist",
                                    "parameters": {"models": ["gpt-4o-mini"]}}]),
             ("JSON output", [{"id": "default.jsonKeys",
                               "parameters": {"keys": ["answer"], "operator": "all"}}])]
    for i, (name, checks) in enumerate(specs):
        ws = workspaces[0]["id"] if i % 2 else None
        table.add(guardrail_record(org, {"name": name, "checks": checks, "actions": _ACTIONS,
                                         "workspace_id": ws}, _at(org, 70 - i * 6)))


def guardrail_record(org: Org, body: dict[str, Any], when: str) -> Record:
    return {"id": org.ids.uuid(), "name": body["name"], "slug": f"grd-{org.ids.slug(body['name'])}",
            "organisation_id": body.get("organisation_id") or org.id,
            "workspace_id": body.get("workspace_id"), "status": "active", "created_at": when,
            "last_updated_at": when, "owner_id": org.owner_id, "updated_by": None,
            "checks": body["checks"], "actions": body["actions"], "_version_id": org.ids.uuid()}


def _policies(org: Org, workspaces: list[Record]) -> None:
    usage, rate = org.table("usage_limits"), org.table("rate_limits")
    for i, (group_key, limit) in enumerate([("api_key", 5000), ("metadata._user", 1200),
                                            ("workspace_id", 20000)]):
        row = usage_policy_record(org, {
            "name": f"{group_key} monthly budget", "conditions": [{"key": "workspace_id",
                                                                   "value": workspaces[i]["id"]}],
            "group_by": [{"key": group_key}], "type": "cost" if i != 1 else "tokens",
            "credit_limit": limit, "alert_threshold": int(limit * 0.8), "periodic_reset": "monthly",
            "workspace_id": workspaces[i]["id"]}, _at(org, 50 - i * 4))
        row["_entities"] = [{"id": org.ids.uuid(), "value_key": f"{group_key}:{n + 1}",
                             "current_usage": round(limit * ((n * 37 + i * 11) % 100) / 90, 2)}
                            for n in range(4 + 2 * i)]
        usage.add(row)
    for i, (unit, value) in enumerate([("rpm", 600), ("rph", 20000), ("rpd", 250000)]):
        rate.add(rate_policy_record(org, {
            "name": f"{unit} limit", "conditions": [{"key": "workspace_id",
                                                     "value": workspaces[i]["id"]}],
            "group_by": [{"key": "api_key"}], "type": "requests" if i != 2 else "tokens",
            "unit": unit, "value": value, "workspace_id": workspaces[i]["id"]}, _at(org, 45 - i * 3)))


def usage_policy_record(org: Org, body: dict[str, Any], when: str) -> Record:
    row: Record = {"id": org.ids.uuid(), "name": body.get("name"), "conditions": body["conditions"],
                   "group_by": body["group_by"], "type": body["type"],
                   "credit_limit": body["credit_limit"], "status": "active",
                   "workspace_id": body.get("workspace_id") or org.default_workspace_id,
                   "organisation_id": org.id, "created_at": when, "last_updated_at": when,
                   "_entities": []}
    for optional in ("alert_threshold", "periodic_reset"):  # the spec's enum has no null
        if body.get(optional) is not None:
            row[optional] = body[optional]
    return row


def rate_policy_record(org: Org, body: dict[str, Any], when: str) -> Record:
    return {"id": org.ids.uuid(), "name": body.get("name"), "conditions": body["conditions"],
            "group_by": body["group_by"], "type": body["type"], "unit": body["unit"],
            "value": body["value"], "status": "active",
            "workspace_id": body.get("workspace_id") or org.default_workspace_id,
            "organisation_id": org.id, "created_at": when, "last_updated_at": when}


def _mcp(org: Org, workspaces: list[Record], users: list[Record]) -> None:
    integrations, servers = org.table("mcp_integrations"), org.table("mcp_servers")
    specs = [("GitHub", "https://mcp.github.example/mcp", "oauth_auto", "http",
              ["search_repositories", "get_issue", "create_issue", "list_pull_requests",
               "get_file_contents", "create_branch", "merge_pull_request", "list_commits",
               "add_comment", "search_code", "list_releases", "get_workflow_run"]),
             ("Linear", "https://mcp.linear.example/sse", "headers", "sse",
              ["list_issues", "create_issue", "update_issue", "list_projects", "get_team",
               "search", "add_label", "list_cycles"]),
             ("Internal docs", "https://docs.internal.example/mcp", "none", "http",
              ["search_docs", "get_page", "list_spaces", "summarise_page", "recent_changes",
               "get_owner", "list_tags", "related_pages", "page_history"])]
    for i, (name, url, auth, transport, tools) in enumerate(specs):
        when = _at(org, 40 - i * 5)
        row = mcp_integration_record(org, {"name": name, "url": url, "auth_type": auth,
                                           "transport": transport,
                                           "workspace_id": workspaces[1]["id"] if i == 2 else None},
                                     when)
        row["_capabilities"] = [
            {"name": tool, "type": "tool", "title": tool.replace("_", " ").title(),
             "description": f"{name}: {tool.replace('_', ' ')}", "enabled": n % 5 != 4,
             "created_at": when, "last_updated_at": when,
             "input_schema": {"type": "object", "properties": {}}} for n, tool in enumerate(tools)]
        row["_capabilities"].append({"name": "triage", "type": "prompt", "title": "Triage",
                                     "description": f"{name} triage prompt", "enabled": True,
                                     "created_at": when, "last_updated_at": when})
        row["_workspaces"] = [{"id": ws["id"], "enabled": True, "status": "active",
                               "created_at": when, "last_updated_at": when} for ws in workspaces[:3]]
        integrations.add(row)
    for i in range(4):
        integration = integrations.all()[i % 3]
        ws = workspaces[i % 2]
        row = mcp_server_record(org, {"name": f"{integration['name']} ({ws['name']})",
                                      "mcp_integration_id": integration["id"],
                                      "workspace_id": ws["id"]}, _at(org, 30 - i * 4))
        row["_connections"] = {users[n]["id"]: {"connected": n % 3 != 2, "created_at": row["created_at"],
                                                "last_updated_at": row["created_at"]}
                               for n in range(i, i + 5)}
        row["_user_access"] = {users[n]["id"]: n % 4 != 3 for n in range(0, 8)}
        servers.add(row)


def mcp_integration_record(org: Org, body: dict[str, Any], when: str) -> Record:
    ws = body.get("workspace_id")
    return {"id": org.ids.uuid(), "name": body["name"], "description": body.get("description"),
            "owner_id": org.owner_id, "status": "active",
            "type": "workspace" if ws else "organisation", "url": body["url"],
            "auth_type": body["auth_type"], "transport": body["transport"],
            "configurations": body.get("configurations") or {}, "created_at": when,
            "last_updated_at": when, "slug": body.get("slug") or org.ids.slug(body["name"]),
            "workspace_id": ws, "secret_mappings": body.get("secret_mappings") or [],
            "global_workspace_access": {"enabled": False}, "_capabilities": [], "_workspaces": []}


def mcp_server_record(org: Org, body: dict[str, Any], when: str) -> Record:
    return {"id": org.ids.uuid(), "slug": body.get("slug") or org.ids.slug(body["name"]),
            "name": body["name"], "description": body.get("description"), "status": "active",
            "created_at": when, "owner_id": org.owner_id, "organisation_id": org.id,
            "mcp_integration_id": body["mcp_integration_id"],
            "workspace_id": body.get("workspace_id") or org.default_workspace_id,
            "_overrides": {}, "_user_access": {}, "_default_access": "allow", "_connections": {}}


def _invites(org: Org, workspaces: list[Record]) -> None:
    table = org.table("invites")
    statuses = ["pending", "pending", "accepted", "expired", "cancelled", "pending"]
    for i, status in enumerate(statuses):
        row = invite_record(org, {"email": f"invitee{i + 1}@example.org",
                                  "role": "member" if i % 3 else "admin",
                                  "workspaces": [{"id": workspaces[i % 3]["id"], "role": "member"}]},
                            _at(org, 20 - i * 3))
        row["status"] = status
        if status == "accepted":
            row["accepted_at"] = _at(org, 19 - i * 3)
        table.add(row)


def invite_record(org: Org, body: dict[str, Any], when: str) -> Record:
    created = datetime.fromisoformat(when)
    row: Record = {"object": "invite", "id": org.ids.uuid(), "email": body["email"],
                   "role": body["role"], "created_at": when,
                   "expires_at": iso(created + timedelta(days=7)), "status": "pending",
                   "invited_by": org.owner_id, "workspaces": body["workspaces"],
                   "_token": org.ids.token(20)}
    for optional in ("first_name", "last_name"):
        if body.get(optional):
            row[optional] = body[optional]
    return row


def _scim(org: Org, workspaces: list[Record]) -> None:
    table = org.table("scim")
    for i, (group, role) in enumerate([("Engineering Admins", "admin"), ("Engineers", "member"),
                                       ("Analysts", "manager")]):
        table.add({"id": org.ids.uuid(), "workspace_id": workspaces[1 + i // 2]["id"],
                   "scim_group": group, "scim_group_id": org.ids.uuid(), "role": role})


def _traffic(org: Org, seed: int, workspaces: list[Record], users: list[Record],
             virtual_keys: list[Record], configs: list[Record], prompts: list[Record]) -> None:
    rng = random.Random(f"portkey-traffic-{seed}")
    ws_weights = [40, 30, 15, 8, 5, 2]
    people = [u["email"] for u in users[:15]]
    keys = [k["id"] for k in org.table("api_keys").all()]
    by_provider: dict[str, list[str]] = {}
    for vk in virtual_keys:
        by_provider.setdefault(vk["provider"], []).append(vk["slug"])
    calls = []
    for _ in range(TRAFFIC):
        provider, model, in_price, out_price, base = rng.choice(MODELS)
        prompt_tokens = max(20, int(rng.lognormvariate(7.6, 0.8)))
        completion_tokens = max(5, int(rng.lognormvariate(6.0, 0.7)))
        roll = rng.random()
        status = 200 if roll > 0.07 else rng.choice(_ERRORS)
        cache = ("DISABLED" if roll > 0.85 else "HIT" if roll > 0.72 else
                 "SEMANTIC HIT" if roll > 0.65 else "MISS")
        if status >= 400:
            cache, completion_tokens = "MISS", 0
        cost = prompt_tokens * in_price + completion_tokens * out_price
        hit = cache in ("HIT", "SEMANTIC HIT")
        latency = (rng.randint(15, 90) if hit
                   else int(base + completion_tokens * 4 * rng.uniform(0.6, 1.6)))
        user = rng.choice(people)
        rated = rng.random() < 0.25 and status < 400
        calls.append(Call(
            id=org.ids.uuid(), at=org.anchor - timedelta(seconds=rng.uniform(0, DAYS * 86_400)),
            workspace=rng.choices(workspaces, ws_weights)[0]["slug"], provider=provider,
            model=model, user=user, api_key_id=rng.choice(keys),
            virtual_key=rng.choice(by_provider[provider]),
            config=rng.choice(configs)["slug"] if rng.random() < 0.5 else None,
            prompt_slug=rng.choice(prompts)["slug"] if rng.random() < 0.2 else None,
            trace_id=f"trace-{rng.getrandbits(48):012x}", span_id=f"span-{rng.getrandbits(32):08x}",
            metadata={"_user": user, "env": "prod" if rng.random() < 0.7 else "staging",
                      "team": rng.choice(["search", "support", "growth", "platform"]),
                      "feature": rng.choice(["chat", "summarise", "classify", "extract"])},
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            cost=0.0 if hit else cost, latency_ms=latency, status=status, cache_status=cache,
            retries=rng.choice([1, 1, 2, 3]) if rng.random() < 0.05 and status < 400 else 0,
            fallback=rng.random() < 0.03,
            feedback=float(rng.choice([-10, -5, 0, 2, 5, 7, 8, 10, 10])) if rated else None,
            weight=rng.choice([1.0, 1.0, 0.5]), saved=cost if hit else 0.0))
    calls.sort(key=lambda c: c.at)
    org.traffic = calls


def _exports(org: Org, workspaces: list[Record]) -> None:
    table = org.table("exports")
    for i, status in enumerate(["success", "draft"]):
        when = _at(org, 10 - i * 3)
        table.add({"id": org.ids.uuid(), "organisation_id": org.id,
                   "filters": {"time_of_generation_min": _at(org, 30), "time_of_generation_max": when},
                   "requested_data": ["id", "trace_id", "created_at", "ai_model", "cost"],
                   "status": status, "description": f"Export {i + 1}", "created_at": when,
                   "last_updated_at": when, "created_by": org.owner_id,
                   "workspace_id": workspaces[i]["id"], "object": "export",
                   "_total": len(org.traffic) // (i + 2)})


def _audit(org: Org, workspaces: list[Record]) -> None:
    rng = random.Random(f"portkey-audit-{org.id}")
    kinds = [("POST", "/v1/configs", "config", "create"), ("PUT", "/v1/configs/{}", "config", "update"),
             ("POST", "/v1/api-keys/workspace/service", "api-key", "create"),
             ("DELETE", "/v1/virtual-keys/{}", "virtual-key", "delete"),
             ("PUT", "/v1/admin/workspaces/{}", "workspace", "update"),
             ("POST", "/v1/prompts", "prompt", "create")]
    users = org.table("users").all()
    for n in range(60):
        method, uri, resource, action = rng.choice(kinds)
        org.record_audit({
            "timestamp": _at(org, 29.5 - n * 0.49), "method": method,
            "uri": uri.format(org.ids.hex(6)), "request_id": org.ids.uuid(),
            "request_body": "{}", "query_params": "{}", "request_headers": "{}",
            "user_id": rng.choice(users[:6])["id"], "user_type": rng.choice(["user", "api_key"]),
            "organisation_id": org.id, "workspace_id": rng.choice(workspaces)["id"],
            "response_status_code": 200, "resource_type": resource, "action": action,
            "client_ip": f"203.0.113.{rng.randint(1, 254)}",
            "country": rng.choice(["US", "IN", "DE", "GB"])})


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def custom_log_call(org: Org, entry: dict[str, Any], workspace: str, api_key_id: str) -> Call:
    """A call built from a custom log inserted through ``POST /logs``."""
    request, response = entry["request"], entry["response"]
    body, answer = _object(request.get("body")), _object(response.get("body"))
    usage = _object(answer.get("usage"))
    metadata = {str(k): str(v) for k, v in (entry.get("metadata") or {}).items()}
    model = str(body.get("model") or answer.get("model") or "unknown")
    status = response.get("status") if isinstance(response.get("status"), int) else 200
    return Call(
        id=org.ids.uuid(), at=org.now(), workspace=workspace, provider=str(body.get("provider", "custom")),
        model=model, user=metadata.get("_user", "custom"), api_key_id=api_key_id, virtual_key=None,
        config=None, prompt_slug=None, trace_id=metadata.get("trace_id") or f"trace-{org.ids.hex(12)}",
        span_id=metadata.get("span_id") or f"span-{org.ids.hex(8)}", metadata=metadata,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0), cost=0.0,
        latency_ms=int(response.get("response_time") or 0), status=status, cache_status="DISABLED",
        raw={"request": request, "response": response, "metadata": entry.get("metadata") or {}})


def dumps_config(config: dict[str, Any]) -> str:
    return json.dumps(config, separators=(",", ":"))
