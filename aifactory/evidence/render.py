"""Text, Markdown and HTML views of the evidence report's JSON document (aifactory/evidence/report.py)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

Doc = dict[str, Any]


def _value(v: Any) -> str:
    if v is None:
        return "not given"
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


def _head(doc: Doc) -> list[str]:
    d, s, fw = doc["design"], doc["summary"], doc["framework"]
    return [
        f"Sovereignty evidence for {d['blueprint']} ({d['file']}), site {d['site']}, {d['city'] or d['region']}, "
        f"jurisdiction {d['jurisdiction']}, as of {doc['as_of']}",
        f"{fw['name']} v{fw['version']} ({fw['published']}): SEAL-{s['seal']} overall (the weakest objective), "
        f"weighted {s['weighted_seal']}; policy check {s['policy']}; burn-in: {s['burnin']}",
        f"report digest {doc['digest']}",
    ]


def _fact(f: Doc) -> str:
    return f"{f['source']} {f['name']} = {_value(f['value'])}" + (f" ({f['at']})" if f["at"] else "")


def _rule(r: Doc) -> str:
    where = "; ".join(f"{x['at']}: {x['message']}" for x in r["findings"])
    return f"{r['rule']} {r['title']}: {r['result']}" + (f" ({where})" if where else "")


def _next(o: Doc) -> str:
    if o["next"] is None:
        return "none: SEAL-4 is the highest level"
    return f"for SEAL-{o['next']['seal']}: " + "; ".join(o["next"]["missing"])


def to_text(doc: Doc) -> str:
    lines = [*_head(doc), ""]
    for o in doc["objectives"]:
        lines.append(f"{o['id']} {o['name']} ({o['weight']} %): SEAL-{o['seal']} {o['seal_name']}")
        lines.append(f"  missing {_next(o)}" if o["next"] else "  highest level reached")
        lines += [f"  rule  {_rule(r)}" for r in o["rules"]]
        lines += [f"  fact  {_fact(f)}" for f in o["facts"]]
    lines.append("")
    for g in doc["gaia_x"]:
        lines.append(
            f"Gaia-X {g['id']} (label level {g['label_level']}) {g['criterion']}: {'met' if g['met'] else 'not met'}"
        )
    p = doc["policy"]
    lines += ["", f"policy check: {p['result']} ({len(p['findings'])} finding(s))"]
    lines += [f"  {x['at']}: {x['rule']} [{x['level']}] {x['message']}" for x in p["findings"]]
    b = doc["burnin"]
    lines += [
        "",
        f"burn-in: {len(b['nodes'])} node(s) with results, {b['without_result']} of "
        f"{b['planned_nodes']} planned compute nodes without",
    ]
    lines += [f"  {n['hostname']}: {n['verdict']} ({n['profile']}, {n['started_at']}, {n['at']})" for n in b["nodes"]]
    return "\n".join(lines) + "\n"


def _md_cell(text: Any) -> str:
    return _value(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: Doc) -> str:
    head = _head(doc)
    lines = [
        f"# {head[0]}",
        "",
        head[1],
        "",
        f"Report digest `{doc['digest']}`.",
        "",
        "| Objective | Weight | SEAL | Missing for the next level |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {o['id']} {o['name']} | {o['weight']} % | {o['seal']} | {_md_cell(_next(o))} |" for o in doc["objectives"]
    ]
    for o in doc["objectives"]:
        lines += [
            "",
            f"## {o['id']} {o['name']}: SEAL-{o['seal']} ({o['seal_name']})",
            "",
            f"Focus: {o['focus']}.",
            "",
            "| Level | Criterion | Met |",
            "|---|---|---|",
        ]
        lines += [f"| {c['level']} | {_md_cell(c['text'])} | {'yes' if c['met'] else 'no'} |" for c in o["criteria"]]
        lines += ["", "| Rule | Result | Where |", "|---|---|---|"]
        lines += [
            f"| {r['rule']} {_md_cell(r['title'])} | {r['result']} | "
            f"{_md_cell('; '.join(x['at'] for x in r['findings']) or '-')} |"
            for r in o["rules"]
        ]
        lines += ["", "| Fact | Value | Where |", "|---|---|---|"]
        lines += [
            f"| {f['source']} `{f['name']}` | {_md_cell(f['value'])} | {_md_cell(f['at'] or '-')} |" for f in o["facts"]
        ]
    lines += ["", "## Gaia-X", "", "| Criterion | Label level | Met |", "|---|---|---|"]
    lines += [
        f"| {g['id']} {g['criterion']} | {g['label_level']} | {'yes' if g['met'] else 'no'} |" for g in doc["gaia_x"]
    ]
    lines += ["", "## Sources", ""] + [
        f"- {s}" for s in doc["framework"]["sources"] + doc["framework"]["gaia_x_sources"]
    ]
    return "\n".join(lines) + "\n"


def _h(text: Any) -> str:
    return html.escape(_value(text), quote=True)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{_h(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>\n" for row in rows)
    return f"<table>\n<tr>{th}</tr>\n{body}</table>\n"


def to_html(doc: Doc) -> str:
    head = _head(doc)
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f"<title>{_h(head[0])}</title>\n",
        "<style>body{font-family:sans-serif;max-width:72em;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}</style>\n",
        "</head>\n<body>\n",
        f"<h1>{_h(head[0])}</h1>\n<p>{_h(head[1])}</p>\n<p>{_h(head[2])}</p>\n",
        _table(
            ["Objective", "Weight %", "SEAL", "Missing for the next level"],
            [[f"{o['id']} {o['name']}", o["weight"], o["seal"], _next(o)] for o in doc["objectives"]],
        ),
    ]
    for o in doc["objectives"]:
        parts.append(f'<h2 id="{_h(o["id"])}">{_h(o["id"])} {_h(o["name"])}: SEAL-{o["seal"]}</h2>\n')
        parts.append(
            _table(
                ["Level", "Criterion", "Met"],
                [[c["level"], c["text"], "yes" if c["met"] else "no"] for c in o["criteria"]],
            )
        )
        parts.append(
            _table(
                ["Rule", "Result", "Where"],
                [
                    [f"{r['rule']} {r['title']}", r["result"], "; ".join(x["at"] for x in r["findings"]) or "-"]
                    for r in o["rules"]
                ],
            )
        )
        parts.append(
            _table(
                ["Fact", "Value", "Where"],
                [[f"{f['source']} {f['name']}", f["value"], f["at"] or "-"] for f in o["facts"]],
            )
        )
    parts.append(
        "<h2>Gaia-X</h2>\n"
        + _table(
            ["Criterion", "Label level", "Met"],
            [[f"{g['id']} {g['criterion']}", g["label_level"], "yes" if g["met"] else "no"] for g in doc["gaia_x"]],
        )
    )
    parts.append(
        "<h2>Sources</h2>\n<ul>\n"
        + "".join(f"<li>{_h(s)}</li>\n" for s in doc["framework"]["sources"] + doc["framework"]["gaia_x_sources"])
        + "</ul>\n"
    )
    parts.append("</body>\n</html>\n")
    return "".join(parts)


def to_json(doc: Doc) -> str:
    from aifactory.io import dumps_json

    return dumps_json(doc)


RENDERERS: dict[str, Callable[[Doc], str]] = {"text": to_text, "md": to_markdown, "json": to_json, "html": to_html}
