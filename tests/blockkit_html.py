"""Block Kit to plain HTML, close to how Slack shows a message, for docs/screenshots: the blocks
the portal posts (header, section with text or fields, context, divider, actions) and the mrkdwn
it writes (*bold*, `code`, >quote, <url|label>, the few emoji it uses)."""

import html
import re

# Symbols any system font has (the test machine has no colour emoji font).
EMOJI = {
    ":warning:": '<span style="color:#e8912d">⚠</span>',
    ":rotating_light:": '<span style="color:#e01e5a">⚠</span>',
    ":white_check_mark:": '<span style="color:#007a5a">✔</span>',
    ":x:": '<span style="color:#e01e5a">✘</span>',
    ":heavy_minus_sign:": "–",
}

STYLE = """
body { font: 15px/1.46 -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
       color: #1d1c1d; background: #fff; margin: 0; padding: 20px; width: 760px; }
.msg { display: flex; gap: 10px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #2b6cb0; color: #fff;
          display: flex; align-items: center; justify-content: center; font-weight: 700; }
.who { font-weight: 900; } .app { font-size: 10px; background: #e8e8e8; border-radius: 3px;
       padding: 1px 3px; margin-left: 4px; color: #616061; }
.time { color: #616061; font-size: 12px; }
h3 { font-size: 18px; margin: 6px 0; }
.section { margin: 6px 0; white-space: pre-wrap; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 16px; margin: 6px 0; }
.context { color: #616061; font-size: 13px; margin: 6px 0; }
hr { border: 0; border-top: 1px solid #ddd; margin: 10px 0; }
code { font: 12px Menlo, Consolas, monospace; color: #e01e5a; background: #f6f6f6;
       border: 1px solid #e1e1e1; border-radius: 3px; padding: 1px 3px; }
blockquote { border-left: 4px solid #ddd; margin: 2px 0; padding-left: 10px; }
a { color: #1264a3; text-decoration: none; }
.actions { display: flex; gap: 8px; margin-top: 8px; }
.button { border: 1px solid #bbb; border-radius: 4px; padding: 4px 12px; font-weight: 700;
          font-size: 14px; background: #fff; }
.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
"""


def mrkdwn(text: str) -> str:
    """Slack's escaped text (&amp; &lt; &gt;) to HTML, with its formatting."""
    links: list[str] = []

    def link(match: re.Match) -> str:
        url, _, label = match.group(1).partition("|")
        links.append(f'<a href="{html.escape(url)}">{html.escape(label or url)}</a>')
        return f"\x00{len(links) - 1}\x00"

    text = re.sub(r"<([^<>]+)>", link, text)
    text = html.unescape(text)  # Slack's own escaping, undone: we escape for HTML next
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", out)
    out = re.sub(r"(^|\n)&gt;(.*)", r"\1<blockquote>\2</blockquote>", out)
    for code, emoji in EMOJI.items():
        out = out.replace(code, emoji)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], out)


def _text(element: dict) -> str:
    if element.get("type") == "mrkdwn":
        return mrkdwn(element["text"])
    return html.escape(element.get("text", ""))


def block_html(block: dict) -> str:
    kind = block["type"]
    if kind == "header":
        return f"<h3>{_text(block['text'])}</h3>"
    if kind == "section":
        parts = []
        if "text" in block:
            parts.append(f'<div class="section">{_text(block["text"])}</div>')
        if "fields" in block:
            fields = "".join(f'<div class="section">{_text(f)}</div>' for f in block["fields"])
            parts.append(f'<div class="fields">{fields}</div>')
        return "".join(parts)
    if kind == "context":
        return f'<div class="context">{" ".join(_text(e) for e in block["elements"])}</div>'
    if kind == "divider":
        return "<hr>"
    if kind == "actions":
        buttons = "".join(
            f'<span class="button {e.get("style", "")}">{_text(e["text"])}</span>'
            for e in block["elements"]
        )
        return f'<div class="actions">{buttons}</div>'
    return ""


def message_html(blocks: list[dict], *, app: str = "Access portal", time: str = "10:42") -> str:
    body = "".join(block_html(block) for block in blocks)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>"
        f'<div class="msg"><div class="avatar">AP</div><div>'
        f'<div><span class="who">{app}</span><span class="app">APP</span> '
        f'<span class="time">{time}</span></div>{body}</div></div></body></html>'
    )
