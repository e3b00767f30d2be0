#!/usr/bin/env python3
"""Render heal8s's notification fixtures (internal/notify/testdata) to plain HTML pages that
imitate how Slack shows Block Kit and how Microsoft Teams shows an Adaptive Card, for the
screenshots in docs/images. It is a local rendering, not Slack's or Teams' own: it draws the
block and element types heal8s uses (header, section text and fields, actions buttons, context;
TextBlock, FactSet, Action.OpenUrl) and nothing else.

Usage: hack/notifications/render.py OUTDIR   (then screenshot with headless chromium, see
hack/notifications/screenshots.sh)
"""
import html
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "internal" / "notify" / "testdata"


def mrkdwn(text):
    # Slack mrkdwn: the payload escaped &, <, >; *bold*, `code`, <url|label> links.
    t = html.escape(html.unescape(text).replace("&lt;", "<").replace("&gt;", ">"), quote=False)
    t = re.sub(r"&lt;(https?://[^|&]+)\|([^&]+)&gt;", r'<a href="\1">\2</a>', t)
    t = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", t)
    t = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", t)
    return t.replace("\n", "<br>")


def slack(payload):
    out = []
    for b in payload["blocks"]:
        if b["type"] == "header":
            out.append(f'<div class="s-header">{html.escape(b["text"]["text"])}</div>')
        elif b["type"] == "section":
            if "text" in b:
                out.append(f'<div class="s-text">{mrkdwn(b["text"]["text"])}</div>')
            if "fields" in b:
                cells = "".join(f'<div class="s-field">{mrkdwn(f["text"])}</div>' for f in b["fields"])
                out.append(f'<div class="s-fields">{cells}</div>')
        elif b["type"] == "actions":
            btns = "".join(f'<span class="s-btn">{html.escape(e["text"]["text"])}</span>' for e in b["elements"])
            out.append(f'<div class="s-actions">{btns}</div>')
        elif b["type"] == "context":
            out.append('<div class="s-context">' + " ".join(mrkdwn(e["text"]) for e in b["elements"]) + "</div>")
    return f"""<div class="s-msg"><div class="s-avatar">h8</div><div class="s-body">
<div class="s-name">heal8s <span class="s-app">APP</span> <span class="s-time">9:46 AM</span></div>{''.join(out)}</div></div>"""


COLORS = {"Good": "#0b7a0b", "Attention": "#c4314b", "Warning": "#b35f00", "Accent": "#4f52b2", "Default": "#242424"}


def teams(payload):
    card = payload["attachments"][0]["content"]
    out = []
    for el in card["body"]:
        if el["type"] == "TextBlock":
            style = f'color:{COLORS.get(el.get("color", "Default"), "#242424")};'
            if el.get("weight") == "Bolder":
                style += "font-weight:600;"
            if el.get("size") == "Medium":
                style += "font-size:17px;"
            if el.get("size") == "Small":
                style += "font-size:12px;"
            if el.get("isSubtle"):
                style += "color:#616161;"
            out.append(f'<div class="t-text" style="{style}">{html.escape(el["text"])}</div>')
        elif el["type"] == "FactSet":
            rows = "".join(
                f'<tr><td class="t-title">{html.escape(f["title"])}</td><td>{html.escape(f["value"]).replace(chr(10), "<br>")}</td></tr>'
                for f in el["facts"])
            out.append(f'<table class="t-facts">{rows}</table>')
    acts = "".join(f'<span class="t-btn">{html.escape(a["title"])}</span>' for a in card.get("actions", []))
    if acts:
        out.append(f'<div class="t-actions">{acts}</div>')
    return f"""<div class="t-msg"><div class="t-head"><span class="t-avatar">W</span> <b>Workflows</b>
<span class="t-time">9:46 AM</span></div><div class="t-card">{''.join(out)}</div></div>"""


CSS = """
body{font-family:Lato,'Segoe UI','Helvetica Neue',Arial,sans-serif;margin:0;padding:16px;background:#fff;color:#1d1c1d;font-size:15px}
.note{font-size:11px;color:#888;margin-bottom:8px}
.s-msg{display:flex;gap:8px;max-width:760px}.s-avatar{width:36px;height:36px;border-radius:6px;background:#2eb67d;color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center;flex:none}
.s-name{font-weight:900}.s-app{font-size:10px;background:#e8e8e8;color:#616061;padding:1px 3px;border-radius:2px;font-weight:700}.s-time{color:#616061;font-size:12px;font-weight:400}
.s-header{font-size:18px;font-weight:900;margin:6px 0}.s-text{margin:6px 0;line-height:1.45}
.s-fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 16px;margin:8px 0;line-height:1.4}
.s-actions{margin:8px 0}.s-btn{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:4px 12px;margin-right:8px;font-weight:700;font-size:13px}
.s-context{color:#616061;font-size:12px;margin-top:6px}code{background:#f4f4f4;border:1px solid #ddd;border-radius:3px;padding:0 2px;color:#e01e5a}
a{color:#1264a3;text-decoration:none}
.t-msg{max-width:760px;background:#f5f5f5;padding:12px;border-radius:6px;font-family:'Segoe UI',Arial,sans-serif;font-size:14px}
.t-head{margin-bottom:6px}.t-avatar{display:inline-block;width:28px;height:28px;border-radius:50%;background:#4f52b2;color:#fff;text-align:center;line-height:28px}
.t-time{color:#616161;font-size:12px;margin-left:6px}
.t-card{background:#fff;border:1px solid #e0e0e0;border-radius:4px;padding:14px 16px}.t-text{margin:4px 0 8px;line-height:1.4}
.t-facts{border-collapse:collapse;margin:4px 0 8px}.t-facts td{padding:3px 12px 3px 0;vertical-align:top}.t-title{font-weight:600;white-space:nowrap}
.t-actions{border-top:1px solid #eee;padding-top:10px;margin-top:6px}.t-btn{display:inline-block;border:1px solid #d1d1d1;border-radius:4px;padding:5px 14px;margin-right:8px;font-weight:600}
"""


def page(title, body):
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title><style>{CSS}</style></head>
<body><div class="note">Local rendering of heal8s's payload ({title}); not a Slack or Teams screenshot.</div>{body}</body></html>"""


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name in ["succeeded", "proposed", "budgetexhausted", "digest"]:
        s = json.loads((TESTDATA / f"slack-{name}.json").read_text())
        (out / f"slack-{name}.html").write_text(page(f"slack-{name}.json", slack(s)))
        t = json.loads((TESTDATA / f"teams-{name}.json").read_text())
        (out / f"teams-{name}.html").write_text(page(f"teams-{name}.json", teams(t)))


if __name__ == "__main__":
    main()
