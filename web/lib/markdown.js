// The reply box's preview of the markdown agents write (the subset the server sends on:
// actors/src/markdown.rs): paragraphs, `-`/`*`/`+` and `1.` lists nested by two spaces, fenced
// code, **bold**, *italic* / _italic_, ~~strike~~, `code`, [links](https://…) and `\` escapes.
// Built as Preact nodes from text, never as HTML: whatever the agent types stays text, and only
// http, https and mailto addresses become links.

import { html } from "./html.js";

const SAFE_URL = /^(https?:|mailto:)/i;

/** Whether `text` uses any of the markdown the preview shows (else there is nothing to preview). */
export function hasMarkdown(text) {
  return /(\*\*|__|~~|`|\[[^\]]+\]\(|(^|\s)[*_]\S)|^\s*([-+*]|\d+\.)\s/m.test(text);
}

function closing(text, start, delimiter) {
  const after = start + delimiter.length;
  if (after >= text.length || /\s/.test(text[after])) return -1;
  for (let at = after + 1; at + delimiter.length <= text.length; at += 1) {
    if (text[at] === "\\") {
      at += 1;
      continue;
    }
    if (text.startsWith(delimiter, at) && !/\s/.test(text[at - 1])) {
      const next = text[at + delimiter.length];
      if (delimiter === "_" && next && /[\p{L}\p{N}]/u.test(next)) continue;
      if (delimiter.length === 1 && next === delimiter) continue;
      return at;
    }
  }
  return -1;
}

const SPANS = [
  ["**", (inner) => html`<strong>${inner}</strong>`],
  ["__", (inner) => html`<strong>${inner}</strong>`],
  ["~~", (inner) => html`<del>${inner}</del>`],
  ["*", (inner) => html`<em>${inner}</em>`],
  ["_", (inner) => html`<em>${inner}</em>`],
];

function inline(text) {
  const out = [];
  let plain = "";
  const flush = () => {
    if (plain) out.push(plain);
    plain = "";
  };
  for (let at = 0; at < text.length; ) {
    const c = text[at];
    const wordBefore = at > 0 && /[\p{L}\p{N}]/u.test(text[at - 1]);
    if (c === "\\" && at + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[at + 1])) {
      plain += text[at + 1];
      at += 2;
      continue;
    }
    if (c === "`") {
      const end = text.indexOf("`", at + 1);
      if (end > at + 1) {
        flush();
        out.push(html`<code>${text.slice(at + 1, end)}</code>`);
        at = end + 1;
        continue;
      }
    }
    if (c === "[") {
      const link = /^\[([^\]]+)\]\((\S+?)\)/.exec(text.slice(at));
      if (link) {
        flush();
        const label = inline(link[1]);
        out.push(SAFE_URL.test(link[2]) ? html`<a href=${link[2]} target="_blank" rel="noopener noreferrer">${label}</a>` : html`${label} (${link[2]})`);
        at += link[0].length;
        continue;
      }
    }
    const span = SPANS.find(([delimiter]) => text.startsWith(delimiter, at) && !(delimiter[0] === "_" && wordBefore)
      && !(delimiter.length === 1 && text[at + 1] === delimiter) && closing(text, at, delimiter) >= 0);
    if (span) {
      const [delimiter, make] = span;
      const end = closing(text, at, delimiter);
      flush();
      out.push(make(inline(text.slice(at + delimiter.length, end))));
      at = end + delimiter.length;
      continue;
    }
    plain += c;
    at += 1;
  }
  flush();
  return out;
}

function listMarker(line) {
  const match = /^([ \t]*)([-+*]|\d{1,9}\.) (.*)$/.exec(line);
  if (!match) return null;
  const indent = [...match[1]].reduce((sum, c) => sum + (c === "\t" ? 4 : 1), 0);
  return { level: Math.floor(indent / 2), ordered: /\d/.test(match[2]), text: match[3] };
}

/** Nested lists from flat lines with levels: each item's deeper lines become its own list. */
function list(items, level = 0) {
  const ordered = items[0].ordered;
  const entries = [];
  for (let at = 0; at < items.length; ) {
    const item = items[at];
    let end = at + 1;
    while (end < items.length && items[end].level > level) end += 1;
    const children = items.slice(at + 1, end);
    entries.push(html`<li>${inline(item.text)}${children.length > 0 && list(children, level + 1)}</li>`);
    at = end;
  }
  return ordered ? html`<ol>${entries}</ol>` : html`<ul>${entries}</ul>`;
}

/** `text` as preview nodes. */
export function Markdown({ text }) {
  const lines = text.split("\n");
  const blocks = [];
  for (let at = 0; at < lines.length; ) {
    const line = lines[at];
    if (line.trimStart().startsWith("```")) {
      const code = [];
      at += 1;
      while (at < lines.length && !lines[at].trimStart().startsWith("```")) code.push(lines[at++]);
      at += 1;
      blocks.push(html`<pre><code>${code.join("\n")}</code></pre>`);
    } else if (!line.trim()) {
      at += 1;
    } else if (listMarker(line)) {
      const items = [];
      while (at < lines.length && listMarker(lines[at])) items.push(listMarker(lines[at++]));
      const base = items[0].level;
      blocks.push(list(items.map((item) => ({ ...item, level: Math.max(item.level - base, 0) }))));
    } else {
      const paragraph = [];
      while (at < lines.length && lines[at].trim() && !listMarker(lines[at]) && !lines[at].trimStart().startsWith("```")) paragraph.push(lines[at++]);
      blocks.push(html`<p>${paragraph.map((text, index) => html`${index > 0 && html`<br />`}${inline(text)}`)}</p>`);
    }
  }
  return blocks;
}
