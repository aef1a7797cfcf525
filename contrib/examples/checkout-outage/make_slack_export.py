"""Writes slack/: the #storefront-oncall channel on the night of CHK-1042, as a Slack
workspace export (deterministic; rerun to regenerate), read by retroflow-slack's export
mode (``channels.json``, ``users.json``, one JSON file per day; ``docs/sources.md#slack``).

What people said: support relays customers' failing card payments; bob, paged, finds the
payments dashboards green and believes orders-db is at fault again, and decides to fail it
over; carol stops the failover (orders-db is fine, checkout v2.14.0 went out at 01:52 and
shrank the payment-client pool) and decides to roll checkout back (pinned with a reaction).
Datadog's alert post, a channel join and the next morning's message show what the source
keeps and drops.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "slack"
TEAM = "T05SH0PEX4M"
CHANNEL = {"id": "C05K8R2TQ1M", "name": "storefront-oncall"}
PEOPLE = {
    # name: (user id, real name, display name, time zone, tz label, offset seconds)
    "alice": ("U05A1LC3E7P", "Alice Moreau", "alice", "America/Los_Angeles", "Pacific Standard Time", -28800),
    "bob": ("U05B0B7Q2KX", "Bob Lindqvist", "bob", "Europe/Stockholm", "Central European Time", 3600),
    "carol": ("U05C4R0L9ZD", "Carol Nwosu", "carol", "Europe/London", "Greenwich Mean Time", 0),
    "dana": ("U05D4N4S8WF", "Dana Ruiz", "dana", "America/New_York", "Eastern Standard Time", -18000),
}
DATADOG = {"user": "U05DDB0T7AL", "bot_id": "B05DDG7ALRT", "app_id": "A0DATADOG01"}


def ts(at: str, micro: int) -> str:
    """A message's ``ts``: Unix seconds of ``at`` (UTC), and a six-digit fraction."""
    seconds = int(datetime.fromisoformat(at).replace(tzinfo=UTC).timestamp())
    return f"{seconds}.{micro:06d}"


def user(name: str) -> dict[str, Any]:
    """A member as ``users.json`` lists one."""
    uid, real, display, tz, label, offset = PEOPLE[name]
    first, last = real.split()
    avatar = f"https://avatars.slack-edge.com/2025-03-0{len(name)}/{uid.lower()}_72.png"
    return {
        "id": uid,
        "team_id": TEAM,
        "name": name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": real,
        "tz": tz,
        "tz_label": label,
        "tz_offset": offset,
        "profile": {
            "title": "Support" if name == "dana" else "Engineer, storefront",
            "phone": "",
            "skype": "",
            "real_name": real,
            "real_name_normalized": real,
            "display_name": display,
            "display_name_normalized": display,
            "fields": None,
            "status_text": "",
            "status_emoji": "",
            "status_emoji_display_info": [],
            "status_expiration": 0,
            "avatar_hash": uid[-6:].lower(),
            "first_name": first,
            "last_name": last,
            "image_72": avatar,
            "status_text_canonical": "",
            "team": TEAM,
        },
        "is_admin": name == "carol",
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": False,
        "is_app_user": False,
        "updated": 1760000000 + len(name),
        "is_email_confirmed": True,
        "who_can_share_contact_card": "EVERYONE",
    }


def datadog_user() -> dict[str, Any]:
    return {
        "id": DATADOG["user"],
        "team_id": TEAM,
        "name": "datadog",
        "deleted": False,
        "real_name": "Datadog",
        "profile": {
            "real_name": "Datadog",
            "display_name": "",
            "bot_id": DATADOG["bot_id"],
            "api_app_id": DATADOG["app_id"],
            "always_active": True,
            "first_name": "Datadog",
            "last_name": "",
            "team": TEAM,
        },
        "is_bot": True,
        "is_app_user": False,
        "updated": 1750000000,
    }


def said(name: str, at: str, micro: int, text: str, **more: Any) -> dict[str, Any]:
    """A person's message as an export holds it: the text, its blocks, the author's profile."""
    uid, real, display, *_ = PEOPLE[name]
    elements: list[dict[str, Any]] = []
    if text.startswith("<!here> "):
        elements.append({"type": "broadcast", "range": "here"})
        elements.append({"type": "text", "text": " " + text.removeprefix("<!here> ")})
    else:
        elements.append({"type": "text", "text": text})
    message = {
        "user": uid,
        "type": "message",
        "ts": ts(at, micro),
        "client_msg_id": f"5e0c{micro:04x}-{uid[-4:].lower()}-4c1e-9d6a-{micro:012d}",
        "text": text,
        "team": TEAM,
        "user_team": TEAM,
        "source_team": TEAM,
        "user_profile": {
            "avatar_hash": uid[-6:].lower(),
            "image_72": f"https://avatars.slack-edge.com/2025-03-0{len(name)}/{uid.lower()}_72.png",
            "first_name": real.split()[0],
            "real_name": real,
            "display_name": display,
            "team": TEAM,
            "name": name,
            "is_restricted": False,
            "is_ultra_restricted": False,
        },
        "blocks": [
            {
                "type": "rich_text",
                "block_id": f"b{micro:04d}",
                "elements": [{"type": "rich_text_section", "elements": elements}],
            }
        ],
    }
    message.update(more)
    return message


def alert_post(at: str, micro: int) -> dict[str, Any]:
    """Datadog's post of the monitor that paged: an integration's alert."""
    return {
        "type": "message",
        "subtype": "bot_message",
        "text": "",
        "ts": ts(at, micro),
        "bot_id": DATADOG["bot_id"],
        "username": "Datadog",
        "attachments": [
            {
                "id": 1,
                "color": "d00000",
                "fallback": "Triggered: [P2] Checkout 5xx rate > 5% for 5 min",
                "title": "[Triggered] Checkout 5xx rate > 5% for 5 min",
                "title_link": "https://app.datadoghq.eu/monitors/48213?group=service%3Acheckout",
                "text": "checkout 5xx rate is 7.9% (threshold 5%) @pagerduty-storefront",
                "footer": "Datadog",
                "ts": int(float(ts(at, 0))),
            }
        ],
    }


def day() -> list[dict[str, Any]]:
    """2026-11-07 in the channel, in time order (as an export writes a day)."""
    bob, carol = PEOPLE["bob"][0], PEOPLE["carol"][0]
    failover = ts("2026-11-07T02:46:30", 112233)
    carol_reply = ts("2026-11-07T02:50:00", 445566)
    return [
        alert_post("2026-11-07T02:19:05", 331208),
        said(
            "dana", "2026-11-07T02:25:00", 204551,
            "<!here> support here: several customers report card payments failing at checkout since about 02:00",
        ),
        {
            "user": carol,
            "type": "message",
            "subtype": "channel_join",
            "ts": ts("2026-11-07T02:28:10", 918273),
            "text": f"<@{carol}> has joined the channel",
        },
        said(
            "bob", "2026-11-07T02:45:00", 774411,
            "payments dashboards look green to me, I think it is orders-db again (same connection errors as last week)",
        ),
        said(
            "bob", "2026-11-07T02:46:30", 112233,
            "Going to fail over orders-db to the replica, since the connection errors look like last week's storm",
            thread_ts=failover, reply_count=1, reply_users_count=1, latest_reply=carol_reply, reply_users=[carol],
            replies=[{"user": carol, "ts": carol_reply}], is_locked=False, subscribed=False,
        ),
        said(
            "carol", "2026-11-07T02:50:00", 445566,
            "Hold the failover: orders-db is fine. checkout v2.14.0 went out at 01:52 and changed the "
            "payment-client pool to 5",
            thread_ts=failover, parent_user_id=bob,
        ),
        said(
            "carol", "2026-11-07T02:53:00", 667788,
            "Decision: roll back checkout to v2.13.2 because hot-fixing the pool size needs a review at this hour",
            reactions=[{"name": "pushpin", "users": [bob], "count": 1}],
        ),
        said("bob", "2026-11-07T03:10:20", 550011, "Rollback to v2.13.2 is on half the pods, errors dropping"),
        said("bob", "2026-11-07T03:15:40", 880022, "Confirmed on the checkout dashboard: card payments succeed again"),
        said("carol", "2026-11-07T03:31:30", 990033, "Resolving. Thanks all, the retro is on Monday"),
        said("alice", "2026-11-07T09:30:00", 120045, "Just saw this, sorry. Happy to walk through #418 on Monday"),
    ]  # fmt: skip


def channels() -> list[dict[str, Any]]:
    members = [PEOPLE[name][0] for name in ("alice", "bob", "carol", "dana")]
    return [
        {
            **CHANNEL,
            "created": 1741000000,
            "creator": members[0],
            "is_archived": False,
            "is_general": False,
            "members": members,
            "topic": {"value": "Storefront on-call: checkout, cart, search", "creator": members[0], "last_set": 1741000100},
            "purpose": {"value": "Pages and incidents of the storefront team", "creator": members[0], "last_set": 1741000000},
        }
    ]  # fmt: skip


def main() -> None:
    files = {
        "channels.json": channels(),
        "users.json": [user(name) for name in PEOPLE] + [datadog_user()],
        f"{CHANNEL['name']}/2026-11-07.json": day(),
    }
    for name, body in files.items():
        path = OUT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
